package session_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

// TestRandomScenarios throws seeded random sequences of user speech,
// transcripts, typed turns, Says, interruptions and tool calls at a voice
// session and checks what must always hold: it closes, leaves no goroutine
// (the bubble and goleak check), ends every speech and reports close once,
// keeps the output of every function call in history, and keeps no empty
// message.
func TestRandomScenarios(t *testing.T) {
	for seed := range uint64(50) {
		synctest.Test(t, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			var calls atomic.Int64
			llm := &sessiontest.LLM{Respond: func(session.ChatRequest) sessiontest.Response {
				if calls.Add(1)%4 == 0 {
					return sessiontest.Response{Text: "Tool time. ", ToolCalls: []session.FunctionCall{{CallID: "1", Name: "t", Arguments: "{}"}}}
				}
				return sessiontest.Response{Text: "Hello there. This is a reply. With three sentences.", ChunkDelay: time.Millisecond}
			}}
			rec := &sessiontest.Recorder{}
			stt, vad := sessiontest.NewSTT(), sessiontest.NewVAD()
			in, tin := sessiontest.NewAudioInput(), sessiontest.NewTextInput()
			a := &session.Agent{Tools: []session.Tool{tool("t", func(context.Context, string) (session.ToolResult, error) {
				time.Sleep(5 * time.Millisecond)
				return session.ToolResult{Output: "x"}, nil
			})}}
			s, err := session.New(session.WithLLM(llm), session.WithSTT(stt), session.WithVAD(vad),
				session.WithTTS(&sessiontest.TTS{WordAudio: 20 * time.Millisecond}),
				session.WithMinEndpointingDelay(10*time.Millisecond), session.WithMinInterruptionDuration(10*time.Millisecond),
				session.WithFalseInterruptionTimeout(time.Duration(seed%3)*30*time.Millisecond),
				session.WithMinInterruptionWords(int(seed%4)/2), session.WithPreemptiveGeneration(seed%5 != 0),
				session.WithMaxToolSteps(int(seed%4)), session.WithEventHandler(rec.Handle))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(t.Context(), a, session.IO{Audio: in, Text: tin, AudioOut: sessiontest.NewAudioOutput(), TextOut: &sessiontest.TextOutput{}}); err != nil {
				t.Fatal(err)
			}
			for i := range 60 {
				switch rng.IntN(7) {
				case 0:
					tin.Send("hello")
				case 1:
					vad.StartOfSpeech()
				case 2:
					stt.Final("some words here")
				case 3:
					vad.EndOfSpeech()
				case 4:
					_ = s.Interrupt()
				case 5:
					stt.Interim("wait")
				case 6:
					_, _ = s.Say("Quick note.", session.AllowInterruptions(i%2 == 0))
				}
				in.Push(session.NewSilence(10*time.Millisecond, 16000, 1))
				time.Sleep(time.Duration(rng.IntN(50)) * time.Millisecond)
			}
			if seed%2 == 0 {
				_ = s.Close()
			} else {
				tin.Close()
				in.Close()
				select {
				case <-s.Done():
				case <-time.After(time.Hour): // of the bubble's clock: a hang fails at once, naming its seed
					t.Fatalf("seed %d: session still open an hour after its inputs ended", seed)
				}
			}
			for _, e := range sessiontest.Of[session.SpeechCreatedEvent](rec) {
				select {
				case <-e.Speech.Done():
				default:
					t.Errorf("seed %d: speech %s not done after close", seed, e.Speech.ID())
				}
			}
			if c := sessiontest.Of[session.CloseEvent](rec); len(c) != 1 {
				t.Errorf("seed %d: %d close events, want 1", seed, len(c))
			}
			items := s.History().Items
			for i, it := range items {
				if m, ok := it.(*session.ChatMessage); ok && strings.TrimSpace(m.Content) == "" {
					t.Errorf("seed %d: empty %s message in history", seed, m.Role)
				}
				if c, ok := it.(*session.FunctionCall); ok {
					found := false
					for _, later := range items[i+1:] {
						if o, ok := later.(*session.FunctionCallOutput); ok && o.CallID == c.CallID {
							found = true
							break
						}
					}
					if !found {
						t.Errorf("seed %d: call %s has no output in history", seed, c.ID)
					}
				}
			}
		})
	}
}
