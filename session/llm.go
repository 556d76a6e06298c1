package session

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
)

// LLM is a language model the session talks to. Implementations are safe for
// concurrent use: several replies (a preemptive one, a tool step) may stream
// at once.
type LLM interface {
	// Chat starts one completion. The returned stream belongs to the caller,
	// who must Close it; cancelling ctx ends it.
	Chat(ctx context.Context, req ChatRequest) (LLMStream, error)
}

// ChatRequest is what one LLM step reads.
type ChatRequest struct {
	// Chat is the conversation so far. The LLM reads it and does not keep
	// or change it.
	Chat *ChatContext
	// Tools the model may call.
	Tools []ToolDefinition
	// ToolChoice is sent only when Tools is not empty; the zero value leaves
	// the choice to the LLM's own options.
	ToolChoice ToolChoice
	// ParallelToolCalls, when set, says whether the model may call several
	// tools in one response; sent only when Tools is not empty.
	ParallelToolCalls *bool
	// ModelOptions are per-call model options, keyed as the provider's wire
	// format names them ("temperature", "max_completion_tokens", ...). They
	// win over the options the LLM was built with; ToolChoice and
	// ParallelToolCalls above win over both.
	ModelOptions map[string]any
}

// LLMStream is the answer to one ChatRequest.
type LLMStream interface {
	// Recv returns the next chunk, io.EOF once after the last one, or the
	// error that ended the stream.
	Recv() (ChatChunk, error)
	// Close ends the stream and releases its connection. It is idempotent
	// and safe to call while Recv is blocked, which it unblocks.
	Close() error
}

// ChatChunk is one piece of a streamed answer.
type ChatChunk struct {
	// RequestID is the provider's id for the completion.
	RequestID string
	// Index is the choice this chunk belongs to when several were asked for
	// (n > 1). The session speaks choice 0.
	Index int
	// Content is the next piece of text.
	Content string
	// ToolCalls are complete tool calls, each delivered once, whole.
	ToolCalls []FunctionCall
	// FinishReason is set on the chunk that ends a choice.
	FinishReason string
	// Usage is set once, normally on the last chunk.
	Usage *Usage
	// Logprobs is the provider's log-probability object for this delta,
	// verbatim, when they were requested.
	Logprobs json.RawMessage
	// Audio is the audio delta, when audio output was requested.
	Audio *AudioDelta
	// ExtraContent is provider-specific data carried beside the delta
	// (extra_content), verbatim.
	ExtraContent json.RawMessage
}

// Usage counts the tokens of one completion.
type Usage struct {
	PromptTokens       int
	CompletionTokens   int
	TotalTokens        int
	CachedPromptTokens int
	// ServiceTier is the tier that served the request, when the provider
	// says.
	ServiceTier string
}

// AudioDelta is a piece of spoken output from a model asked for audio.
type AudioDelta struct {
	ID string
	// Data is base64-encoded audio as the provider sent it.
	Data       string
	Transcript string
	ExpiresAt  int64
}

// ToolDefinition describes a function the model may call.
type ToolDefinition struct {
	Name        string
	Description string
	// Parameters is the JSON schema of the arguments object; nil means none.
	Parameters json.RawMessage
	// Strict asks the provider to keep arguments to the schema exactly.
	Strict bool
}

// ToolChoice says whether and which tools the model must call. The zero value
// is unset.
type ToolChoice struct {
	// Mode is "auto", "required", "none", or "function" with Function set.
	Mode string
	// Function is the tool the model must call when Mode is "function".
	Function string
}

// The tool choices that take no function name.
var (
	ToolChoiceAuto     = ToolChoice{Mode: "auto"}
	ToolChoiceRequired = ToolChoice{Mode: "required"}
	ToolChoiceNone     = ToolChoice{Mode: "none"}
)

// ToolChoiceFunction forces a call of the named tool.
func ToolChoiceFunction(name string) ToolChoice {
	return ToolChoice{Mode: "function", Function: name}
}

// IsZero reports whether the choice is unset.
func (c ToolChoice) IsZero() bool { return c.Mode == "" }

// ErrStreamClosed is returned by Recv on a stream that was closed.
var ErrStreamClosed = errors.New("session: stream closed")

// Chunks adapts a stream to a range-over-func sequence. The sequence ends
// after io.EOF (not yielded) or after yielding the first other error; the
// caller still closes the stream.
func Chunks(s LLMStream) iter.Seq2[ChatChunk, error] {
	return func(yield func(ChatChunk, error) bool) {
		for {
			c, err := s.Recv()
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(ChatChunk{}, err)
				return
			}
			if !yield(c, nil) {
				return
			}
		}
	}
}
