package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// RunResult is what one [Session.Run] produced, in order: the items its
// turn added to history (the agent's messages, function calls and their
// outputs, as [ConversationItemAddedEvent]s; not the user's input) and the
// handoffs ([AgentHandoffEvent]). Package sessiontest checks them
// (sessiontest.Expect).
type RunResult struct {
	Events []Event
	// Speech is the reply to the input.
	Speech *SpeechHandle
}

// runBuffer is how many events a Run keeps; a run that makes more fails.
const runBuffer = 1 << 16

// Run plays one user turn and waits for everything it set off: the reply,
// its tool steps, a handoff and what the new agent's OnEnter says. It is
// the Go counterpart of LiveKit Agents' session.run(user_input=...), for
// tests of an agent with a scripted or a real LLM: start the session (with
// an empty IO for text), Run a turn, and check the result with
// sessiontest.Expect.
//
// It returns the result and, if the LLM failed during the turn, that error.
// Events of other turns that overlap (a voice user speaking meanwhile, or
// another Run) are in the result too. Run waits for the session to fall
// idle, so a tool or hook that calls it waits for itself until ctx ends.
func (s *Session) Run(ctx context.Context, userInput string, opts ...SpeechOption) (*RunResult, error) {
	if strings.TrimSpace(userInput) == "" {
		return nil, errors.New("session: run: the user input has no words")
	}
	sub := newSubscriber(nil, runBuffer)
	if !s.subs.add(sub) {
		return nil, ErrSessionClosed
	}
	defer s.subs.remove(sub)
	h := s.newSpeech("generate_reply", append(opts[:len(opts):len(opts)], WithUserInput(userInput)))
	idle := make(chan struct{})
	// One post: the wait for idle is queued with the reply, before any
	// shutdown, so it always ends.
	if err := s.postOpen(func(l *loop) { l.enqueue(h); l.whenIdle(idle) }); err != nil {
		return nil, err
	}
	select {
	case <-idle:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	batch, _ := sub.take()
	res := &RunResult{Speech: h}
	var runErr error
	input := h.req.userMsg.ID // set by the loop before idle was closed
	for _, e := range batch {
		switch e := e.(type) {
		case ConversationItemAddedEvent:
			if e.Item.ItemID() != input {
				res.Events = append(res.Events, e)
			}
		case AgentHandoffEvent:
			res.Events = append(res.Events, e)
		case ErrorEvent:
			if runErr == nil && e.Source == SourceLLM && !e.Recoverable {
				runErr = fmt.Errorf("session: run: %s: %w", e.Source, e.Err)
			}
		case EventsDroppedEvent:
			return nil, fmt.Errorf("session: run: more than %d events in one turn", runBuffer)
		}
	}
	return res, runErr
}
