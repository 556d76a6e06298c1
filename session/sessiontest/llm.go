package sessiontest

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/livekit-go/agents/session"
)

// Response is one scripted LLM answer.
type Response struct {
	// Text is streamed as one chunk per word (spaces kept).
	Text string
	// Deltas, when set, are streamed as they are, before Text.
	Deltas []string
	// ToolCalls are delivered, complete, after the text.
	ToolCalls []session.FunctionCall
	// ChatErr makes Chat itself fail.
	ChatErr error
	// StreamErr ends the stream with this error after the text.
	StreamErr error
	// TTFT delays the first chunk; ChunkDelay every later one.
	TTFT, ChunkDelay time.Duration
	// Hold, when set, keeps the stream open after the text until the
	// context ends (an answer that never finishes).
	Hold bool
}

// LLM is a scriptable [session.LLM]. Each Chat call takes the next
// response of Script, or asks Respond when the script ran out; with
// neither it answers "ok". It records every request. Safe for concurrent
// use.
type LLM struct {
	Respond func(req session.ChatRequest) Response

	mu       sync.Mutex
	script   []Response
	requests []session.ChatRequest
	causes   []error
}

// Cancelled returns the causes of the contexts that ended streams while
// they were waiting, in order.
func (l *LLM) Cancelled() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.causes...)
}

func (l *LLM) cancelled(ctx context.Context) error {
	cause := context.Cause(ctx)
	l.mu.Lock()
	l.causes = append(l.causes, cause)
	l.mu.Unlock()
	return cause
}

var _ session.LLM = (*LLM)(nil)

// NewLLM returns an LLM that answers with script, in order.
func NewLLM(script ...Response) *LLM { return &LLM{script: script} }

// Requests returns the requests received so far.
func (l *LLM) Requests() []session.ChatRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]session.ChatRequest(nil), l.requests...)
}

// Chat implements [session.LLM].
func (l *LLM) Chat(ctx context.Context, req session.ChatRequest) (session.LLMStream, error) {
	l.mu.Lock()
	l.requests = append(l.requests, req)
	var r Response
	switch {
	case len(l.script) > 0:
		r = l.script[0]
		l.script = l.script[1:]
	case l.Respond != nil:
		fn := l.Respond
		l.mu.Unlock()
		r = fn(req)
		l.mu.Lock()
	default:
		r = Response{Text: "ok"}
	}
	l.mu.Unlock()
	if r.ChatErr != nil {
		return nil, r.ChatErr
	}
	var chunks []session.ChatChunk
	for _, d := range r.Deltas {
		chunks = append(chunks, session.ChatChunk{Content: d})
	}
	for _, w := range splitWords(r.Text) {
		chunks = append(chunks, session.ChatChunk{Content: w})
	}
	if len(r.ToolCalls) > 0 {
		chunks = append(chunks, session.ChatChunk{ToolCalls: r.ToolCalls})
	}
	return &llmStream{l: l, ctx: ctx, r: r, chunks: chunks, closed: make(chan struct{})}, nil
}

// splitWords cuts text after each space, keeping the spaces.
func splitWords(text string) []string {
	var out []string
	for text != "" {
		i := strings.IndexByte(text, ' ')
		if i < 0 {
			out = append(out, text)
			break
		}
		out = append(out, text[:i+1])
		text = text[i+1:]
	}
	return out
}

type llmStream struct {
	l      *LLM
	ctx    context.Context
	r      Response
	chunks []session.ChatChunk
	n      int
	once   sync.Once
	closed chan struct{}
}

func (s *llmStream) wait(d time.Duration) error {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-s.closed:
		return session.ErrStreamClosed
	case <-s.ctx.Done():
		return s.l.cancelled(s.ctx)
	default:
	}
	if timer == nil {
		return nil
	}
	select {
	case <-timer:
		return nil
	case <-s.closed:
		return session.ErrStreamClosed
	case <-s.ctx.Done():
		return s.l.cancelled(s.ctx)
	}
}

func (s *llmStream) Recv() (session.ChatChunk, error) {
	if s.n < len(s.chunks) {
		d := s.r.ChunkDelay
		if s.n == 0 {
			d = s.r.TTFT
		}
		if err := s.wait(d); err != nil {
			return session.ChatChunk{}, err
		}
		c := s.chunks[s.n]
		s.n++
		return c, nil
	}
	if s.r.Hold {
		select {
		case <-s.closed:
			return session.ChatChunk{}, session.ErrStreamClosed
		case <-s.ctx.Done():
			return session.ChatChunk{}, s.l.cancelled(s.ctx)
		}
	}
	if s.r.StreamErr != nil {
		return session.ChatChunk{}, s.r.StreamErr
	}
	return session.ChatChunk{}, io.EOF
}

func (s *llmStream) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// ErrScripted is a ready-made error for scripts.
var ErrScripted = errors.New("sessiontest: scripted failure")
