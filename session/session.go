package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Session runs one conversation: it listens to the user, decides when their
// turn ended, and answers through the LLM, TTS and the outputs. Its methods
// are safe for concurrent use.
//
// One goroutine (the loop) owns the session's state; every other part (input
// readers, reply tasks, timers, API calls) hands it work through a mailbox
// and never waits for it. The loop runs no user code (the logger's
// handler aside).
type Session struct {
	o     options
	inbox *mailbox[func(*loop)]
	subs  subscribers

	mu       sync.Mutex
	chat     *ChatContext // written by the loop only
	agent    *Agent
	started  bool
	closing  bool
	cancel   context.CancelCauseFunc
	closeErr *ClosedError

	workers workers       // every goroutine the session started
	done    chan struct{} // closed when Close finished
}

// inboxLimit is how much work may wait for the loop before the input
// readers wait for it.
const inboxLimit = 256

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
	s := &Session{
		o:     o,
		inbox: newMailbox[func(*loop)](inboxLimit),
		chat:  &ChatContext{},
		done:  make(chan struct{}),
	}
	if o.onEvent != nil {
		s.subs.add(newSubscriber(o.onEvent, o.eventBuffer))
	}
	return s, nil
}

// Start runs the session with agent over io until ctx is done or Close is
// called. It returns at once; the session runs on its own goroutines. When
// ctx ends, the session closes with reason context_done and ctx's cause as
// the CloseEvent's Err: cancel it with a cause (context.WithCancelCause) to
// say why, e.g. that the user left the room. An agent that is nil, or has
// a tool that is nil, nameless or named twice, is refused with an error
// naming it (so are such agents given to UpdateAgent and as a handoff).
func (s *Session) Start(ctx context.Context, agent *Agent, io IO) error {
	if err := checkAgent(agent); err != nil {
		return err
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

	s.subs.start()
	l := newLoop(s, sctx, io, agent)
	// The inputs start before the loop runs, so that the loop's state they
	// set up is written before the loop goroutine exists; what they report
	// waits in the mailbox.
	l.startInputs()
	s.post(func(l *loop) { l.enterAgent(nil, agent) })
	// Spawned before the loop runs: the loop's shutdown waits on the
	// workers, and a WaitGroup's Add must not race with its Wait.
	s.spawn("context watcher", func() { // exits when sctx ends, which shutdown guarantees
		<-sctx.Done()
		if cause := context.Cause(sctx); cause != ErrSessionClosed {
			s.closeWith(CloseContextDone, cause)
		}
	})
	go l.run() // exits after the session closed and its last event went out
	return nil
}

func (s *Session) post(fn func(*loop)) { s.inbox.put(fn) }

// Close stops everything the session started (replies, tools, hooks, input
// readers), waits for it up to the close grace ([WithCloseTimeout], 5 s by
// default), then delivers a [CloseEvent] with reason user_initiated. It
// returns nil, or a *[ClosedError] naming the work that ignored its
// cancelled context past the grace. Close waits for the event handlers, so
// from a hook, a tool or an event handler use [Session.CloseAsync] (an
// "end the call" tool, for instance).
func (s *Session) Close() error { return s.CloseWith(CloseUserInitiated, nil) }

// CloseWith closes the session like Close, reporting reason and err in the
// CloseEvent: room I/O closes with CloseParticipantDisconnected when the
// user leaves.
func (s *Session) CloseWith(reason CloseReason, err error) error {
	s.closeWith(reason, err)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closeErr != nil && len(s.closeErr.Abandoned) > 0 {
		return s.closeErr
	}
	return nil
}

// CloseAsync starts closing the session like Close and returns at once;
// Done tells when it finished.
func (s *Session) CloseAsync() { s.closeWith(CloseUserInitiated, nil) }

// Done is closed once the session closed: its work returned (or was
// abandoned after the close grace) and its last event was delivered (or
// its handler was abandoned).
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
		s.subs.end(time.Now())
		s.finish(&ClosedError{Reason: reason, Err: err})
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

// UserData returns the value set with [WithUserData].
func (s *Session) UserData() any { return s.o.userData }

// UpdateAgent hands the session to another agent: the old one's OnExit and
// the new one's OnEnter run, and the next reply uses the new instructions
// and tools. History is kept.
func (s *Session) UpdateAgent(a *Agent) error {
	if err := checkAgent(a); err != nil {
		return err
	}
	return s.postOpen(func(l *loop) { l.enterAgent(l.agent.Agent, a) })
}

// UpdateInstructions changes the instructions of the active agent from the
// next LLM step on (a tool's reply step included). The Agent value is not
// changed: an agent handed back to later starts from its own Instructions.
func (s *Session) UpdateInstructions(instructions string) error {
	return s.postOpen(func(l *loop) { l.updateAgent(func(v *agentView) { v.instructions = instructions }) })
}

// UpdateTools changes the tools of the active agent from the next LLM step
// on. Tool names must be unique. Like UpdateInstructions, it leaves the
// Agent value as it was.
func (s *Session) UpdateTools(tools []Tool) error {
	if err := checkTools(tools); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	tools = append([]Tool(nil), tools...)
	return s.postOpen(func(l *loop) { l.updateAgent(func(v *agentView) { v.tools = tools }) })
}

// UpdateChatContext replaces the conversation history with a copy of chat
// (to trim it, summarise it, or start over). Replies already running keep
// the history they started with and add their items to the new one.
func (s *Session) UpdateChatContext(chat *ChatContext) error {
	if chat == nil {
		return errors.New("session: chat context must not be nil")
	}
	for i, it := range chat.Items {
		var isNil bool
		switch it := it.(type) {
		case *ChatMessage:
			isNil = it == nil
		case *FunctionCall:
			isNil = it == nil
		case *FunctionCallOutput:
			isNil = it == nil
		default:
			return fmt.Errorf("session: chat item %d has unknown type %T", i, it)
		}
		if isNil {
			return fmt.Errorf("session: chat item %d is nil", i)
		}
	}
	c := chat.Copy()
	now := time.Now()
	for _, it := range c.Items {
		fillItem(it, now)
	}
	return s.postOpen(func(l *loop) { l.replaceHistory(c.Items) })
}

// postOpen posts fn to the loop if the session was started and is not
// closing. The check and the post are one step under s.mu, and closeWith
// marks the session closing under s.mu before it posts the shutdown: so
// what postOpen posts runs before the shutdown, and a speech it queues is
// always ended, never lost in a mailbox nobody reads any more.
func (s *Session) postOpen(fn func(*loop)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return errors.New("session: not started")
	}
	if s.closing {
		return ErrSessionClosed
	}
	s.inbox.put(fn)
	return nil
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
	if m := c.req.userMsg; m != nil {
		msg := *m // the option may be reused: the message is this speech's own
		c.req.userMsg = &msg
	}
	return newSpeech(s, c.allow, c.req)
}

// Say speaks text as it is, through TTS when there is audio output.
func (s *Session) Say(text string, opts ...SpeechOption) (*SpeechHandle, error) {
	h := s.newSpeech("say", opts)
	h.req.say = true
	h.req.text = text
	if err := s.postOpen(func(l *loop) { l.enqueue(h) }); err != nil {
		return nil, err
	}
	return h, nil
}

// GenerateReply asks the LLM for a reply now, without a user turn.
func (s *Session) GenerateReply(opts ...SpeechOption) (*SpeechHandle, error) {
	h := s.newSpeech("generate_reply", opts)
	if err := s.postOpen(func(l *loop) { l.enqueue(h) }); err != nil {
		return nil, err
	}
	return h, nil
}

// Interrupt stops the current speech, if it allows interruptions, and
// drops queued speeches that allow them.
func (s *Session) Interrupt() error {
	return s.postOpen(func(l *loop) { l.interruptAll() })
}

// CommitUserTurn ends the user's turn now, without waiting for endpointing.
func (s *Session) CommitUserTurn() error {
	return s.postOpen(func(l *loop) { l.commitTurn(time.Now(), false) })
}
