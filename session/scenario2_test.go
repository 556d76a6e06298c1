package session_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

func userMessages(s *session.Session) int {
	n := 0
	for _, it := range s.History().Items {
		if m, ok := it.(*session.ChatMessage); ok && m.Role == session.RoleUser {
			n++
		}
	}
	return n
}

func TestEndpointing(t *testing.T) {
	tests := []struct {
		name      string
		detector  *sessiontest.TurnDetector
		endedAgo  time.Duration // how long before the VAD event speech ended
		wantDelay time.Duration // from the VAD event to the commit
	}{
		{"min delay", nil, 0, 500 * time.Millisecond},
		{"min delay measured from speech end", nil, 200 * time.Millisecond, 300 * time.Millisecond},
		{"detector done", &sessiontest.TurnDetector{Done: true}, 0, 500 * time.Millisecond},
		{"detector not done: max delay", &sessiontest.TurnDetector{Done: false}, 0, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var opts []session.Option
				if tt.detector != nil {
					opts = append(opts, session.WithTurnDetector(tt.detector))
				}
				r := newVoiceRig(t, sessiontest.NewLLM(), nil, opts...)
				r.vad.StartOfSpeech()
				r.stt.Final("hello")
				synctest.Wait()
				r.vad.Emit(session.VADEvent{Type: session.VADEndOfSpeech, SpeechEndedAt: time.Now().Add(-tt.endedAgo)})
				synctest.Wait()
				time.Sleep(tt.wantDelay - time.Millisecond)
				synctest.Wait()
				if n := userMessages(r.s); n != 0 {
					t.Fatalf("turn committed before %v", tt.wantDelay)
				}
				time.Sleep(time.Millisecond)
				synctest.Wait()
				if n := userMessages(r.s); n != 1 {
					t.Fatalf("turn not committed at %v", tt.wantDelay)
				}
			})
		})
	}
}

func TestEndpointingNewSpeechCancelsWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newVoiceRig(t, sessiontest.NewLLM(), nil)
		r.say("hello")
		time.Sleep(300 * time.Millisecond)
		r.vad.StartOfSpeech()
		synctest.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		if n := userMessages(r.s); n != 0 {
			t.Fatal("turn committed while the user was speaking again")
		}
		r.stt.Final("there")
		r.vad.EndOfSpeech()
		synctest.Wait()
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		if diff := cmp.Diff(history(r.s)[:1], []string{"user: hello there"}); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
	})
}

const tenWords = "One two three four five six seven eight nine ten."

func TestInterruptionKeepsWhatWasPlayed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(sessiontest.Response{Text: tenWords}) // 10 words: 2 s of audio
		r := newVoiceRig(t, llm, nil, session.WithFalseInterruptionTimeout(0), session.WithPreemptiveGeneration(false))
		r.say("count")
		time.Sleep(500 * time.Millisecond) // commit; playback starts
		synctest.Wait()
		time.Sleep(800 * time.Millisecond)
		r.vad.StartOfSpeech()
		synctest.Wait()
		time.Sleep(500 * time.Millisecond) // min_interruption_duration
		synctest.Wait()
		r.vad.EndOfSpeech()
		synctest.Wait()

		segs := r.out.Segments()
		if len(segs) != 1 || !segs[0].Interrupted || segs[0].Position != 1300*time.Millisecond {
			t.Fatalf("playback = %+v, want one segment interrupted at 1.3s", segs)
		}
		want := []string{"user: count", "assistant: One two three four five six [interrupted]"}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
		sc := sessiontest.Of[session.SpeechCreatedEvent](r.rec)
		if len(sc) != 1 || !sc[0].Speech.Interrupted() {
			t.Errorf("speech handle not marked interrupted")
		}
	})
}

func TestInterruptionCancelsTheLLMWithCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(sessiontest.Response{Text: "Still thinking.", Hold: true})
		r := newVoiceRig(t, llm, nil, session.WithFalseInterruptionTimeout(0), session.WithPreemptiveGeneration(false))
		r.say("hi")
		time.Sleep(time.Second)
		r.vad.StartOfSpeech()
		time.Sleep(600 * time.Millisecond)
		synctest.Wait()
		if diff := cmp.Diff(llm.Cancelled(), []error{session.ErrInterrupted}, cmpErrors); diff != "" {
			t.Errorf("LLM cancel causes (-got +want):\n%s", diff)
		}
	})
}

var cmpErrors = cmp.Comparer(func(a, b error) bool { return errors.Is(a, b) || errors.Is(b, a) })

func TestFalseInterruptionResumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newVoiceRig(t, sessiontest.NewLLM(sessiontest.Response{Text: tenWords}), nil, session.WithPreemptiveGeneration(false))
		r.say("count")
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		time.Sleep(500 * time.Millisecond)
		r.vad.StartOfSpeech() // a cough
		time.Sleep(600 * time.Millisecond)
		synctest.Wait()
		if !r.out.Paused() {
			t.Fatal("output not paused on interruption")
		}
		r.vad.EndOfSpeech()
		synctest.Wait()
		time.Sleep(2 * time.Second) // false_interruption_timeout, no transcript
		synctest.Wait()
		if r.out.Paused() {
			t.Fatal("output still paused after the false interruption timeout")
		}
		if n := len(sessiontest.Of[session.AgentFalseInterruptionEvent](r.rec)); n != 1 {
			t.Errorf("false interruption events = %d, want 1", n)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		want := []string{"user: count", "assistant: " + tenWords}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
		segs := r.out.Segments()
		if len(segs) != 1 || segs[0].Interrupted || segs[0].Position != 2*time.Second {
			t.Errorf("playback = %+v, want all 2s played", segs)
		}
	})
}

func TestPausedInterruptionWithTranscriptStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newVoiceRig(t, sessiontest.NewLLM(sessiontest.Response{Text: tenWords}), nil, session.WithPreemptiveGeneration(false))
		r.say("count")
		time.Sleep(time.Second)
		r.vad.StartOfSpeech()
		time.Sleep(600 * time.Millisecond)
		synctest.Wait()
		r.stt.Final("wait")
		synctest.Wait()
		segs := r.out.Segments()
		if len(segs) != 1 || !segs[0].Interrupted {
			t.Fatalf("playback = %+v, want interrupted", segs)
		}
		// paused at 1.0 s of audio (5 words), 0.5 s after the user started
		if got := history(r.s)[1]; got != "assistant: One two three four five [interrupted]" {
			t.Errorf("assistant message = %q", got)
		}
	})
}

func TestUninterruptibleSpeech(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newVoiceRig(t, sessiontest.NewLLM(), nil, session.WithFalseInterruptionTimeout(0))
		h1, err := r.s.Say(tenWords, session.AllowInterruptions(false))
		if err != nil {
			t.Fatal(err)
		}
		h2, _ := r.s.Say("Queued and never said.")
		synctest.Wait()
		if err := h1.Interrupt(); !errors.Is(err, session.ErrUninterruptible) {
			t.Errorf("Interrupt of playing uninterruptible speech = %v, want ErrUninterruptible", err)
		}
		if err := h2.Interrupt(); err != nil {
			t.Errorf("Interrupt of queued speech = %v", err)
		}
		time.Sleep(500 * time.Millisecond)
		r.vad.StartOfSpeech()
		time.Sleep(time.Second)
		synctest.Wait()
		r.vad.EndOfSpeech()
		if err := h1.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if h1.Interrupted() || !h2.Interrupted() {
			t.Errorf("interrupted: h1 %v h2 %v, want false true", h1.Interrupted(), h2.Interrupted())
		}
		if diff := cmp.Diff(history(r.s), []string{"assistant: " + tenWords}); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
	})
}

func tool(name string, fn func(ctx context.Context, args string) (session.ToolResult, error)) session.Tool {
	return session.ToolFunc{Def: session.ToolDefinition{Name: name, Description: name}, Fn: fn}
}

func TestToolStepsStopAtMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := &sessiontest.LLM{Respond: func(req session.ChatRequest) sessiontest.Response {
			if req.ToolChoice == session.ToolChoiceNone {
				return sessiontest.Response{Text: "Done."}
			}
			return sessiontest.Response{ToolCalls: []session.FunctionCall{{CallID: "c", Name: "again", Arguments: "{}"}}}
		}}
		calls := 0
		a := &session.Agent{Tools: []session.Tool{tool("again", func(context.Context, string) (session.ToolResult, error) {
			calls++
			return session.ToolResult{Output: "more"}, nil
		})}}
		r := newTextRig(t, llm, a)
		r.text.Send("go")
		synctest.Wait()
		reqs := llm.Requests()
		var choices []string
		for _, q := range reqs {
			choices = append(choices, q.ToolChoice.Mode)
		}
		if diff := cmp.Diff(choices, []string{"", "", "", "none"}); diff != "" {
			t.Errorf("tool choice per step (-got +want):\n%s", diff)
		}
		if calls != 3 {
			t.Errorf("tool ran %d times, want 3", calls)
		}
		h := history(r.s)
		if h[len(h)-1] != "assistant: Done." {
			t.Errorf("last item = %q, want the final words", h[len(h)-1])
		}
		if n := len(sessiontest.Of[session.FunctionToolsExecutedEvent](r.rec)); n != 3 {
			t.Errorf("tool events = %d, want 3", n)
		}
	})
}

func TestParallelToolsOneFailing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(
			sessiontest.Response{Text: "Checking.", ToolCalls: []session.FunctionCall{
				{CallID: "1", Name: "weather", Arguments: `{"city":"Paris"}`},
				{CallID: "2", Name: "broken", Arguments: `{}`},
			}},
			sessiontest.Response{Text: "Sunny in Paris."},
		)
		var both sync.WaitGroup
		both.Add(2)
		barrier := func() { both.Done(); both.Wait() } // deadlocks unless both run at once
		a := &session.Agent{Tools: []session.Tool{
			tool("weather", func(context.Context, string) (session.ToolResult, error) {
				barrier()
				return session.ToolResult{Output: "sunny"}, nil
			}),
			tool("broken", func(context.Context, string) (session.ToolResult, error) {
				barrier()
				return session.ToolResult{}, session.NewToolError("service down")
			}),
		}}
		r := newTextRig(t, llm, a)
		r.text.Send("weather?")
		synctest.Wait()
		want := []string{
			"user: weather?",
			"assistant: Checking.",
			`call weather({"city":"Paris"})`,
			"call broken({})",
			"output weather: sunny",
			"output broken: service down [error]",
			"assistant: Sunny in Paris.",
		}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
	})
}

func TestToolHandoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(
			sessiontest.Response{ToolCalls: []session.FunctionCall{{CallID: "1", Name: "transfer", Arguments: "{}"}}},
			sessiontest.Response{Text: "Billing here."},
		)
		exited := false
		billing := &session.Agent{Instructions: "you are billing"}
		billing.OnEnter = func(ctx context.Context, s *session.Session) error {
			_, err := s.GenerateReply()
			return err
		}
		front := &session.Agent{Instructions: "you are the front desk", OnExit: func(context.Context, *session.Session) error {
			exited = true
			return nil
		}}
		front.Tools = []session.Tool{tool("transfer", func(context.Context, string) (session.ToolResult, error) {
			return session.ToolResult{Handoff: billing}, nil
		})}
		r := newTextRig(t, llm, front)
		r.text.Send("my bill")
		synctest.Wait()
		if r.s.Agent() != billing {
			t.Fatal("agent not handed off")
		}
		if !exited {
			t.Error("OnExit of the old agent did not run")
		}
		reqs := llm.Requests()
		if len(reqs) != 2 {
			t.Fatalf("requests = %d, want 2", len(reqs))
		}
		if sys := reqs[1].Chat.Items[0].(*session.ChatMessage).Content; sys != "you are billing" {
			t.Errorf("second request instructions = %q", sys)
		}
		h := history(r.s)
		if h[len(h)-1] != "assistant: Billing here." {
			t.Errorf("history = %q", h)
		}
	})
}

func TestPreemptiveGenerationReused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(sessiontest.Response{Text: "Hello!"})
		r := newVoiceRig(t, llm, nil)
		r.say("hi")
		if n := len(llm.Requests()); n != 1 {
			t.Fatalf("requests before commit = %d, want 1 (preemptive)", n)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if n := len(llm.Requests()); n != 1 {
			t.Errorf("requests = %d, want the preemptive one only", n)
		}
		m := sessiontest.Of[session.MetricsEvent](r.rec)
		if len(m) != 1 || !m[0].Metrics.Preemptive {
			t.Errorf("metrics = %+v, want one preemptive reply", m)
		}
		if diff := cmp.Diff(history(r.s), []string{"user: hi", "assistant: Hello!"}); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
	})
}

func TestPreemptiveGenerationDiscarded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(
			sessiontest.Response{Text: "Stale.", TTFT: time.Hour},
			sessiontest.Response{Text: "Fresh."},
		)
		a := &session.Agent{OnUserTurnCompleted: func(_ context.Context, _ *session.ChatContext, msg *session.ChatMessage) error {
			msg.Content = strings.ToUpper(msg.Content) // the chat changed: the preemptive answer no longer fits
			return nil
		}}
		r := newVoiceRig(t, llm, a)
		r.say("hi")
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if diff := cmp.Diff(llm.Cancelled(), []error{session.ErrPreemptiveDiscarded}, cmpErrors); diff != "" {
			t.Errorf("cancel causes (-got +want):\n%s", diff)
		}
		if diff := cmp.Diff(history(r.s), []string{"user: HI", "assistant: Fresh."}); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
	})
}

func TestHookVetoesReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM()
		a := &session.Agent{OnUserTurnCompleted: func(context.Context, *session.ChatContext, *session.ChatMessage) error {
			return session.ErrStopResponse
		}}
		r := newTextRig(t, llm, a)
		r.text.Send("shh")
		synctest.Wait()
		if diff := cmp.Diff(history(r.s), []string{"user: shh"}); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
		if n := len(llm.Requests()); n != 0 {
			t.Errorf("LLM called %d times after a veto", n)
		}
	})
}

func TestLLMErrorThenRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(
			sessiontest.Response{ChatErr: sessiontest.ErrScripted},
			sessiontest.Response{Text: "Partial", StreamErr: sessiontest.ErrScripted},
			sessiontest.Response{Text: "Back."},
		)
		r := newTextRig(t, llm, nil)
		for _, s := range []string{"one", "two", "three"} {
			r.text.Send(s)
			synctest.Wait()
		}
		errs := sessiontest.Of[session.ErrorEvent](r.rec)
		if len(errs) != 2 || errs[0].Source != "llm" || errs[0].Recoverable || !errors.Is(errs[0].Err, sessiontest.ErrScripted) {
			t.Errorf("errors = %+v, want two unrecoverable llm errors", errs)
		}
		want := []string{"user: one", "user: two", "assistant: Partial", "user: three", "assistant: Back."}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
		select {
		case <-r.s.Done():
			t.Error("session closed after two errors")
		default:
		}
	})
}

func TestThreeErrorsInARowClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := &sessiontest.LLM{Respond: func(session.ChatRequest) sessiontest.Response {
			return sessiontest.Response{ChatErr: sessiontest.ErrScripted}
		}}
		r := newTextRig(t, llm, nil)
		for _, s := range []string{"one", "two", "three"} {
			r.text.Send(s)
			synctest.Wait()
		}
		<-r.s.Done()
		c := sessiontest.Of[session.CloseEvent](r.rec)
		if len(c) != 1 || c[0].Reason != session.CloseError || !errors.Is(c[0].Err, sessiontest.ErrScripted) {
			t.Errorf("close events = %+v, want one with reason error", c)
		}
	})
}

func TestCloseDuringReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(sessiontest.Response{Text: tenWords + " And more.", Hold: true})
		r := newVoiceRig(t, llm, nil, session.WithPreemptiveGeneration(false))
		if _, err := r.s.Say("Welcome."); err != nil {
			t.Fatal(err)
		}
		r.say("hi")
		time.Sleep(1500 * time.Millisecond) // mid-reply, the LLM still streaming
		if err := r.s.Close(); err != nil {
			t.Fatal(err)
		}
		c := sessiontest.Of[session.CloseEvent](r.rec)
		if len(c) != 1 || c[0].Reason != session.CloseUserInitiated {
			t.Errorf("close events = %+v", c)
		}
		if _, err := r.s.Say("late"); !errors.Is(err, session.ErrSessionClosed) {
			t.Errorf("Say after Close = %v, want ErrSessionClosed", err)
		}
		if diff := cmp.Diff(llm.Cancelled(), []error{session.ErrSessionClosed}, cmpErrors); diff != "" {
			t.Errorf("LLM cancel causes (-got +want):\n%s", diff)
		}
		h := history(r.s)
		if last := h[len(h)-1]; !strings.HasSuffix(last, "[interrupted]") {
			t.Errorf("last item = %q, want the reply cut short", last)
		}
	})
}

func TestTextInputEndDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTextRig(t, sessiontest.NewLLM(sessiontest.Response{Text: "Bye.", TTFT: time.Second}), nil)
		r.text.Send("last words")
		r.text.Close()
		<-r.s.Done()
		if diff := cmp.Diff(history(r.s), []string{"user: last words", "assistant: Bye."}); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
		c := sessiontest.Of[session.CloseEvent](r.rec)
		if len(c) != 1 || c[0].Reason != session.CloseInputEnded {
			t.Errorf("close events = %+v, want input_ended", c)
		}
	})
}
