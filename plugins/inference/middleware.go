package inference

import (
	"context"

	"github.com/livekit-go/agents/session"
)

// Request is one chat completion on its way to the wire. Each middleware in
// the chain reads it and may change it before calling the next.
type Request struct {
	// Model is the model string, sent verbatim ("openai/gpt-4.1-mini").
	Model string
	// Chat is the conversation; middleware must not change its items (it is
	// the session's), only replace the pointer with a changed copy.
	Chat *session.ChatContext
	// Tools the model may call.
	Tools []session.ToolDefinition
	// Options are the model options. On entry to the chain they are the
	// per-call options; after the merge step they are the effective
	// options that go on the wire.
	Options ModelOptions
	// Stripped lists the option keys the model rules removed, for logs.
	Stripped []string
}

// Handler sends a request and returns its stream.
type Handler func(ctx context.Context, req *Request) (session.LLMStream, error)

// Middleware wraps a Handler. It does one thing (validate, translate,
// observe, ...) and calls next, or returns an error without calling it.
type Middleware func(next Handler) Handler

// chain builds h wrapped in mws, the first given outermost.
func chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}
