package session_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

func TestTurnMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(sessiontest.Response{Text: "Hello there.", TTFT: 300 * time.Millisecond})
		r := newVoiceRig(t, llm, nil, session.WithPreemptiveGeneration(false))
		r.tts.TTFB = 100 * time.Millisecond
		r.vad.StartOfSpeech()
		synctest.Wait()
		r.vad.EndOfSpeech()
		synctest.Wait()
		time.Sleep(200 * time.Millisecond) // the final transcript comes 200 ms after speech ended
		r.stt.Final("hi")
		time.Sleep(5 * time.Second)
		synctest.Wait()
		m := sessiontest.Of[session.MetricsEvent](r.rec)
		if len(m) != 1 {
			t.Fatalf("metrics events = %d, want 1", len(m))
		}
		got := m[0].Metrics
		got.SpeechID = ""
		want := session.TurnMetrics{
			EndOfUtteranceDelay: 500 * time.Millisecond,
			TranscriptionDelay:  200 * time.Millisecond,
			LLMTTFT:             300 * time.Millisecond,
			TTSTTFB:             100 * time.Millisecond,
			E2ELatency:          900 * time.Millisecond,
			CommitToFirstOutput: 400 * time.Millisecond,
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("metrics (-got +want):\n%s", diff)
		}
	})
}

func TestMinInterruptionWords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newVoiceRig(t, sessiontest.NewLLM(sessiontest.Response{Text: tenWords}), nil,
			session.WithMinInterruptionWords(2), session.WithFalseInterruptionTimeout(0), session.WithPreemptiveGeneration(false))
		r.say("count")
		time.Sleep(time.Second)
		r.vad.StartOfSpeech()
		time.Sleep(600 * time.Millisecond)
		synctest.Wait()
		if segs := r.out.Segments(); len(segs) != 0 {
			t.Fatalf("interrupted without words: %+v", segs)
		}
		r.stt.Interim("uh")
		synctest.Wait()
		if segs := r.out.Segments(); len(segs) != 0 {
			t.Fatalf("interrupted on one word: %+v", segs)
		}
		r.stt.Interim("stop please")
		synctest.Wait()
		if segs := r.out.Segments(); len(segs) != 1 || !segs[0].Interrupted {
			t.Fatalf("playback = %+v, want interrupted on two words", segs)
		}
	})
}

func TestUserAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newVoiceRig(t, sessiontest.NewLLM(), nil, session.WithUserAwayTimeout(10*time.Second))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		var states []session.UserState
		for _, e := range sessiontest.Of[session.UserStateChangedEvent](r.rec) {
			states = append(states, e.New)
		}
		if diff := cmp.Diff(states, []session.UserState{session.UserAway}); diff != "" {
			t.Errorf("user states (-got +want):\n%s", diff)
		}
		r.vad.StartOfSpeech()
		synctest.Wait()
		if e := sessiontest.Of[session.UserStateChangedEvent](r.rec); e[len(e)-1].New != session.UserSpeaking {
			t.Errorf("user state after speech = %v, want speaking", e[len(e)-1].New)
		}
	})
}

type failingSTT struct{ err error }

func (f failingSTT) Stream(context.Context) (session.STTStream, error) { return nil, f.err }

func TestSTTErrorIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &sessiontest.Recorder{}
		s, err := session.New(session.WithLLM(sessiontest.NewLLM()), session.WithSTT(failingSTT{sessiontest.ErrScripted}), session.WithEventHandler(rec.Handle))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context(), &session.Agent{}, session.IO{Audio: sessiontest.NewAudioInput()}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		s.Close()
		errs := sessiontest.Of[session.ErrorEvent](rec)
		if len(errs) != 1 || errs[0].Source != "stt" || !errors.Is(errs[0].Err, sessiontest.ErrScripted) {
			t.Errorf("errors = %+v, want the stt one", errs)
		}
	})
}

func TestUpdateAgentAndInterrupt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(sessiontest.Response{Text: "A long answer.", Hold: true}, sessiontest.Response{Text: "Second."})
		r := newTextRig(t, llm, nil)
		r.text.Send("first")
		synctest.Wait()
		if err := r.s.Interrupt(); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		second := &session.Agent{Instructions: "second agent"}
		if err := r.s.UpdateAgent(second); err != nil {
			t.Fatal(err)
		}
		h, err := r.s.GenerateReply()
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		want := []string{"user: first", "assistant: A long answer. [interrupted]", "assistant: Second."}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
		if sys := llm.Requests()[1].Chat.Items[0].(*session.ChatMessage).Content; sys != "second agent" {
			t.Errorf("instructions after UpdateAgent = %q", sys)
		}
	})
}

func TestCloseFromATool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(sessiontest.Response{Text: "Goodbye.", ToolCalls: []session.FunctionCall{{CallID: "1", Name: "end_call", Arguments: "{}"}}})
		var s *session.Session
		a := &session.Agent{Tools: []session.Tool{tool("end_call", func(context.Context, string) (session.ToolResult, error) {
			s.CloseAsync()
			return session.ToolResult{NoReply: true}, nil
		})}}
		r := newTextRig(t, llm, a)
		s = r.s
		r.text.Send("bye")
		<-r.s.Done()
		c := sessiontest.Of[session.CloseEvent](r.rec)
		if len(c) != 1 || c[0].Reason != session.CloseUserInitiated {
			t.Errorf("close events = %+v", c)
		}
	})
}
