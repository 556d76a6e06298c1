package sessiontest_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeT records the failure of an expectation; Fatalf ends the goroutine as
// testing.T's does.
type fakeT struct {
	testing.TB
	msg string
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// failure runs check against a fake T and returns its failure message.
func failure(check func(t testing.TB)) string {
	f := &fakeT{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(f)
	}()
	<-done
	return f.msg
}

var run = &session.RunResult{Events: []session.Event{
	session.ConversationItemAddedEvent{Item: &session.FunctionCall{Name: "get_weather", Arguments: `{"city":"Paris"}`}},
	session.ConversationItemAddedEvent{Item: &session.FunctionCallOutput{Name: "get_weather", Output: "sunny"}},
	session.ConversationItemAddedEvent{Item: &session.ChatMessage{Role: session.RoleAssistant, Content: "It is sunny in Paris."}},
}}

func TestExpectPasses(t *testing.T) {
	e := sessiontest.Expect(t, run)
	e.NextEvent().IsFunctionCall("get_weather").WithArgs(map[string]any{"city": "Paris"})
	e.NextEvent().IsFunctionCallOutput().Contains("sunny").IsError(false)
	e.NextEvent().IsMessage(session.RoleAssistant).Contains("sunny")
	e.NoMoreEvents()
}

// A failed expectation says what it wanted and what it got, and lists the
// run's events with the one at fault marked.
func TestExpectFailureMessages(t *testing.T) {
	tests := []struct {
		name  string
		check func(t testing.TB)
		want  []string
	}{
		{
			name: "wrong type",
			check: func(t testing.TB) {
				sessiontest.Expect(t, run).NextEvent().IsMessage(session.RoleAssistant)
			},
			want: []string{
				"expected a message from assistant, got function call get_weather({\"city\":\"Paris\"})",
				">>> [0] function call get_weather",
				"    [2] message assistant: \"It is sunny in Paris.\"",
			},
		},
		{
			name: "wrong argument",
			check: func(t testing.TB) {
				sessiontest.Expect(t, run).NextEvent().IsFunctionCall("get_weather").WithArgs(map[string]any{"city": "Rome"})
			},
			want: []string{`expected argument city of get_weather to be "Rome", got "Paris"`, ">>> [0]"},
		},
		{
			name: "message text",
			check: func(t testing.TB) {
				sessiontest.Expect(t, run).Skip(2).NextEvent().IsMessage("").Contains("rain")
			},
			want: []string{`expected the message to contain "rain", got "It is sunny in Paris."`, ">>> [2]"},
		},
		{
			name: "events left",
			check: func(t testing.TB) {
				sessiontest.Expect(t, run).Skip(1).NoMoreEvents()
			},
			want: []string{"expected no more events, got function output get_weather: \"sunny\"", ">>> [1]"},
		},
		{
			name: "none left",
			check: func(t testing.TB) {
				sessiontest.Expect(t, run).Skip(3).NextEvent()
			},
			want: []string{"expected another event after the 3 of the run"},
		},
		{
			name: "handoff to another agent",
			check: func(t testing.TB) {
				billing, sales := &session.Agent{Instructions: "billing desk"}, &session.Agent{Instructions: "sales desk"}
				r := &session.RunResult{Events: []session.Event{session.AgentHandoffEvent{New: billing}}}
				sessiontest.Expect(t, r).NextEvent().IsHandoff(sales)
			},
			want: []string{`expected a handoff to agent "sales desk", got handoff to agent "billing desk"`, ">>> [0]"},
		},
		{
			name: "missing output",
			check: func(t testing.TB) {
				sessiontest.Expect(t, run).ContainsFunctionCallOutput("book")
			},
			want: []string{"expected an output of book", "    [1] function output get_weather"},
		},
		{
			name: "missing handoff",
			check: func(t testing.TB) {
				sessiontest.Expect(t, run).ContainsHandoff(nil)
			},
			want: []string{"expected a handoff"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := failure(tt.check)
			if msg == "" {
				t.Fatal("the expectation did not fail")
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("failure message\n%s\ndoes not contain %q", msg, w)
				}
			}
		})
	}
}
