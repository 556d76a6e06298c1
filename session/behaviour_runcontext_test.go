package session_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

// Behaviour 9: a tool acts on its own speech through its RunContext: it
// waits for what it said to play out, keeps the user from cutting it off,
// and reaches the session and its user data.
func TestToolsCanActOnTheirOwnSpeech(t *testing.T) {
	t.Run("end call after the goodbye", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			llm := sessiontest.NewLLM(sessiontest.Response{Text: "Goodbye, have a nice day.", ToolCalls: []session.FunctionCall{{CallID: "1", Name: "end_call", Arguments: "{}"}}})
			a := &session.Agent{Tools: []session.Tool{tool("end_call", func(ctx context.Context, _ string) (session.ToolResult, error) {
				rc, ok := session.RunContextFrom(ctx)
				if !ok {
					return session.ToolResult{}, errors.New("no run context")
				}
				if err := rc.WaitForPlayout(ctx); err != nil {
					return session.ToolResult{}, err
				}
				rc.Session().CloseAsync()
				return session.ToolResult{NoReply: true}, nil
			})}}
			r := newVoiceRig(t, llm, a, session.WithPreemptiveGeneration(false))
			r.say("bye")
			<-r.s.Done()
			if segs := r.out.Segments(); len(segs) != 1 || segs[0].Interrupted || segs[0].Position != time.Second {
				t.Errorf("playback = %+v, want the whole 1 s goodbye", segs)
			}
			if diff := cmp.Diff(history(r.s)[:2], []string{"user: bye", "assistant: Goodbye, have a nice day."}); diff != "" {
				t.Errorf("history (-got +want):\n%s", diff)
			}
			if c := sessiontest.Of[session.CloseEvent](r.rec); len(c) != 1 || c[0].Reason != session.CloseUserInitiated {
				t.Errorf("close events = %+v", c)
			}
		})
	})
	t.Run("disallow interruptions", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			llm := sessiontest.NewLLM(
				sessiontest.Response{Text: "Booking it.", ToolCalls: []session.FunctionCall{{CallID: "1", Name: "book", Arguments: "{}"}}},
				sessiontest.Response{Text: "Your table is booked for eight."},
			)
			a := &session.Agent{Tools: []session.Tool{tool("book", func(ctx context.Context, _ string) (session.ToolResult, error) {
				rc, _ := session.RunContextFrom(ctx)
				if err := rc.DisallowInterruptions(); err != nil {
					return session.ToolResult{}, err
				}
				select {
				case <-time.After(2 * time.Second):
				case <-ctx.Done():
					return session.ToolResult{}, context.Cause(ctx)
				}
				return session.ToolResult{Output: "booked"}, nil
			})}}
			r := newVoiceRig(t, llm, a, session.WithPreemptiveGeneration(false), session.WithFalseInterruptionTimeout(0))
			r.say("book a table")
			time.Sleep(time.Second) // commit, "Booking it." plays, the tool runs
			r.vad.StartOfSpeech()
			time.Sleep(time.Second) // the user talks over it
			r.vad.EndOfSpeech()
			time.Sleep(5 * time.Second)
			synctest.Wait()
			want := []string{"user: book a table", "assistant: Booking it.", "call book({})", "output book: booked", "assistant: Your table is booked for eight."}
			if diff := cmp.Diff(history(r.s), want); diff != "" {
				t.Errorf("history (-got +want):\n%s", diff)
			}
		})
	})
	t.Run("session, call and user data", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			type account struct{ name string }
			acct := &account{name: "ada"}
			llm := sessiontest.NewLLM(sessiontest.Response{ToolCalls: []session.FunctionCall{{CallID: "c1", Name: "whoami", Arguments: `{"x":1}`}}})
			got := make(chan *session.RunContext, 1)
			a := &session.Agent{Tools: []session.Tool{tool("whoami", func(ctx context.Context, _ string) (session.ToolResult, error) {
				rc, _ := session.RunContextFrom(ctx)
				got <- rc
				return session.ToolResult{Output: rc.UserData().(*account).name, NoReply: true}, nil
			})}}
			r := newTextRig(t, llm, a, session.WithUserData(acct))
			r.text.Send("who am I?")
			synctest.Wait()
			rc := <-got
			if rc.Session() != r.s || rc.UserData() != any(acct) || r.s.UserData() != any(acct) {
				t.Error("run context does not lead to the session and its user data")
			}
			if c := rc.FunctionCall(); c.Name != "whoami" || c.CallID != "c1" || c.Arguments != `{"x":1}` {
				t.Errorf("function call = %+v", c)
			}
			sc := sessiontest.Of[session.SpeechCreatedEvent](r.rec)
			if len(sc) != 1 || rc.SpeechHandle() != sc[0].Speech {
				t.Error("run context's speech handle is not the reply's")
			}
			if _, ok := session.RunContextFrom(t.Context()); ok {
				t.Error("a context without a tool call has a run context")
			}
		})
	})
}

// A tool's error meant for the model reaches it as it is.
func TestToolErrorMessageReachesTheModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(
			sessiontest.Response{ToolCalls: []session.FunctionCall{{CallID: "1", Name: "book", Arguments: "{}"}}},
			sessiontest.Response{Text: "That day is full."},
		)
		a := &session.Agent{Tools: []session.Tool{tool("book", func(context.Context, string) (session.ToolResult, error) {
			return session.ToolResult{}, fmt.Errorf("booking: %w", session.NewToolError("no table free on %s", "Friday"))
		})}}
		r := newTextRig(t, llm, a)
		r.text.Send("book friday")
		synctest.Wait()
		want := []string{"user: book friday", "call book({})", "output book: no table free on Friday [error]", "assistant: That day is full."}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
	})
}

// The zero RunContext, for a tool called outside a session (a unit test of
// the tool), answers without panicking.
func TestZeroRunContextIsUsable(t *testing.T) {
	var rc session.RunContext
	if rc.Session() != nil || rc.SpeechHandle() != nil || rc.UserData() != nil {
		t.Error("zero run context leads somewhere")
	}
	if err := rc.WaitForPlayout(t.Context()); err != nil {
		t.Errorf("WaitForPlayout = %v", err)
	}
	if err := rc.DisallowInterruptions(); err == nil {
		t.Error("DisallowInterruptions of no speech = nil")
	}
	if c := rc.FunctionCall(); c.Name != "" {
		t.Errorf("FunctionCall = %+v", c)
	}
}
