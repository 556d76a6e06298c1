package session

import (
	"context"
	"io"
	"reflect"
	"time"
)

// llmRun is one LLM stream read on its own goroutine into a channel, so a
// preemptive generation can start before anyone reads it.
type llmRun struct {
	req     ChatRequest   // set by the reader before built closes
	built   chan struct{} // closed once req is set
	ch      chan llmItem  // closed by the reader
	cancel  context.CancelCauseFunc
	done    chan struct{}
	started time.Time

	// What a preemptive generation was started for.
	userText                  string
	chatVersion, agentVersion int
}

type llmItem struct {
	chunk ChatChunk
	err   error
	at    time.Time
}

// startLLM runs one LLM step on a goroutine of the session's: build makes
// the request there (it may call tools' Definition methods, user code), and
// the agent's LLMNode, if any, runs it.
func startLLM(parent context.Context, s *Session, agent agentView, build func() ChatRequest) *llmRun {
	ctx, cancel := context.WithCancelCause(parent)
	r := &llmRun{built: make(chan struct{}), ch: make(chan llmItem, 32), cancel: cancel, done: make(chan struct{}), started: time.Now()}
	s.spawn("llm", func() { // exits at the stream's end or when ctx ends
		defer close(r.done)
		defer close(r.ch)
		r.req = build()
		close(r.built)
		send := func(it llmItem) bool {
			select {
			case r.ch <- it:
				return true
			case <-ctx.Done():
				return false
			}
		}
		var llm LLM = noLLM{}
		if s.o.llm != nil {
			llm = s.o.llm
		}
		var stream LLMStream
		var err error
		if node := agent.LLMNode; node != nil {
			stream, err = node(ctx, r.req, llm)
		} else {
			stream, err = llm.Chat(ctx, r.req)
		}
		if err != nil {
			send(llmItem{err: err})
			return
		}
		defer stream.Close()
		for {
			c, err := stream.Recv()
			if err == io.EOF {
				if ctx.Err() == nil {
					s.post(func(l *loop) { l.worked(SourceLLM) })
				}
				return
			}
			if err != nil {
				send(llmItem{err: err})
				return
			}
			if !send(llmItem{chunk: c, at: time.Now()}) {
				return
			}
		}
	})
	return r
}

// request is the request the run sent, once it was built.
func (r *llmRun) request() ChatRequest {
	<-r.built
	return r.req
}

// discard stops the run and waits for its reader.
func (r *llmRun) discard(cause error) {
	r.cancel(cause)
	<-r.done
}

// noLLM stands in when the session has no LLM.
type noLLM struct{}

func (noLLM) Chat(context.Context, ChatRequest) (LLMStream, error) { return nil, errNoLLM }

// equivalentRequests reports whether two requests ask the model the same
// thing (item ids and times aside).
func equivalentRequests(a, b ChatRequest) bool {
	if a.Chat == nil || b.Chat == nil || len(a.Chat.Items) != len(b.Chat.Items) || a.ToolChoice != b.ToolChoice || len(a.Tools) != len(b.Tools) {
		return false
	}
	for i := range a.Tools {
		if a.Tools[i].Name != b.Tools[i].Name || a.Tools[i].Description != b.Tools[i].Description || string(a.Tools[i].Parameters) != string(b.Tools[i].Parameters) {
			return false
		}
	}
	if (len(a.ModelOptions) != 0 || len(b.ModelOptions) != 0) && !reflect.DeepEqual(a.ModelOptions, b.ModelOptions) {
		return false
	}
	for i, x := range a.Chat.Items {
		switch x := x.(type) {
		case *ChatMessage:
			y, ok := b.Chat.Items[i].(*ChatMessage)
			if !ok || x.Role != y.Role || x.Content != y.Content {
				return false
			}
		case *FunctionCall:
			y, ok := b.Chat.Items[i].(*FunctionCall)
			if !ok || x.CallID != y.CallID || x.Name != y.Name || x.Arguments != y.Arguments {
				return false
			}
		case *FunctionCallOutput:
			y, ok := b.Chat.Items[i].(*FunctionCallOutput)
			if !ok || x.CallID != y.CallID || x.Output != y.Output || x.IsError != y.IsError {
				return false
			}
		default:
			return false
		}
	}
	return true
}
