package session

import (
	"context"
	"iter"
	"strings"
	"sync"
	"time"
)

// SpeechHandle is one thing the agent says: a reply to a user turn, a
// GenerateReply or a Say. Speeches play one at a time, in order. Its
// methods are safe for concurrent use.
type SpeechHandle struct {
	id   string
	s    *Session
	req  speechRequest
	done chan struct{}

	mu          sync.Mutex
	allow       bool
	started     bool
	finished    bool
	interrupted bool
	cancel      context.CancelCauseFunc
}

func newSpeech(s *Session, allow bool, req speechRequest) *SpeechHandle {
	return &SpeechHandle{id: NewID("speech_"), allow: allow, s: s, req: req, done: make(chan struct{})}
}

// ID is the speech's id.
func (h *SpeechHandle) ID() string { return h.id }

// AllowInterruptions reports whether the user can interrupt this speech
// (a tool of it may have disallowed interruptions since it was created).
func (h *SpeechHandle) AllowInterruptions() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.allow
}

// Done is closed when the speech ended: played out, interrupted, or
// dropped from the queue.
func (h *SpeechHandle) Done() <-chan struct{} { return h.done }

// Wait blocks until the speech ended or ctx is done.
func (h *SpeechHandle) Wait(ctx context.Context) error { return waitFor(ctx, h.done) }

// waitFor waits until done is closed, or returns ctx's cause if ctx ends
// first. When both happened (a tool's playout cut short by the same
// interruption that cancels its ctx), done wins: the answer does not
// depend on the scheduler.
func waitFor(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		select {
		case <-done:
			return nil
		default:
			return context.Cause(ctx)
		}
	}
}

// Interrupted reports whether the speech was cut short or dropped.
func (h *SpeechHandle) Interrupted() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.interrupted
}

// Interrupt stops the speech: a playing one stops at once (its reply
// context is cancelled with [ErrInterrupted]), a queued one is dropped. It
// is marked interrupted when Interrupt returns. A speech that does not
// allow interruptions, playing or queued, is left alone and Interrupt
// returns [ErrUninterruptible]. Interrupting a speech that ended does
// nothing.
func (h *SpeechHandle) Interrupt() error {
	h.mu.Lock()
	switch {
	case h.finished || h.interrupted:
		h.mu.Unlock()
		return nil
	case !h.allow:
		h.mu.Unlock()
		return ErrUninterruptible
	}
	h.interrupted = true
	h.mu.Unlock()
	h.s.post(func(l *loop) { l.interruptSpeech(h) })
	return nil
}

// interruptible marks the speech interrupted if it allows it (or force),
// and reports whether it did.
func (h *SpeechHandle) interruptible(force bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.finished || (!h.allow && !force) {
		return false
	}
	h.interrupted = true
	return true
}

func (h *SpeechHandle) disallowInterruptions() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.interrupted {
		return ErrInterrupted
	}
	h.allow = false
	return nil
}

func (h *SpeechHandle) start(cancel context.CancelCauseFunc) {
	h.mu.Lock()
	h.started = true
	h.cancel = cancel
	h.mu.Unlock()
}

// stop marks the speech interrupted and cancels it, if started, with cause.
func (h *SpeechHandle) stop(cause error) {
	h.mu.Lock()
	h.interrupted = true
	cancel := h.cancel
	h.mu.Unlock()
	if cancel != nil {
		cancel(cause)
	}
}

func (h *SpeechHandle) finish() {
	h.mu.Lock()
	if h.finished {
		h.mu.Unlock()
		return
	}
	h.finished = true
	h.mu.Unlock()
	close(h.done)
}

// speechRequest is what a speech is asked to do.
type speechRequest struct {
	source string // "say", "generate_reply", "user_turn"

	// Say.
	say          bool
	text         string
	audio        iter.Seq[AudioFrame] // played instead of TTS
	addToHistory bool

	// Replies. userMsg is in history from the commit (or the enqueue) on;
	// the reply only reads it.
	userMsg      *ChatMessage
	instructions string
	toolChoice   ToolChoice
	modelOptions map[string]any
	preempt      *llmRun

	// Metrics of the user turn the reply answers.
	speechEndAt time.Time
	lastFinalAt time.Time
	commitAt    time.Time
}

// SpeechOption configures one Say or GenerateReply.
type SpeechOption func(*speechConfig)

type speechConfig struct {
	allow        bool
	addToHistory bool
	req          speechRequest
}

// AllowInterruptions sets whether the user may interrupt this speech
// (default true).
func AllowInterruptions(allow bool) SpeechOption {
	return func(c *speechConfig) { c.allow = allow }
}

// AddToHistory sets whether a Say is added to history (default true).
func AddToHistory(add bool) SpeechOption {
	return func(c *speechConfig) { c.addToHistory = add }
}

// WithAudio makes a Say play frames instead of synthesising its text; the
// text still goes to the text output and history. Without audio output the
// frames are not read.
func WithAudio(frames iter.Seq[AudioFrame]) SpeechOption {
	return func(c *speechConfig) { c.req.audio = frames }
}

// WithInstructions adds instructions for this reply only, after the
// agent's own.
func WithInstructions(instructions string) SpeechOption {
	return func(c *speechConfig) { c.req.instructions = instructions }
}

// WithToolChoice sets the tool choice of this reply's first LLM step.
func WithToolChoice(tc ToolChoice) SpeechOption {
	return func(c *speechConfig) { c.req.toolChoice = tc }
}

// WithModelOptions sets per-call model options for this reply's LLM steps;
// they reach [ChatRequest.ModelOptions].
func WithModelOptions(opts map[string]any) SpeechOption {
	return func(c *speechConfig) { c.req.modelOptions = opts }
}

// WithUserInput adds a user message to history before the reply, as if
// the user had said it. Text without words adds nothing: history keeps no
// empty message.
func WithUserInput(text string) SpeechOption {
	return func(c *speechConfig) {
		if strings.TrimSpace(text) == "" {
			c.req.userMsg = nil
			return
		}
		c.req.userMsg = &ChatMessage{Role: RoleUser, Content: text}
	}
}
