package session_test

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

const benchReply = "Sure, I can help with that. What city are you in?"

// BenchmarkCommitToFirstAudio measures the framework's overhead from a
// committed user turn to the first audio frame handed to the output, with
// instant fakes. "session" runs the turn loop; "direct" drives the same
// fakes in straight-line code (LLM stream, sentence, TTS stream, output) as
// the baseline, so the difference is what the loop adds.
func BenchmarkCommitToFirstAudio(b *testing.B) {
	b.Run("session", func(b *testing.B) {
		// A conversation of 25 turns, then a fresh session, so history stays
		// the size of a real call instead of growing with b.N.
		const turnsPerSession = 25
		metrics := make(chan session.TurnMetrics, 1)
		var s *session.Session
		var in *sessiontest.TextInput
		start := func() {
			var err error
			s, err = session.New(
				session.WithLLM(&sessiontest.LLM{Respond: func(session.ChatRequest) sessiontest.Response {
					return sessiontest.Response{Text: benchReply}
				}}),
				session.WithTTS(&sessiontest.TTS{}),
				session.WithEventHandler(func(e session.Event) {
					if m, ok := e.(session.MetricsEvent); ok {
						metrics <- m.Metrics
					}
				}),
			)
			if err != nil {
				b.Fatal(err)
			}
			in = sessiontest.NewTextInput()
			if err := s.Start(context.Background(), &session.Agent{Instructions: "be brief"}, session.IO{Text: in, AudioOut: &sessiontest.DiscardAudioOutput{}}); err != nil {
				b.Fatal(err)
			}
		}
		var lat []time.Duration
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if n%turnsPerSession == 0 {
				if s != nil {
					_ = s.Close()
				}
				start()
			}
			n++
			in.Send("hello")
			m := <-metrics
			lat = append(lat, m.CommitToFirstOutput)
		}
		_ = s.Close()
		report(b, lat)
	})
	b.Run("direct", func(b *testing.B) {
		llm := sessiontest.NewLLM()
		tts := &sessiontest.TTS{}
		out := &sessiontest.DiscardAudioOutput{}
		ctx := context.Background()
		var lat []time.Duration
		b.ReportAllocs()
		for b.Loop() {
			start := time.Now()
			st, _ := llm.Chat(ctx, session.ChatRequest{Chat: session.NewChatContext(&session.ChatMessage{Role: session.RoleUser, Content: "hello"})})
			var text strings.Builder
			for c, err := range session.Chunks(st) {
				if err != nil {
					b.Fatal(err)
				}
				text.WriteString(c.Content)
			}
			_ = st.Close()
			ts, _ := tts.Stream(ctx)
			_ = ts.PushText(text.String())
			_ = ts.EndInput()
			a, err := ts.Recv()
			if err != nil {
				b.Fatal(err)
			}
			_ = out.CaptureFrame(ctx, a.Frame)
			lat = append(lat, time.Since(start))
			for {
				if _, err := ts.Recv(); err == io.EOF {
					break
				}
			}
			_ = ts.Close()
		}
		report(b, lat)
	})
}

func report(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
