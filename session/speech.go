package session

import (
	"context"
	"iter"
	"sync"
	"time"
)

// SpeechHandle is one thing the agent says: a reply to a user turn, a
// GenerateReply or a Say. Speeches play one at a time, in order. Its
// methods are safe for concurrent use.
type SpeechHandle struct {
	id                 string
	allowInterruptions bool
	s                  *Session
	req                speechRequest
	done               chan struct{}

	mu          sync.Mutex
	started     bool
	finished    bool
	interrupted bool
	cancel      context.CancelCauseFunc
}

func newSpeech(s *Session, allow bool, req speechRequest) *SpeechHandle {
	return &SpeechHandle{id: NewID("speech_"), allowInterruptions: allow, s: s, req: req, done: make(chan struct{})}
}

// ID is the speech's id.
func (h *SpeechHandle) ID() string { return h.id }

// AllowInterruptions reports whether the user can interrupt this speech.
func (h *SpeechHandle) AllowInterruptions() bool { return h.allowInterruptions }

// Done is closed when the speech ended: played out, interrupted, or
// dropped from the queue.
func (h *SpeechHandle) Done() <-chan struct{} { return h.done }

// Wait blocks until the speech ended or ctx is done.
func (h *SpeechHandle) Wait(ctx context.Context) error {
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Interrupted reports whether the speech was cut short or dropped.
func (h *SpeechHandle) Interrupted() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.interrupted
}

// Interrupt stops the speech: a playing one stops at once (its reply
// context is cancelled with [ErrInterrupted]), a queued one is dropped. A
// playing speech that does not allow interruptions returns
// [ErrUninterruptible]; a queued one can always be dropped.
func (h *SpeechHandle) Interrupt() error {
	h.mu.Lock()
	started, finished := h.started, h.finished
	h.mu.Unlock()
	if finished {
		return nil
	}
	if started && !h.allowInterruptions {
		return ErrUninterruptible
	}
	h.s.post(func(l *loop) { l.interruptSpeech(h, false) })
	return nil
}

func (h *SpeechHandle) start(cancel context.CancelCauseFunc) {
	h.mu.Lock()
	h.started = true
	h.cancel = cancel
	h.mu.Unlock()
}

// stop cancels a started speech with cause, or marks a queued one done.
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

	// Replies.
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
