package session_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

// Behaviour 13: TTS time to first byte is measured from each step's own
// first text, so a reply with a tool step reports the TTS's latency, not
// the tool's.
func TestTTSTimeToFirstByteIsPerStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(
			sessiontest.Response{Text: "Checking.", ToolCalls: []session.FunctionCall{{CallID: "1", Name: "slow", Arguments: "{}"}}},
			sessiontest.Response{Text: "Done."},
		)
		a := &session.Agent{Tools: []session.Tool{tool("slow", func(context.Context, string) (session.ToolResult, error) {
			time.Sleep(5 * time.Second)
			return session.ToolResult{Output: "ok"}, nil
		})}}
		r := newVoiceRig(t, llm, a, session.WithPreemptiveGeneration(false))
		r.tts.TTFB = 100 * time.Millisecond
		r.say("go")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		m := sessiontest.Of[session.MetricsEvent](r.rec)
		if len(m) != 1 {
			t.Fatalf("metrics events = %d, want 1", len(m))
		}
		if got := m[0].Metrics.TTSTTFB; got != 100*time.Millisecond {
			t.Errorf("TTS TTFB = %v, want 100ms", got)
		}
	})
}

// Behaviour 14: a long answer without a sentence end reaches TTS in pieces
// as it streams (the splitter cuts at a length bound and does linear work),
// not all at once when the LLM ends.
func TestSentenceSplittingIsLinear(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		deltas := make([]string, 20000)
		for i := range deltas {
			deltas[i] = "word, "
			if i%2 == 0 {
				deltas[i] = "word "
			}
		}
		llm := sessiontest.NewLLM(sessiontest.Response{Deltas: deltas, ChunkDelay: time.Millisecond}) // 20 s of streaming
		r := newVoiceRig(t, llm, nil, session.WithPreemptiveGeneration(false))
		r.tts.WordAudio = time.Millisecond
		r.say("talk")
		time.Sleep(500 * time.Millisecond) // commit
		synctest.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		segs := r.tts.Segments()
		if len(segs) == 0 {
			t.Fatal("nothing reached TTS after 1 s of an unterminated answer")
		}
		for _, s := range segs {
			if n := len(s); n > 400 {
				t.Errorf("segment of %d bytes, want pieces of a bounded length", n)
			}
			if strings.HasPrefix(s, ",") {
				t.Errorf("segment %q starts with the comma of the last one", s)
			}
		}
		if err := r.s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
