package sessiontest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/livekit-go/agents/session"
)

// Expect checks the events of one [session.Session.Run], the way LiveKit
// Agents' RunResult.expect does: step through them with NextEvent, or look
// for one anywhere with the Contains methods. A failed expectation ends the
// test with the run's events listed and the one at fault marked:
//
//	res, err := s.Run(ctx, "what's the weather in Paris?")
//	e := sessiontest.Expect(t, res)
//	e.NextEvent().IsFunctionCall("get_weather").WithArgs(map[string]any{"city": "Paris"})
//	e.NextEvent().IsFunctionCallOutput()
//	e.NextEvent().IsMessage(session.RoleAssistant).Contains("sunny")
//	e.NoMoreEvents()
func Expect(t testing.TB, r *session.RunResult) *RunAssert {
	t.Helper()
	if r == nil {
		t.Fatalf("sessiontest: Expect of a nil run result")
		return nil
	}
	return &RunAssert{t: t, events: r.Events}
}

// RunAssert walks a run's events.
type RunAssert struct {
	t      testing.TB
	events []session.Event
	next   int
}

func (a *RunAssert) fail(at int, format string, args ...any) {
	a.t.Helper()
	a.t.Fatalf("%s\nevents of the run:\n%s", fmt.Sprintf(format, args...), a.listing(at))
}

// listing shows the events, one a line, the one at index at marked.
func (a *RunAssert) listing(at int) string {
	if len(a.events) == 0 {
		return "    (none)"
	}
	var b strings.Builder
	for i, e := range a.events {
		mark := "   "
		if i == at {
			mark = ">>>"
		}
		fmt.Fprintf(&b, "%s [%d] %s\n", mark, i, describe(e))
	}
	return strings.TrimRight(b.String(), "\n")
}

// describe shows an event on one line.
func describe(e session.Event) string {
	switch e := e.(type) {
	case session.ConversationItemAddedEvent:
		switch it := e.Item.(type) {
		case *session.ChatMessage:
			s := fmt.Sprintf("message %s: %q", it.Role, it.Content)
			if it.Interrupted {
				s += " (interrupted)"
			}
			return s
		case *session.FunctionCall:
			return fmt.Sprintf("function call %s(%s)", it.Name, it.Arguments)
		case *session.FunctionCallOutput:
			s := fmt.Sprintf("function output %s: %q", it.Name, it.Output)
			if it.IsError {
				s += " (error)"
			}
			return s
		}
	case session.AgentHandoffEvent:
		return fmt.Sprintf("handoff to agent %q", firstLine(e.New.Instructions))
	}
	return fmt.Sprintf("%T", e)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

// NextEvent moves to the next event.
func (a *RunAssert) NextEvent() *EventAssert {
	a.t.Helper()
	if a.next >= len(a.events) {
		a.fail(-1, "sessiontest: expected another event after the %d of the run", len(a.events))
		return nil
	}
	e := &EventAssert{a: a, at: a.next}
	a.next++
	return e
}

// Skip moves past n events.
func (a *RunAssert) Skip(n int) *RunAssert {
	a.t.Helper()
	if a.next+n > len(a.events) {
		a.fail(-1, "sessiontest: cannot skip %d events: %d left", n, len(a.events)-a.next)
		return a
	}
	a.next += n
	return a
}

// NoMoreEvents fails if events are left.
func (a *RunAssert) NoMoreEvents() {
	a.t.Helper()
	if a.next < len(a.events) {
		a.fail(a.next, "sessiontest: expected no more events, got %s", describe(a.events[a.next]))
	}
}

// ContainsMessage finds a message from role ("" for any) anywhere in the
// run.
func (a *RunAssert) ContainsMessage(role session.Role) *MessageAssert {
	a.t.Helper()
	at, m := find(a, message(role))
	return &MessageAssert{a: a, at: at, msg: m}
}

// ContainsFunctionCall finds a call of the named tool ("" for any)
// anywhere in the run.
func (a *RunAssert) ContainsFunctionCall(name string) *FunctionCallAssert {
	a.t.Helper()
	at, c := find(a, call(name))
	return &FunctionCallAssert{a: a, at: at, call: c}
}

// ContainsFunctionCallOutput finds an output of the named tool ("" for
// any) anywhere in the run.
func (a *RunAssert) ContainsFunctionCallOutput(name string) *FunctionCallOutputAssert {
	a.t.Helper()
	at, o := find(a, output(name))
	return &FunctionCallOutputAssert{a: a, at: at, out: o}
}

// ContainsHandoff finds a handoff to agent (nil for any) anywhere in the
// run.
func (a *RunAssert) ContainsHandoff(to *session.Agent) session.AgentHandoffEvent {
	a.t.Helper()
	_, h := find(a, handoff(to))
	return h
}

// EventAssert is one event of a run.
type EventAssert struct {
	a  *RunAssert
	at int
}

// Event is the event itself.
func (e *EventAssert) Event() session.Event { return e.a.events[e.at] }

// IsMessage checks that the event is a message from role ("" for any).
func (e *EventAssert) IsMessage(role session.Role) *MessageAssert {
	e.a.t.Helper()
	return &MessageAssert{a: e.a, at: e.at, msg: check(e, message(role))}
}

// IsFunctionCall checks that the event is a call of the named tool ("" for
// any).
func (e *EventAssert) IsFunctionCall(name string) *FunctionCallAssert {
	e.a.t.Helper()
	return &FunctionCallAssert{a: e.a, at: e.at, call: check(e, call(name))}
}

// IsFunctionCallOutput checks that the event is a function output.
func (e *EventAssert) IsFunctionCallOutput() *FunctionCallOutputAssert {
	e.a.t.Helper()
	return &FunctionCallOutputAssert{a: e.a, at: e.at, out: check(e, output(""))}
}

// IsHandoff checks that the event is a handoff to agent (nil for any).
func (e *EventAssert) IsHandoff(to *session.Agent) session.AgentHandoffEvent {
	e.a.t.Helper()
	return check(e, handoff(to))
}

// matcher is what an expectation looks for: want says it in a failure,
// and of returns an event's value when the event is one.
type matcher[T any] struct {
	want string
	of   func(session.Event) (T, bool)
}

// find returns the first event of the run that m matches, and its index.
func find[T any](a *RunAssert, m matcher[T]) (int, T) {
	a.t.Helper()
	for i, e := range a.events {
		if v, ok := m.of(e); ok {
			return i, v
		}
	}
	a.fail(-1, "sessiontest: expected %s", m.want)
	var zero T
	return -1, zero
}

// check returns the value of e's event, which m must match.
func check[T any](e *EventAssert, m matcher[T]) T {
	e.a.t.Helper()
	v, ok := m.of(e.Event())
	if !ok {
		e.a.fail(e.at, "sessiontest: expected %s, got %s", m.want, describe(e.Event()))
	}
	return v
}

// item returns the history item e added, if it is a T.
func item[T session.ChatItem](e session.Event) (T, bool) {
	c, ok := e.(session.ConversationItemAddedEvent)
	if !ok {
		var zero T
		return zero, false
	}
	it, ok := c.Item.(T)
	return it, ok
}

func message(role session.Role) matcher[*session.ChatMessage] {
	return matcher[*session.ChatMessage]{"a message from " + orAny(string(role)), func(e session.Event) (*session.ChatMessage, bool) {
		m, ok := item[*session.ChatMessage](e)
		return m, ok && (role == "" || m.Role == role)
	}}
}

func call(name string) matcher[*session.FunctionCall] {
	return matcher[*session.FunctionCall]{"a call of " + orAny(name), func(e session.Event) (*session.FunctionCall, bool) {
		c, ok := item[*session.FunctionCall](e)
		return c, ok && (name == "" || c.Name == name)
	}}
}

func output(name string) matcher[*session.FunctionCallOutput] {
	want := "a function output"
	if name != "" {
		want = "an output of " + name
	}
	return matcher[*session.FunctionCallOutput]{want, func(e session.Event) (*session.FunctionCallOutput, bool) {
		o, ok := item[*session.FunctionCallOutput](e)
		return o, ok && (name == "" || o.Name == name)
	}}
}

func handoff(to *session.Agent) matcher[session.AgentHandoffEvent] {
	want := "a handoff"
	if to != nil {
		want = fmt.Sprintf("a handoff to agent %q", firstLine(to.Instructions))
	}
	return matcher[session.AgentHandoffEvent]{want, func(e session.Event) (session.AgentHandoffEvent, bool) {
		h, ok := e.(session.AgentHandoffEvent)
		return h, ok && (to == nil || h.New == to)
	}}
}

// MessageAssert checks a message.
type MessageAssert struct {
	a   *RunAssert
	at  int
	msg *session.ChatMessage
}

// Message is the message.
func (m *MessageAssert) Message() *session.ChatMessage { return m.msg }

// Contains checks that the message contains substr (case-insensitively).
func (m *MessageAssert) Contains(substr string) *MessageAssert {
	m.a.t.Helper()
	if !strings.Contains(strings.ToLower(m.msg.Content), strings.ToLower(substr)) {
		m.a.fail(m.at, "sessiontest: expected the message to contain %q, got %q", substr, m.msg.Content)
	}
	return m
}

// FunctionCallAssert checks a function call.
type FunctionCallAssert struct {
	a    *RunAssert
	at   int
	call *session.FunctionCall
}

// Call is the function call.
func (c *FunctionCallAssert) Call() *session.FunctionCall { return c.call }

// WithArgs checks that the call's arguments hold args: each key, with a
// value equal once both are JSON (other keys may be there too).
func (c *FunctionCallAssert) WithArgs(args map[string]any) *FunctionCallAssert {
	c.a.t.Helper()
	var got map[string]any
	if err := json.Unmarshal([]byte(c.call.Arguments), &got); err != nil {
		c.a.fail(c.at, "sessiontest: arguments of %s are not a JSON object: %v", c.call.Name, err)
		return c
	}
	for k, want := range args {
		wantJSON, err := normalize(want)
		if err != nil {
			c.a.fail(c.at, "sessiontest: expected argument %s: %v", k, err)
			return c
		}
		v, ok := got[k]
		if !ok || !reflect.DeepEqual(v, wantJSON) {
			gotJSON, _ := json.Marshal(v)
			wj, _ := json.Marshal(want)
			if !ok {
				gotJSON = []byte("nothing")
			}
			c.a.fail(c.at, "sessiontest: expected argument %s of %s to be %s, got %s", k, c.call.Name, wj, gotJSON)
			return c
		}
	}
	return c
}

// normalize makes v what it reads as once through JSON.
func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

// FunctionCallOutputAssert checks a function output.
type FunctionCallOutputAssert struct {
	a   *RunAssert
	at  int
	out *session.FunctionCallOutput
}

// Output is the function output.
func (o *FunctionCallOutputAssert) Output() *session.FunctionCallOutput { return o.out }

// Contains checks that the output contains substr, case-sensitively (an
// output is data, unlike a message's words).
func (o *FunctionCallOutputAssert) Contains(substr string) *FunctionCallOutputAssert {
	o.a.t.Helper()
	if !strings.Contains(o.out.Output, substr) {
		o.a.fail(o.at, "sessiontest: expected the output of %s to contain %q, got %q", o.out.Name, substr, o.out.Output)
	}
	return o
}

// IsError checks whether the output is marked as an error.
func (o *FunctionCallOutputAssert) IsError(want bool) *FunctionCallOutputAssert {
	o.a.t.Helper()
	if o.out.IsError != want {
		o.a.fail(o.at, "sessiontest: expected the output of %s to be an error: %v, got %v", o.out.Name, want, o.out.IsError)
	}
	return o
}

func orAny(s string) string {
	if s == "" {
		return "any"
	}
	return s
}
