package session_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig is a session wired to fakes.
type rig struct {
	t     *testing.T
	s     *session.Session
	llm   *sessiontest.LLM
	stt   *sessiontest.STT
	vad   *sessiontest.VAD
	tts   *sessiontest.TTS
	in    *sessiontest.AudioInput
	text  *sessiontest.TextInput
	out   *sessiontest.AudioOutput
	tout  *sessiontest.TextOutput
	rec   *sessiontest.Recorder
	agent *session.Agent
}

func newVoiceRig(t *testing.T, llm *sessiontest.LLM, agent *session.Agent, opts ...session.Option) *rig {
	t.Helper()
	r := &rig{t: t, llm: llm, stt: sessiontest.NewSTT(), vad: sessiontest.NewVAD(), tts: &sessiontest.TTS{},
		in: sessiontest.NewAudioInput(), out: sessiontest.NewAudioOutput(), tout: &sessiontest.TextOutput{}, rec: &sessiontest.Recorder{}, agent: agent}
	if r.agent == nil {
		r.agent = &session.Agent{Instructions: "be brief"}
	}
	base := []session.Option{session.WithLLM(llm), session.WithSTT(r.stt), session.WithVAD(r.vad), session.WithTTS(r.tts), session.WithEventHandler(r.rec.Handle)}
	s, err := session.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	if err := s.Start(t.Context(), r.agent, session.IO{Audio: r.in, AudioOut: r.out, TextOut: r.tout}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return r
}

func newTextRig(t *testing.T, llm *sessiontest.LLM, agent *session.Agent, opts ...session.Option) *rig {
	t.Helper()
	r := &rig{t: t, llm: llm, text: sessiontest.NewTextInput(), tout: &sessiontest.TextOutput{}, rec: &sessiontest.Recorder{}, agent: agent}
	if r.agent == nil {
		r.agent = &session.Agent{Instructions: "be brief"}
	}
	base := []session.Option{session.WithLLM(llm), session.WithEventHandler(r.rec.Handle)}
	s, err := session.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	if err := s.Start(t.Context(), r.agent, session.IO{Text: r.text, TextOut: r.tout}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return r
}

// say plays a whole user utterance: speech, a final transcript, silence.
func (r *rig) say(text string) {
	r.vad.StartOfSpeech()
	synctest.Wait()
	r.stt.Final(text)
	synctest.Wait()
	r.vad.EndOfSpeech()
	synctest.Wait()
}

// bargeIn plays the user talking over the agent past
// min_interruption_duration (600 ms), saying text, then going quiet.
func (r *rig) bargeIn(text string) {
	r.vad.StartOfSpeech()
	time.Sleep(600 * time.Millisecond)
	r.stt.Final(text)
	r.vad.EndOfSpeech()
}

// history returns the conversation as "role: text" lines, tool items as
// "call name(args)" and "output name: text".
func history(s *session.Session) []string {
	var out []string
	for _, it := range s.History().Items {
		switch it := it.(type) {
		case *session.ChatMessage:
			line := string(it.Role) + ": " + it.Content
			if it.Interrupted {
				line += " [interrupted]"
			}
			out = append(out, line)
		case *session.FunctionCall:
			out = append(out, "call "+it.Name+"("+it.Arguments+")")
		case *session.FunctionCallOutput:
			line := "output " + it.Name + ": " + it.Output
			if it.IsError {
				line += " [error]"
			}
			out = append(out, line)
		}
	}
	return out
}

func TestTextTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTextRig(t, sessiontest.NewLLM(sessiontest.Response{Text: "Hi there. How can I help?"}, sessiontest.Response{Text: "Sure."}), nil)
		r.text.Send("hello")
		synctest.Wait()
		r.text.Send("thanks")
		synctest.Wait()
		want := []string{"user: hello", "assistant: Hi there. How can I help?", "user: thanks", "assistant: Sure."}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
		if diff := cmp.Diff(r.tout.Messages(), []string{"Hi there. How can I help?", "Sure."}); diff != "" {
			t.Errorf("text out (-got +want):\n%s", diff)
		}
		reqs := r.llm.Requests()
		if len(reqs) != 2 {
			t.Fatalf("LLM requests = %d, want 2", len(reqs))
		}
		first := reqs[1].Chat.Items[0].(*session.ChatMessage)
		if first.Role != session.RoleSystem || first.Content != "be brief" {
			t.Errorf("first item of the request = %+v, want the instructions", first)
		}
		if n := len(reqs[1].Chat.Items); n != 4 {
			t.Errorf("second request has %d items, want 4 (system + 3 turns)", n)
		}
	})
}

func TestVoiceTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newVoiceRig(t, sessiontest.NewLLM(sessiontest.Response{Text: "Hello. Nice to meet you."}), nil)
		r.say("hi")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		want := []string{"user: hi", "assistant: Hello. Nice to meet you."}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
		if diff := cmp.Diff(r.tts.Segments(), []string{"Hello.", "Nice to meet you."}); diff != "" {
			t.Errorf("TTS segments (-got +want):\n%s", diff)
		}
		var states []session.AgentState
		for _, e := range sessiontest.Of[session.AgentStateChangedEvent](r.rec) {
			states = append(states, e.New)
		}
		if diff := cmp.Diff(states, []session.AgentState{session.AgentListening, session.AgentThinking, session.AgentSpeaking, session.AgentListening}); diff != "" {
			t.Errorf("agent states (-got +want):\n%s", diff)
		}
		m := sessiontest.Of[session.MetricsEvent](r.rec)
		if len(m) != 1 {
			t.Fatalf("metrics events = %d, want 1", len(m))
		}
		if got := m[0].Metrics.EndOfUtteranceDelay; got != 500*time.Millisecond {
			t.Errorf("end of utterance delay = %v, want 500ms", got)
		}
	})
}
