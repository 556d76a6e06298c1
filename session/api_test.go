package session_test

import (
	"context"
	"errors"
	"iter"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

// The running agent's instructions, tools and history change from the next
// LLM step on, the Agent value untouched.
func TestUpdateInstructionsToolsAndChatContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM()
		a := &session.Agent{Instructions: "first", Tools: []session.Tool{tool("old", nil)}}
		r := newTextRig(t, llm, a)
		if err := r.s.UpdateInstructions("second"); err != nil {
			t.Fatal(err)
		}
		if err := r.s.UpdateTools([]session.Tool{tool("new_a", nil), tool("new_b", nil)}); err != nil {
			t.Fatal(err)
		}
		r.text.Send("hi")
		synctest.Wait()
		chat := session.NewChatContext()
		chat.AddMessage(session.RoleUser, "summary: the user said hi")
		if err := r.s.UpdateChatContext(chat); err != nil {
			t.Fatal(err)
		}
		chat.AddMessage(session.RoleUser, "changed after the update: not in history")
		r.text.Send("again")
		synctest.Wait()

		reqs := llm.Requests()
		if len(reqs) != 2 {
			t.Fatalf("requests = %d", len(reqs))
		}
		if sys := reqs[0].Chat.Items[0].(*session.ChatMessage).Content; sys != "second" {
			t.Errorf("instructions = %q, want the updated ones", sys)
		}
		var names []string
		for _, d := range reqs[0].Tools {
			names = append(names, d.Name)
		}
		if diff := cmp.Diff(names, []string{"new_a", "new_b"}); diff != "" {
			t.Errorf("tools (-got +want):\n%s", diff)
		}
		want := []string{"user: summary: the user said hi", "user: again", "assistant: ok"}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history after UpdateChatContext (-got +want):\n%s", diff)
		}
		if a.Instructions != "first" || len(a.Tools) != 1 {
			t.Error("the Agent value changed")
		}
		if err := r.s.UpdateTools([]session.Tool{tool("x", nil), tool("x", nil)}); err == nil || !strings.Contains(err.Error(), "x") {
			t.Errorf("duplicate tool names: error %v", err)
		}
		if err := r.s.UpdateChatContext(&session.ChatContext{Items: []session.ChatItem{(*session.ChatMessage)(nil)}}); err == nil {
			t.Error("a nil chat item was accepted")
		}
	})
}

// A tool that updates the agent's instructions and tools during a reply
// (LiveKit's update_tools from a tool, to unlock a step of a flow) changes
// the reply's next LLM step, and a call of a tool it added runs.
func TestUpdateToolsDuringAReplyReachesItsNextStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(
			sessiontest.Response{ToolCalls: []session.FunctionCall{{CallID: "1", Name: "verify", Arguments: "{}"}}},
			sessiontest.Response{ToolCalls: []session.FunctionCall{{CallID: "2", Name: "balance", Arguments: "{}"}}},
			sessiontest.Response{Text: "You have 12 euros."},
		)
		balance := tool("balance", func(context.Context, string) (session.ToolResult, error) {
			return session.ToolResult{Output: "12 EUR"}, nil
		})
		var verify session.Tool
		verify = tool("verify", func(ctx context.Context, _ string) (session.ToolResult, error) {
			rc, _ := session.RunContextFrom(ctx)
			if err := rc.Session().UpdateInstructions("verified caller"); err != nil {
				return session.ToolResult{}, err
			}
			if err := rc.Session().UpdateTools([]session.Tool{verify, balance}); err != nil {
				return session.ToolResult{}, err
			}
			return session.ToolResult{Output: "verified"}, nil
		})
		r := newTextRig(t, llm, &session.Agent{Instructions: "verify first", Tools: []session.Tool{verify}})
		r.text.Send("my balance?")
		synctest.Wait()
		reqs := llm.Requests()
		if len(reqs) != 3 {
			t.Fatalf("LLM requests = %d, want 3", len(reqs))
		}
		if sys := reqs[1].Chat.Items[0].(*session.ChatMessage).Content; sys != "verified caller" {
			t.Errorf("instructions of the step after the update = %q", sys)
		}
		if n := len(reqs[1].Tools); n != 2 {
			t.Errorf("tools offered after the update = %d, want 2", n)
		}
		want := []string{"user: my balance?", "call verify({})", "output verify: verified", "call balance({})", "output balance: 12 EUR", "assistant: You have 12 euros."}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
	})
}

// An agent whose tools the session could not run (a nil tool, a tool
// without a name, two tools of one name) is refused with an error naming
// the tool, at Start, UpdateAgent and UpdateTools, and as a handoff, which
// the model is told failed; nothing panics.
func TestAgentsWithBadToolsAreRefused(t *testing.T) {
	ok := tool("ok", func(context.Context, string) (session.ToolResult, error) {
		return session.ToolResult{Output: "ok"}, nil
	})
	bad := []struct {
		tools []session.Tool
		want  string
	}{
		{[]session.Tool{ok, nil}, "tools[1] is nil"},
		{[]session.Tool{tool("", nil)}, "tools[0] has no name"},
		{[]session.Tool{ok, ok}, `tools[1]: name "ok" is used twice`},
	}
	for _, b := range bad {
		s, err := session.New()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context(), &session.Agent{Tools: b.tools}, session.IO{}); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("Start = %v, want an error with %q", err, b.want)
		}
		_ = s.Close()
	}
	synctest.Test(t, func(t *testing.T) {
		broken := &session.Agent{Instructions: "broken", Tools: []session.Tool{nil}}
		llm := sessiontest.NewLLM(
			sessiontest.Response{ToolCalls: []session.FunctionCall{{CallID: "1", Name: "transfer", Arguments: "{}"}}},
			sessiontest.Response{Text: "I could not transfer you."},
			sessiontest.Response{Text: "Still here."},
		)
		front := &session.Agent{Tools: []session.Tool{tool("transfer", func(context.Context, string) (session.ToolResult, error) {
			return session.ToolResult{Handoff: broken}, nil
		})}}
		r := newTextRig(t, llm, front)
		for _, b := range bad {
			if err := r.s.UpdateAgent(&session.Agent{Tools: b.tools}); err == nil || !strings.Contains(err.Error(), b.want) {
				t.Errorf("UpdateAgent = %v, want an error with %q", err, b.want)
			}
			if err := r.s.UpdateTools(b.tools); err == nil || !strings.Contains(err.Error(), b.want) {
				t.Errorf("UpdateTools = %v, want an error with %q", err, b.want)
			}
		}
		r.text.Send("transfer me")
		synctest.Wait()
		r.text.Send("hello?")
		synctest.Wait()
		want := []string{"user: transfer me", "call transfer({})", "output transfer: An internal error occurred [error]", "assistant: I could not transfer you.", "user: hello?", "assistant: Still here."}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
		if r.s.Agent() != front {
			t.Error("the session handed off to an agent it cannot run")
		}
	})
}

// An agent's nodes change the LLM request, the text spoken and the
// transcript.
func TestAgentNodes(t *testing.T) {
	upper := func(_ context.Context, in iter.Seq[string]) iter.Seq[string] {
		return func(yield func(string) bool) {
			for s := range in {
				if !yield(strings.ToUpper(s)) {
					return
				}
			}
		}
	}
	t.Run("llm node", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			llm := sessiontest.NewLLM(sessiontest.Response{Text: "From the model."})
			a := &session.Agent{Instructions: "be brief", LLMNode: func(ctx context.Context, req session.ChatRequest, next session.LLM) (session.LLMStream, error) {
				req.ModelOptions = map[string]any{"temperature": 0.1}
				return next.Chat(ctx, req)
			}}
			r := newTextRig(t, llm, a)
			r.text.Send("hi")
			synctest.Wait()
			if got := llm.Requests()[0].ModelOptions["temperature"]; got != 0.1 {
				t.Errorf("temperature = %v, want the node's", got)
			}
			if h := history(r.s); h[len(h)-1] != "assistant: From the model." {
				t.Errorf("history = %q", h)
			}
		})
	})
	t.Run("tts node", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a := &session.Agent{TTSNode: func(ctx context.Context, in iter.Seq[string]) iter.Seq[string] {
				return func(yield func(string) bool) {
					for s := range in {
						if !yield(strings.ReplaceAll(s, "LiveKit", "Live Kit")) {
							return
						}
					}
				}
			}}
			r := newVoiceRig(t, sessiontest.NewLLM(sessiontest.Response{Text: "Welcome to LiveKit."}), a, session.WithPreemptiveGeneration(false))
			r.say("hi")
			time.Sleep(3 * time.Second)
			synctest.Wait()
			if diff := cmp.Diff(r.tts.Segments(), []string{"Welcome to Live Kit."}); diff != "" {
				t.Errorf("spoken (-got +want):\n%s", diff)
			}
			if h := history(r.s); h[len(h)-1] != "assistant: Welcome to LiveKit." {
				t.Errorf("history = %q, want the LLM's words", h)
			}
		})
	})
	t.Run("transcription node, text", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newTextRig(t, sessiontest.NewLLM(sessiontest.Response{Text: "quiet words"}), &session.Agent{TranscriptionNode: upper})
			r.text.Send("hi")
			synctest.Wait()
			if diff := cmp.Diff(r.tout.Messages(), []string{"QUIET WORDS"}); diff != "" {
				t.Errorf("transcript (-got +want):\n%s", diff)
			}
			if h := history(r.s); h[len(h)-1] != "assistant: QUIET WORDS" {
				t.Errorf("history = %q, want the transcript", h)
			}
		})
	})
	t.Run("transcription node, voice, interrupted", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newVoiceRig(t, sessiontest.NewLLM(sessiontest.Response{Text: "One two three four five six."}), &session.Agent{TranscriptionNode: upper},
				session.WithPreemptiveGeneration(false))
			r.say("count")
			time.Sleep(500 * time.Millisecond)
			synctest.Wait()
			time.Sleep(700 * time.Millisecond)
			synctest.Wait()
			if err := r.s.Interrupt(); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if diff := cmp.Diff(r.tout.Messages(), []string{"ONE TWO THREE"}); diff != "" {
				t.Errorf("transcript (-got +want):\n%s", diff)
			}
			if h := history(r.s); h[len(h)-1] != "assistant: ONE TWO THREE [interrupted]" {
				t.Errorf("history = %q", h)
			}
		})
	})
}

// Err and Wait say why the session closed.
func TestCloseReasonErrAndWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := &sessiontest.LLM{Respond: func(session.ChatRequest) sessiontest.Response {
			return sessiontest.Response{ChatErr: sessiontest.ErrScripted}
		}}
		r := newTextRig(t, llm, nil)
		if err := r.s.Err(); err != nil {
			t.Errorf("Err of a running session = %v", err)
		}
		for _, s := range []string{"one", "two", "three"} {
			r.text.Send(s)
			synctest.Wait()
		}
		err := r.s.Wait(t.Context())
		var ce *session.ClosedError
		if !errors.As(err, &ce) || ce.Reason != session.CloseError {
			t.Fatalf("Wait = %v, want a ClosedError with reason error", err)
		}
		if !errors.Is(err, session.ErrSessionClosed) || !errors.Is(err, sessiontest.ErrScripted) {
			t.Errorf("Wait = %v, want it to be ErrSessionClosed and the LLM's error", err)
		}
		if r.s.Err() != err {
			t.Errorf("Err = %v, want what Wait returned", r.s.Err())
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		s2, _ := session.New()
		if err := s2.Wait(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait with a done context = %v", err)
		}
	})
}

// Several subscribers get every event in order; an iterator too.
func TestSubscribersAndEventsIterator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := session.New(session.WithLLM(sessiontest.NewLLM()))
		if err != nil {
			t.Fatal(err)
		}
		var a, b []session.Event
		s.Subscribe(func(e session.Event) { a = append(a, e) })
		s.Subscribe(func(e session.Event) { b = append(b, e) })
		gone := s.Subscribe(func(session.Event) { t.Error("an unsubscribed handler got an event") })
		gone()
		var c []session.Event
		iterDone := make(chan struct{})
		events := s.Events(t.Context())
		go func() { // exits after the CloseEvent
			defer close(iterDone)
			for e := range events {
				c = append(c, e)
			}
		}()
		in := sessiontest.NewTextInput()
		if err := s.Start(t.Context(), &session.Agent{}, session.IO{Text: in}); err != nil {
			t.Fatal(err)
		}
		in.Send("hi")
		synctest.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		<-iterDone
		if len(a) < 5 {
			t.Errorf("first subscriber got %d events", len(a))
		}
		if _, ok := a[len(a)-1].(session.CloseEvent); !ok {
			t.Errorf("last event = %T, want CloseEvent", a[len(a)-1])
		}
		if diff := cmp.Diff(len(b), len(a)); diff != "" {
			t.Errorf("second subscriber: %s", diff)
		}
		if len(c) != len(a) {
			t.Errorf("iterator got %d events, the subscriber %d", len(c), len(a))
		}
		if s.Subscribe(func(session.Event) {}) == nil {
			t.Error("Subscribe after close returned nil")
		}
	})
}

// A subscriber that falls behind by more than its buffer learns how many
// events it lost.
func TestEventsDroppedAreCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var got []session.Event
		stt := sessiontest.NewSTT()
		s, err := session.New(session.WithLLM(sessiontest.NewLLM()), session.WithSTT(stt), session.WithEventBuffer(8),
			session.WithEventHandler(func(e session.Event) {
				<-release
				got = append(got, e)
			}))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context(), &session.Agent{}, session.IO{Audio: sessiontest.NewAudioInput()}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		for range 100 {
			stt.Interim("la")
		}
		synctest.Wait()
		close(release)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		transcripts, dropped := 0, 0
		for _, e := range got {
			switch e := e.(type) {
			case session.UserInputTranscribedEvent:
				transcripts++
			case session.EventsDroppedEvent:
				dropped += e.Dropped
			}
		}
		if transcripts+dropped != 100 || dropped == 0 {
			t.Errorf("transcripts %d + dropped %d, want 100 with some dropped", transcripts, dropped)
		}
		if _, ok := got[len(got)-1].(session.CloseEvent); !ok {
			t.Errorf("last event = %T, want the CloseEvent, never dropped", got[len(got)-1])
		}
	})
}

// Run plays a turn and waits for all it set off, tools and handoff
// included; Expect checks the result.
func TestRunTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(
			sessiontest.Response{Text: "Let me check.", ToolCalls: []session.FunctionCall{{CallID: "1", Name: "get_weather", Arguments: `{"city":"Paris","units":"c"}`}}},
			sessiontest.Response{Text: "It is sunny in Paris.", ToolCalls: []session.FunctionCall{{CallID: "2", Name: "transfer", Arguments: "{}"}}},
			sessiontest.Response{Text: "Travel desk here, where to?"},
		)
		travel := &session.Agent{Instructions: "travel desk"}
		travel.OnEnter = func(ctx context.Context, s *session.Session) error {
			_, err := s.GenerateReply()
			return err
		}
		weather := &session.Agent{Instructions: "weather", Tools: []session.Tool{
			tool("get_weather", func(context.Context, string) (session.ToolResult, error) {
				return session.ToolResult{Output: "sunny"}, nil
			}),
			tool("transfer", func(context.Context, string) (session.ToolResult, error) {
				return session.ToolResult{Handoff: travel}, nil
			}),
		}}
		s, err := session.New(session.WithLLM(llm))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context(), weather, session.IO{}); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		res, err := s.Run(t.Context(), "weather in Paris?")
		if err != nil {
			t.Fatal(err)
		}
		e := sessiontest.Expect(t, res)
		e.NextEvent().IsMessage(session.RoleAssistant).Contains("check")
		e.NextEvent().IsFunctionCall("get_weather").WithArgs(map[string]any{"city": "Paris"})
		e.NextEvent().IsFunctionCallOutput().Contains("sunny").IsError(false)
		e.NextEvent().IsMessage(session.RoleAssistant).Contains("SUNNY")
		e.NextEvent().IsFunctionCall("transfer")
		e.NextEvent().IsFunctionCallOutput()
		e.NextEvent().IsHandoff(travel)
		e.NextEvent().IsMessage(session.RoleAssistant).Contains("travel desk")
		e.NoMoreEvents()
		e2 := sessiontest.Expect(t, res)
		e2.ContainsFunctionCall("transfer")
		e2.ContainsHandoff(travel)
		e2.ContainsMessage(session.RoleAssistant)
	})
}
