package inference

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
)

// pcmOf is n samples whose values start at from, as little-endian bytes.
func pcmOf(n, from int) []byte {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(from + i)
	}
	return pcmBytes(s)
}

// ttsScript answers every generation (input_transcript... session.flush)
// with audio: samples[i] samples for the i-th generation of the
// connection, sent in two messages split inside a sample, then done.
func ttsScript(samples ...int) func(c *gwConn) {
	return func(c *gwConn) {
		if c.expect("session.create") == nil {
			return
		}
		c.send(map[string]any{"type": "session.created", "session_id": "sess_1"})
		for gen := 0; ; gen++ {
			for {
				m := c.read()
				if m == nil {
					return
				}
				if m["type"] == "session.flush" {
					break
				}
			}
			n := samples[gen%len(samples)]
			pcm := pcmOf(n, 0)
			cut := len(pcm)/2 | 1 // odd: a sample split across messages
			c.send(audioMsg(pcm[:cut]))
			c.send(map[string]any{"type": "output_alignment", "words": []any{map[string]any{"word": "x", "start": 0, "end": 0.1}}})
			c.send(audioMsg(pcm[cut:]))
			c.send(map[string]any{"type": "done", "session_id": "sess_1"})
		}
	}
}

type segmentSummary struct {
	Text    string
	Samples int
	Frames  int
	Ends    int
}

func segments(t *testing.T, frames []session.SynthesizedAudio) []segmentSummary {
	t.Helper()
	var out []segmentSummary
	next := int16(0)
	for i, a := range frames {
		if len(out) == 0 || out[len(out)-1].Ends > 0 {
			out = append(out, segmentSummary{Text: a.Text})
			next = 0
		}
		s := &out[len(out)-1]
		if a.Text != s.Text {
			t.Errorf("frame %d: text %q inside segment %q", i, a.Text, s.Text)
		}
		f := a.Frame
		if f.SampleRate != 16000 || f.NumChannels != 1 || f.SamplesPerChannel != len(f.Data) || f.SamplesPerChannel > 320 {
			t.Errorf("frame %d: %d Hz x%d, %d samples", i, f.SampleRate, f.NumChannels, f.SamplesPerChannel)
		}
		if !a.SegmentEnd && f.SamplesPerChannel != 320 {
			t.Errorf("frame %d: %d samples, want 320 (20 ms) before the segment's end", i, f.SamplesPerChannel)
		}
		for _, v := range f.Data {
			if v != next {
				t.Errorf("frame %d: sample %d, want %d", i, v, next)
				break
			}
			next++
		}
		s.Samples += f.SamplesPerChannel
		s.Frames++
		if a.SegmentEnd {
			s.Ends++
		}
	}
	return out
}

func TestTTSAudioCarriesItsText(t *testing.T) {
	gw := newWSGateway(t, ttsScript(1000, 640))
	m := newTestTTS(t, gw.URL, "cartesia/sonic-3:voice-1", WithTTSLanguage("en_us"),
		WithTTSModelOptionsMap(map[string]any{"speed": "fast", "add_timestamps": true, "custom": "x"}))
	st, err := m.Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, sentence := range []string{"Hello there. ", "How are you?"} {
		if err := st.PushText(sentence); err != nil {
			t.Fatal(err)
		}
		if err := st.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	_ = st.Flush() // an empty segment is not synthesized
	_ = st.EndInput()
	frames, err := drainTTS(st)
	if err != nil {
		t.Fatal(err)
	}
	want := []segmentSummary{
		{Text: "Hello there. ", Samples: 1000, Frames: 4, Ends: 1},
		{Text: "How are you?", Samples: 640, Frames: 2, Ends: 1},
	}
	if d := cmp.Diff(segments(t, frames), want); d != "" {
		t.Errorf("segments (-got +want):\n%s", d)
	}

	if q := gw.query(0); q != "model=cartesia%2Fsonic-3" {
		t.Errorf("query %q", q)
	}
	msgs := gw.conn(0).received()
	extra := map[string]any{"speed": "fast", "add_timestamps": true, "custom": "x"}
	wantMsgs := []map[string]any{
		{"type": "session.create", "sample_rate": "16000", "encoding": "pcm_s16le", "extra": extra,
			"model": "cartesia/sonic-3", "voice": "voice-1", "language": "en-US",
			"connection": map[string]any{"timeout": float64(5), "retries": float64(3)}},
		{"type": "input_transcript", "transcript": "Hello there. ", "extra": extra,
			"generation_config": map[string]any{"voice": "voice-1", "model": "cartesia/sonic-3", "language": "en-US"}},
		{"type": "session.flush"},
		{"type": "input_transcript", "transcript": "How are you? ", "extra": extra,
			"generation_config": map[string]any{"voice": "voice-1", "model": "cartesia/sonic-3", "language": "en-US"}},
		{"type": "session.flush"},
	}
	if d := cmp.Diff(msgs, wantMsgs); d != "" {
		t.Errorf("wire (-got +want):\n%s", d)
	}
}

func TestTTSLongTextIsCutAtTheProviderCap(t *testing.T) {
	gw := newWSGateway(t, ttsScript(320))
	m := newTestTTS(t, gw.URL, "cartesia/sonic-3")
	st, _ := m.Stream(t.Context())
	defer st.Close()
	long := strings.Repeat("word ", 200) // 1000 bytes
	_ = st.PushText(long)
	_ = st.EndInput()
	if _, err := drainTTS(st); err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, msg := range gw.conn(0).received() {
		if msg["type"] == "input_transcript" {
			parts = append(parts, msg["transcript"].(string))
		}
	}
	if len(parts) != 3 || strings.Join(parts, "") != strings.Repeat("word ", 200) {
		t.Errorf("parts %d: %q", len(parts), parts)
	}
	for _, p := range parts {
		if len(p) > 401 {
			t.Errorf("part of %d bytes exceeds cartesia's 400", len(p))
		}
	}
}

// TestTTSPoolReuse: two replies, one connection; a pooled connection the
// gateway closed is not reused.
func TestTTSPoolReuse(t *testing.T) {
	gw := newWSGateway(t, ttsScript(320))
	m := newTestTTS(t, gw.URL, "cartesia/sonic-3")
	speak := func() {
		t.Helper()
		st, err := m.Stream(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_ = st.PushText("Hi.")
		_ = st.EndInput()
		frames, err := drainTTS(st)
		if err != nil || len(frames) != 1 {
			t.Fatalf("%d frames, %v", len(frames), err)
		}
	}
	speak()
	speak()
	if n := gw.count(); n != 1 {
		t.Fatalf("%d connections for two replies, want 1", n)
	}
	// The gateway drops the idle connection; the next reply dials again.
	_ = gw.conn(0).ws.Close()
	waitFor(t, func() bool {
		m.pool.mu.Lock()
		defer m.pool.mu.Unlock()
		return len(m.pool.idle) == 1 && m.pool.idle[0].c.unclean()
	})
	speak()
	if n := gw.count(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestTTSPrewarm(t *testing.T) {
	gw := newWSGateway(t, ttsScript(320))
	m := newTestTTS(t, gw.URL, "deepgram/aura-2:athena")
	if err := m.Prewarm(t.Context()); err != nil {
		t.Fatal(err)
	}
	st, _ := m.Stream(t.Context())
	defer st.Close()
	_ = st.PushText("Hi.")
	_ = st.EndInput()
	if _, err := drainTTS(st); err != nil {
		t.Fatal(err)
	}
	if n := gw.count(); n != 1 {
		t.Errorf("%d connections, want the prewarmed one", n)
	}
}

// TestTTSRetry: a segment that fails before any audio is sent again on a
// new connection; one that fails after some audio ends the stream.
func TestTTSRetry(t *testing.T) {
	for _, fault := range []string{"close", "error", "session.closed"} {
		t.Run(fault, func(t *testing.T) {
			ok := ttsScript(320)
			gw := newWSGateway(t, func(c *gwConn) {
				if c.n > 1 {
					ok(c)
					return
				}
				c.expect("session.create")
				c.expect("session.flush")
				switch fault {
				case "error":
					c.send(map[string]any{"type": "error", "message": "provider down", "session_id": "s"})
				case "session.closed":
					c.send(map[string]any{"type": "session.closed", "session_id": "s"})
				default:
					return
				}
				c.drain()
			})
			m := newTestTTS(t, gw.URL, "cartesia/sonic-3")
			st, _ := m.Stream(t.Context())
			defer st.Close()
			_ = st.PushText("Hi.")
			_ = st.EndInput()
			frames, err := drainTTS(st)
			if err != nil || len(frames) != 1 {
				t.Fatalf("%d frames, %v", len(frames), err)
			}
			if n := gw.count(); n != 2 {
				t.Errorf("%d connections, want 2", n)
			}
		})
	}
	t.Run("after audio", func(t *testing.T) {
		gw := newWSGateway(t, func(c *gwConn) {
			c.expect("session.create")
			c.expect("session.flush")
			c.send(audioMsg(pcmOf(700, 0)))
			c.send(map[string]any{"type": "error", "message": "provider died"})
			c.drain()
		})
		m := newTestTTS(t, gw.URL, "cartesia/sonic-3")
		st, _ := m.Stream(t.Context())
		defer st.Close()
		_ = st.PushText("Hi.")
		_ = st.EndInput()
		frames, err := drainTTS(st)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Message != "provider died" || len(frames) != 2 {
			t.Fatalf("%d frames, err %v; want 2 frames then the *APIError", len(frames), err)
		}
		if n := gw.count(); n != 1 {
			t.Errorf("%d connections: audio was already out, no retry", n)
		}
	})
	t.Run("retries spent", func(t *testing.T) {
		gw := newWSGateway(t, func(c *gwConn) {
			c.expect("session.create")
			c.expect("session.flush")
			c.send(map[string]any{"type": "error", "message": "provider down"})
			c.drain()
		})
		m := newTestTTS(t, gw.URL, "cartesia/sonic-3", WithSpeechMaxRetries(2))
		st, _ := m.Stream(t.Context())
		defer st.Close()
		_ = st.PushText("Hi.")
		_ = st.EndInput()
		_, err := drainTTS(st)
		var at *AttemptsError
		if !errors.As(err, &at) || at.Attempts != 3 || retryable(err) {
			t.Fatalf("err = %v, want an AttemptsError after 3 attempts", err)
		}
		if n := gw.count(); n != 3 {
			t.Errorf("%d connections, want 3", n)
		}
	})
}

func TestTTSBadAuth(t *testing.T) {
	gw := newWSGateway(t, func(c *gwConn) { t.Error("upgraded with a bad token") })
	m, err := NewTTS("cartesia/sonic-3", WithSpeechBaseURL(gw.URL), WithSpeechCredentials("APIother", gwTestSecret))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st, err := m.Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.Recv()
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Retryable() {
		t.Fatalf("err = %v, want a non-retryable 401", err)
	}
	if err := st.PushText("x"); !errors.As(err, &ae) {
		t.Errorf("PushText after the failure: %v", err)
	}
}

func TestTTSMalformedMessage(t *testing.T) {
	for name, raw := range map[string]string{
		"not json":   `[1,2`,
		"bad base64": `{"type":"output_audio","audio":"%%%"}`,
		"wrong type": `{"type":"output_audio","audio":7}`,
	} {
		t.Run(name, func(t *testing.T) {
			gw := newWSGateway(t, func(c *gwConn) {
				c.expect("session.create")
				c.expect("session.flush")
				c.sendRaw(raw)
				c.drain()
			})
			m := newTestTTS(t, gw.URL, "cartesia/sonic-3")
			st, _ := m.Stream(t.Context())
			defer st.Close()
			_ = st.PushText("Hi.")
			_ = st.EndInput()
			_, err := drainTTS(st)
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ProtocolError", err)
			}
		})
	}
}

func TestTTSCloseAndCancelDuringRecv(t *testing.T) {
	silent := func(c *gwConn) {
		for c.read() != nil {
		}
	}
	t.Run("close", func(t *testing.T) {
		gw := newWSGateway(t, silent)
		m := newTestTTS(t, gw.URL, "cartesia/sonic-3")
		st, _ := m.Stream(t.Context())
		_ = st.PushText("Hi.")
		_ = st.Flush()
		errc := make(chan error, 1)
		go func() { _, err := st.Recv(); errc <- err }()
		_ = st.Close()
		if err := <-errc; !errors.Is(err, session.ErrStreamClosed) {
			t.Errorf("Recv after Close: %v", err)
		}
		if err := st.PushText("x"); !errors.Is(err, session.ErrStreamClosed) {
			t.Errorf("PushText after Close: %v", err)
		}
		_ = st.Close()
	})
	t.Run("cancel", func(t *testing.T) {
		gw := newWSGateway(t, silent)
		m := newTestTTS(t, gw.URL, "cartesia/sonic-3")
		ctx, cancel := context.WithCancel(t.Context())
		st, _ := m.Stream(ctx)
		defer st.Close()
		_ = st.PushText("Hi.")
		_ = st.Flush()
		errc := make(chan error, 1)
		go func() { _, err := st.Recv(); errc <- err }()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Recv after cancel: %v", err)
		}
	})
	t.Run("idle timeout", func(t *testing.T) {
		gw := newWSGateway(t, silent)
		m := newTestTTS(t, gw.URL, "cartesia/sonic-3", WithSpeechMaxRetries(0))
		m.cfg.idleTimeout = 1 // the gateway never answers; nothing measures how long
		st, _ := m.Stream(t.Context())
		defer st.Close()
		_ = st.PushText("Hi.")
		_ = st.EndInput()
		_, err := st.Recv()
		var te *TimeoutError
		if !errors.As(err, &te) || te.Phase != "idle" {
			t.Fatalf("err = %v, want an idle *TimeoutError", err)
		}
	})
}

func TestTTSEmptyStream(t *testing.T) {
	gw := newWSGateway(t, ttsScript(320))
	m := newTestTTS(t, gw.URL, "cartesia/sonic-3")
	st, _ := m.Stream(t.Context())
	defer st.Close()
	_ = st.PushText("   ")
	_ = st.EndInput()
	frames, err := drainTTS(st)
	if err != nil || len(frames) != 0 {
		t.Fatalf("%d frames, %v", len(frames), err)
	}
}
