package main

import (
	"context"
	"io"
	"strings"

	"github.com/livekit-go/agents/session"
)

// localResponder is the stand-in LLM used when no gateway is configured: it
// answers deterministically from the last user message, a word a chunk, so
// the whole loop runs without a model. It is not a language model.
type localResponder struct{}

var _ session.LLM = localResponder{}

func (localResponder) Chat(ctx context.Context, req session.ChatRequest) (session.LLMStream, error) {
	var last string
	if req.Chat != nil {
		for _, it := range req.Chat.Items {
			if m, ok := it.(*session.ChatMessage); ok && m.Role == session.RoleUser {
				last = m.Content
			}
		}
	}
	reply := "I heard you say: " + last + "."
	if last == "" {
		reply = "Hello! I am the local stand-in responder."
	}
	return &wordStream{ctx: ctx, words: strings.SplitAfter(reply, " ")}, nil
}

// wordStream yields one word a chunk. It is used by one goroutine at a time.
type wordStream struct {
	ctx    context.Context
	words  []string
	closed bool
}

func (s *wordStream) Recv() (session.ChatChunk, error) {
	if s.closed {
		return session.ChatChunk{}, session.ErrStreamClosed
	}
	if err := s.ctx.Err(); err != nil {
		return session.ChatChunk{}, err
	}
	if len(s.words) == 0 {
		return session.ChatChunk{}, io.EOF
	}
	w := s.words[0]
	s.words = s.words[1:]
	return session.ChatChunk{Content: w}, nil
}

func (s *wordStream) Close() error { s.closed = true; return nil }
