package session

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"
)

// Session runs one conversation: it listens to the user, decides when their
// turn ended, and answers through the LLM, TTS and the outputs. Its methods
// are safe for concurrent use.
//
// One goroutine (the loop) owns the session's state; every other part (input
// readers, reply tasks, timers, API calls) hands it work through an
// unbounded mailbox and never waits for it.
type Session struct {
	o      options
	inbox  *mailbox[func(*loop)]
	events *mailbox[Event]

	mu      sync.Mutex
	chat    *ChatContext // written by the loop only
	agent   *Agent
	started bool
	closing bool
	cancel  context.CancelCauseFunc

	wg   sync.WaitGroup // every goroutine the session started
	done chan struct{}  // closed when Close finished
}

// New returns a session that is not started yet.
func New(opts ...Option) (*Session, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.maxEndpointingDelay < o.minEndpointingDelay {
		return nil, fmt.Errorf("session: max_endpointing_delay (%v) must not be below min_endpointing_delay (%v)", o.maxEndpointingDelay, o.minEndpointingDelay)
	}
	if e, ok := o.llm.(interface{ Err() error }); ok {
		if err := e.Err(); err != nil {
			return nil, err
		}
	}
	return &Session{
		o:      o,
		inbox:  newMailbox[func(*loop)](),
		events: newMailbox[Event](),
		chat:   &ChatContext{},
		done:   make(chan struct{}),
	}, nil
}

// Start runs the session with agent over io until ctx is done or Close is
// called. It returns at once; the session runs on its own goroutines. When
// ctx ends, the session closes with reason context_done and ctx's cause as
// the CloseEvent's Err: cancel it with a cause (context.WithCancelCause) to
// say why, e.g. that the user left the room.
func (s *Session) Start(ctx context.Context, agent *Agent, io IO) error {
	if agent == nil {
		return errors.New("session: agent must not be nil")
	}
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("session: already started")
	}
	if s.closing {
		s.mu.Unlock()
		return ErrSessionClosed
	}
	s.started = true
	s.agent = agent
	sctx, cancel := context.WithCancelCause(ctx)
	s.cancel = cancel
	s.mu.Unlock()

	l := newLoop(s, sctx, io, agent)
	// The inputs start before the loop runs, so that the loop's state they
	// set up is written before the loop goroutine exists; what they report
	// waits in the mailbox.
	l.startInputs()
	s.post(func(l *loop) { l.enterAgent(nil, agent) })
	// Spawned before the loop runs: the loop's shutdown waits on s.wg, and
	// a WaitGroup's Add must not race with its Wait.
	s.spawn(func() { // exits when sctx ends, which shutdown guarantees
		<-sctx.Done()
		if cause := context.Cause(sctx); cause != ErrSessionClosed {
			s.closeWith(CloseContextDone, cause)
		}
	})
	go func() { // exits after the session closed and the last event was delivered
		defer close(s.done)
		l.run()
	}()
	return nil
}

// spawn runs fn on a goroutine the session waits for when it closes.
func (s *Session) spawn(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

func (s *Session) post(fn func(*loop)) { s.inbox.put(fn) }

// Close stops everything the session started (replies, tools, hooks, input
// readers) and waits for it, then delivers a [CloseEvent] with reason
// user_initiated. Since it waits for them, it must not be called from a
// hook, a tool or the event handler: use [Session.CloseAsync] there (an
// "end the call" tool, for instance).
func (s *Session) Close() error { return s.CloseWith(CloseUserInitiated, nil) }

// CloseWith closes the session like Close, reporting reason and err in the
// CloseEvent: room I/O closes with CloseParticipantDisconnected when the
// user leaves.
func (s *Session) CloseWith(reason CloseReason, err error) error {
	s.closeWith(reason, err)
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if started {
		<-s.done
	}
	return nil
}

// CloseAsync starts closing the session like Close and returns at once;
// Done tells when it finished.
func (s *Session) CloseAsync() { s.closeWith(CloseUserInitiated, nil) }

// Done is closed once the session closed and delivered its last event.
func (s *Session) Done() <-chan struct{} { return s.done }

func (s *Session) closeWith(reason CloseReason, err error) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.closing = true
	started := s.started
	s.mu.Unlock()
	if !started {
		close(s.done)
		return
	}
	s.post(func(l *loop) { l.shutdown(reason, err) })
}

// History returns a copy of the conversation so far.
func (s *Session) History() *ChatContext {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chat.Copy()
}

// Agent returns the active agent.
func (s *Session) Agent() *Agent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.agent
}

// UpdateAgent hands the session to another agent: the old one's OnExit and
// the new one's OnEnter run, and the next reply uses the new instructions
// and tools. History is kept.
func (s *Session) UpdateAgent(a *Agent) error {
	if a == nil {
		return errors.New("session: agent must not be nil")
	}
	if err := s.usable(); err != nil {
		return err
	}
	s.post(func(l *loop) { l.enterAgent(l.agent, a) })
	return nil
}

func (s *Session) usable() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return errors.New("session: not started")
	}
	if s.closing {
		return ErrSessionClosed
	}
	return nil
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
// the user had said it.
func WithUserInput(text string) SpeechOption {
	return func(c *speechConfig) {
		c.req.userMsg = &ChatMessage{Role: RoleUser, Content: text}
	}
}

func (s *Session) newSpeech(source string, opts []SpeechOption) *SpeechHandle {
	c := speechConfig{allow: true, addToHistory: true}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	c.req.source = source
	c.req.addToHistory = c.addToHistory
	return newSpeech(s, c.allow, c.req)
}

// Say speaks text as it is, through TTS when there is audio output.
func (s *Session) Say(text string, opts ...SpeechOption) (*SpeechHandle, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	h := s.newSpeech("say", opts)
	h.req.say = true
	h.req.text = text
	s.post(func(l *loop) { l.enqueue(h) })
	return h, nil
}

// GenerateReply asks the LLM for a reply now, without a user turn.
func (s *Session) GenerateReply(opts ...SpeechOption) (*SpeechHandle, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	h := s.newSpeech("generate_reply", opts)
	s.post(func(l *loop) { l.enqueue(h) })
	return h, nil
}

// Interrupt stops the current speech, if it allows interruptions, and
// drops queued speeches that allow them.
func (s *Session) Interrupt() error {
	if err := s.usable(); err != nil {
		return err
	}
	s.post(func(l *loop) { l.interruptAll() })
	return nil
}

// CommitUserTurn ends the user's turn now, without waiting for endpointing.
func (s *Session) CommitUserTurn() error {
	if err := s.usable(); err != nil {
		return err
	}
	s.post(func(l *loop) { l.commitTurn(time.Now()) })
	return nil
}
