package inference

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"

	"github.com/livekit-go/agents/session"
)

// sttScript serves one utterance: after 100 ms of audio it speaks, then it
// answers session.finalize with an empty final and closes the session.
func sttScript(c *gwConn) {
	if c.expect("session.create") == nil {
		return
	}
	var got int
	for got < 3200 {
		m := c.expect("input_audio")
		if m == nil {
			return
		}
		b, _ := base64.StdEncoding.DecodeString(m["audio"].(string))
		got += len(b)
	}
	c.send(map[string]any{"type": "session.created", "session_id": "sess_1"})
	c.send(map[string]any{"type": "start_of_speech"})
	c.send(map[string]any{"type": "interim_transcript", "transcript": ""})
	c.send(map[string]any{"type": "interim_transcript", "transcript": "hel", "start": 0.1, "duration": 0.2})
	c.send(map[string]any{"type": "preflight_transcript", "transcript": "hello"})
	c.send(map[string]any{"type": "some_future_event", "x": 1})
	c.send(map[string]any{"type": "final_transcript", "transcript": "hello world", "language": "en",
		"start": 0.5, "duration": 1.5, "confidence": 0.9, "speaker_id": "S1",
		"words": []any{map[string]any{"word": "hello", "start": 0.5, "end": 1.0, "confidence": 0.95}},
		"extra": map[string]any{"k": "v"}})
	for { // the client may also close instead of finalizing
		m := c.read()
		if m == nil || m["type"] == "session.close" {
			return
		}
		if m["type"] == "session.finalize" {
			break
		}
	}
	c.send(map[string]any{"type": "session.finalized"})
	c.send(map[string]any{"type": "final_transcript", "transcript": ""})
	c.send(map[string]any{"type": "session.closed"})
	c.drain()
}

func TestSTTTranscripts(t *testing.T) {
	gw := newWSGateway(t, sttScript)
	m := newTestSTT(t, gw.URL, "deepgram/nova-3:en_us", WithSTTKeyterms("LiveKit"),
		WithSTTModelOptions(STTModelOptions{Punctuate: new(false), Extra: map[string]any{"x_custom": 1}}))
	st, err := m.Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*STTStream)
	defer s.Close()
	for i := range 10 { // 100 ms in 10 ms frames
		if err := s.Push(ramp(160, i*160)); err != nil {
			t.Fatal(err)
		}
	}
	var evs []STTEvent
	for len(evs) < 5 {
		e, err := s.RecvEvent()
		if err != nil {
			t.Fatalf("RecvEvent: %v (after %s)", err, summarize(evs))
		}
		evs = append(evs, e)
	}
	if err := s.EndInput(); err != nil {
		t.Fatal(err)
	}
	rest, err := drainSTT(s)
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	evs = append(evs, rest...)
	want := `start_of_speech:"" interim_transcript:"hel" preflight_transcript:"hello" final_transcript:"hello world" end_of_speech:"" final_transcript:""`
	if got := summarize(evs); got != want {
		t.Fatalf("events:\n got %s\nwant %s", got, want)
	}
	fin := evs[3]
	if fin.Language != "en" || fin.Confidence != 0.9 || fin.SpeakerID != "S1" || fin.RequestID != "sess_1" ||
		fin.Extra["k"] != "v" || len(fin.Words) != 1 || fin.Words[0].Word != "hello" {
		t.Errorf("final = %+v", fin)
	}
	if fin.End-fin.Start != 1500*time.Millisecond || fin.Start < 500*time.Millisecond {
		t.Errorf("final times %v..%v", fin.Start, fin.End)
	}
	if fin.AudioDuration != 100*time.Millisecond {
		t.Errorf("usage %v, want 100ms", fin.AudioDuration)
	}
	if evs[1].Confidence != 1 {
		t.Errorf("interim confidence %v, want the default 1", evs[1].Confidence)
	}
	if _, err := s.RecvEvent(); err != io.EOF {
		t.Errorf("after EOF: %v", err)
	}

	// The wire: the URL, headers and the client's messages.
	if q := gw.query(0); q != "model=deepgram%2Fnova-3" {
		t.Errorf("query %q", q)
	}
	h := gw.header(0)
	if h.Get("User-Agent") != userAgent {
		t.Errorf("User-Agent %q", h.Get("User-Agent"))
	}
	msgs := gw.conn(0).received()
	wantCreate := map[string]any{
		"type":  "session.create",
		"model": "deepgram/nova-3",
		"settings": map[string]any{
			"sample_rate": "16000", "encoding": "pcm_s16le", "language": "en-US",
			"extra": map[string]any{"punctuate": false, "x_custom": float64(1), "keyterm": []any{"LiveKit"}},
		},
		"connection": map[string]any{"timeout": float64(5), "retries": float64(3)},
	}
	if d := cmp.Diff(msgs[0], wantCreate); d != "" {
		t.Errorf("session.create (-got +want):\n%s", d)
	}
	var pcm []byte
	for _, m := range msgs[1:] {
		if m["type"] != "input_audio" {
			break
		}
		b, _ := base64.StdEncoding.DecodeString(m["audio"].(string))
		if len(b) != 1600 {
			t.Errorf("input_audio of %d bytes, want 1600 (50 ms)", len(b))
		}
		pcm = append(pcm, b...)
	}
	if len(pcm) != 3200 || pcm[2] != 1 || pcm[3] != 0 || pcm[3198] != byte(1599&0xff) {
		t.Errorf("audio on the wire: %d bytes", len(pcm))
	}
}

func TestSTTRecvMapsToSessionEvents(t *testing.T) {
	gw := newWSGateway(t, sttScript)
	m := newTestSTT(t, gw.URL, "deepgram/flux-general-en")
	st, err := m.Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 10 {
		_ = st.Push(ramp(160, i))
	}
	var got []session.SpeechEventType
	for len(got) < 5 {
		ev, err := st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Type)
	}
	want := []session.SpeechEventType{session.SpeechStarted, session.SpeechInterim, session.SpeechInterim, session.SpeechFinal, session.SpeechEnded}
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("(-got +want):\n%s", d)
	}
}

// TestSTTTwoTurnsOneConnection: the stream (and its socket) lasts across
// the user's turns.
func TestSTTTwoTurnsOneConnection(t *testing.T) {
	gw := newWSGateway(t, func(c *gwConn) {
		c.expect("session.create")
		for _, text := range []string{"first", "second"} {
			c.expect("input_audio")
			c.send(map[string]any{"type": "final_transcript", "transcript": text})
		}
		c.drain()
	})
	m := newTestSTT(t, gw.URL, "deepgram/nova-3")
	st, err := m.Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, want := range []string{"first", "second"} {
		_ = st.Push(ramp(800, 0)) // 50 ms: one message
		for {
			ev, err := st.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type == session.SpeechFinal {
				if ev.Text != want {
					t.Fatalf("final %q, want %q", ev.Text, want)
				}
				break
			}
		}
	}
	if n := gw.count(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

func TestSTTServerErrorIsTyped(t *testing.T) {
	for _, tc := range []struct {
		name      string
		code      any
		status    int
		retryable bool
	}{
		{"limit", 429, 429, true},
		{"inactivity", 2007, 0, true},
		{"bad request", 400, 400, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := newWSGateway(t, func(c *gwConn) {
				c.expect("session.create")
				c.send(map[string]any{"type": "error", "message": "nope", "code": tc.code, "category": "MaxConcurrentGatewaySTT"})
				c.drain()
			})
			m := newTestSTT(t, gw.URL, "deepgram/nova-3", WithSpeechMaxRetries(0))
			st, err := m.Stream(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			_, err = st.Recv()
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if ae.Status != tc.status || ae.Message != "nope" || !ae.InStream {
				t.Errorf("APIError %+v", ae)
			}
			if ae.Retryable() != tc.retryable {
				t.Errorf("Retryable() = %v, want %v", ae.Retryable(), tc.retryable)
			}
			if tc.retryable {
				var at *AttemptsError
				if !errors.As(err, &at) || at.Retryable() || at.Attempts != 1 {
					t.Errorf("err = %v, want an AttemptsError after 1 attempt", err)
				}
			}
		})
	}
}

// TestSTTReconnects: a socket closed (or an error sent) mid-stream is
// followed by a new connection that carries on; the audio pushed meanwhile
// is not lost.
func TestSTTReconnects(t *testing.T) {
	for _, fault := range []string{"close", "error", "session.closed"} {
		t.Run(fault, func(t *testing.T) {
			gw := newWSGateway(t, func(c *gwConn) {
				c.expect("session.create")
				c.expect("input_audio")
				if c.n == 1 {
					switch fault {
					case "error":
						c.send(map[string]any{"type": "error", "message": "upstream hiccup", "code": 500})
						c.drain()
					case "session.closed":
						c.send(map[string]any{"type": "session.closed"})
						c.drain()
					}
					return // "close": the socket goes away
				}
				c.send(map[string]any{"type": "final_transcript", "transcript": "again"})
				c.drain()
			})
			m := newTestSTT(t, gw.URL, "deepgram/nova-3")
			st, err := m.Stream(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			// Audio keeps coming, as from a microphone, until the test ends.
			stop := make(chan struct{})
			pushed := make(chan struct{})
			defer func() { close(stop); <-pushed }()
			go func() { // exits when stop is closed or Push fails
				defer close(pushed)
				for {
					select {
					case <-stop:
						return
					default:
					}
					if st.Push(ramp(800, 0)) != nil {
						return
					}
					time.Sleep(time.Millisecond) // pacing only
				}
			}()
			for {
				ev, err := st.Recv()
				if err != nil {
					t.Fatal(err)
				}
				if ev.Type == session.SpeechFinal {
					if ev.Text != "again" {
						t.Fatalf("final %q", ev.Text)
					}
					break
				}
			}
			if n := gw.count(); n != 2 {
				t.Errorf("%d connections, want 2", n)
			}
		})
	}
}

func TestSTTCloseWithoutRetriesSurfacesError(t *testing.T) {
	gw := newWSGateway(t, func(c *gwConn) {
		c.expect("session.create")
		c.expect("input_audio")
	})
	m := newTestSTT(t, gw.URL, "deepgram/nova-3", WithSpeechMaxRetries(0))
	st, err := m.Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_ = st.Push(ramp(800, 0))
	_, err = st.Recv()
	var ce *ConnectionError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *ConnectionError inside", err)
	}
	if retryable(err) {
		t.Errorf("retries spent, but the error says retryable: %v", err)
	}
	if err := st.Push(ramp(800, 0)); err == nil {
		t.Errorf("Push after the stream failed: nil error")
	}
}

func TestSTTBadAuth(t *testing.T) {
	gw := newWSGateway(t, func(c *gwConn) { t.Error("upgraded with a bad token") })
	m, err := NewSTT("deepgram/nova-3", WithSpeechBaseURL(gw.URL), WithSpeechCredentials(gwTestKey, "wrong-secret-wrong-secret-wrong-secret"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.Recv()
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Retryable() || ae.RequestID != "req_auth" {
		t.Fatalf("err = %v, want a non-retryable 401", err)
	}
	if n := gw.count(); n != 1 {
		t.Errorf("%d handshakes, want 1 (401 is not retried)", n)
	}
	if msg := err.Error(); strings.Contains(msg, "wrong-secret") || strings.Contains(msg, gwTestSecret) {
		t.Errorf("error leaks the secret: %s", msg)
	}
}

func TestSTTMalformedMessage(t *testing.T) {
	for name, raw := range map[string]string{
		"not json":   `{"type":`,
		"wrong type": `{"type":"final_transcript","transcript":42}`,
	} {
		t.Run(name, func(t *testing.T) {
			gw := newWSGateway(t, func(c *gwConn) {
				c.expect("session.create")
				c.sendRaw(raw)
				c.drain()
			})
			m := newTestSTT(t, gw.URL, "deepgram/nova-3")
			st, err := m.Stream(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			_, err = st.Recv()
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ProtocolError", err)
			}
			if gw.count() != 1 {
				t.Errorf("a malformed message was retried")
			}
		})
	}
}

// TestSTTCloseAndCancelDuringRecv: a blocked Recv returns at once, and the
// stream's goroutines are gone (TestMain's goleak checks).
func TestSTTCloseAndCancelDuringRecv(t *testing.T) {
	silent := func(c *gwConn) {
		for c.read() != nil {
		}
	}
	t.Run("close", func(t *testing.T) {
		gw := newWSGateway(t, silent)
		st, err := newTestSTT(t, gw.URL, "deepgram/nova-3").Stream(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { _, err := st.Recv(); errc <- err }()
		_ = st.Push(ramp(800, 0))
		sawType := func(typ string) func() bool {
			return func() bool {
				c := gw.conn(0)
				if c == nil {
					return false
				}
				for _, m := range c.received() {
					if m["type"] == typ {
						return true
					}
				}
				return false
			}
		}
		waitFor(t, sawType("input_audio"))
		_ = st.Close()
		if err := <-errc; !errors.Is(err, session.ErrStreamClosed) {
			t.Errorf("Recv after Close: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := st.Push(ramp(10, 0)); !errors.Is(err, session.ErrStreamClosed) {
			t.Errorf("Push after Close: %v", err)
		}
		waitFor(t, sawType("session.close")) // the gateway was told
	})
	t.Run("cancel", func(t *testing.T) {
		gw := newWSGateway(t, silent)
		ctx, cancel := context.WithCancel(t.Context())
		st, err := newTestSTT(t, gw.URL, "deepgram/nova-3").Stream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		errc := make(chan error, 1)
		go func() { _, err := st.Recv(); errc <- err }()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Recv after cancel: %v", err)
		}
	})
}

// waitFor polls cond (a state, not a duration) until it holds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 5000 {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("condition never held")
}

func TestSTTEndInputThenSocketCloseIsEOF(t *testing.T) {
	gw := newWSGateway(t, func(c *gwConn) {
		c.expect("session.create")
		c.expect("session.finalize")
		c.send(map[string]any{"type": "final_transcript", "transcript": "bye"})
		// and the socket closes without session.closed
	})
	st, err := newTestSTT(t, gw.URL, "deepgram/nova-3").Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_ = st.Push(ramp(100, 0))
	_ = st.EndInput()
	evs, err := drainSTT(st.(*STTStream))
	if err != nil {
		t.Fatal(err)
	}
	if got := summarize(evs); got != `start_of_speech:"" final_transcript:"bye" end_of_speech:""` {
		t.Errorf("events %s", got)
	}
	if err := st.Push(ramp(10, 0)); err == nil {
		t.Error("Push after EndInput: nil error")
	}
}

// TestSTTFlush: Flush sends the partial chunk at once; only Speechmatics
// real-time models also get session.finalize.
func TestSTTFlush(t *testing.T) {
	for _, tc := range []struct {
		model    string
		finalize bool
	}{{"deepgram/nova-3", false}, {"speechmatics/enhanced", true}, {"speechmatics/linden-1", false}} {
		t.Run(tc.model, func(t *testing.T) {
			got := make(chan []string, 1)
			gw := newWSGateway(t, func(c *gwConn) {
				c.expect("session.create")
				var types []string
				for {
					m := c.read()
					if m == nil {
						got <- types
						return
					}
					typ := m["type"].(string)
					if typ == "input_audio" {
						b, _ := base64.StdEncoding.DecodeString(m["audio"].(string))
						typ += "/" + strconv.Itoa(len(b)/2)
					}
					types = append(types, typ)
					if (typ == "input_audio/200" && !tc.finalize) || typ == "session.finalize" {
						c.send(map[string]any{"type": "interim_transcript", "transcript": "seen"})
					}
					if typ == "session.close" {
						got <- types
						c.drain()
						return
					}
				}
			})
			st, err := newTestSTT(t, gw.URL, tc.model).Stream(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			_ = st.Push(ramp(1000, 0)) // one 800-sample chunk and 200 held back
			_ = st.Flush()
			for { // until the gateway saw the flush
				ev, err := st.Recv()
				if err != nil {
					t.Fatal(err)
				}
				if ev.Type == session.SpeechInterim {
					break
				}
			}
			_ = st.Close()
			want := []string{"input_audio/800", "input_audio/200"}
			if tc.finalize {
				want = append(want, "session.finalize")
			}
			want = append(want, "session.close")
			if d := cmp.Diff(<-got, want); d != "" {
				t.Errorf("(-got +want):\n%s", d)
			}
		})
	}
}

// TestSTTFinalizationTimer: after EndInput, a gateway that neither closes
// the session nor the socket still ends the stream, once the finalization
// timer fires (shrunk here; nothing measures it).
func TestSTTFinalizationTimer(t *testing.T) {
	gw := newWSGateway(t, func(c *gwConn) {
		c.expect("session.create")
		c.expect("session.finalize")
		c.send(map[string]any{"type": "final_transcript", "transcript": "done"})
		c.expect("session.close")
		c.drain()
	})
	m := newTestSTT(t, gw.URL, "deepgram/nova-3")
	m.cfg.finalWait, m.cfg.afterFinalWait = time.Minute, time.Millisecond
	st, err := m.Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_ = st.EndInput()
	evs, err := drainSTT(st.(*STTStream))
	if err != nil || summarize(evs) != `start_of_speech:"" final_transcript:"done" end_of_speech:""` {
		t.Fatalf("%s, %v", summarize(evs), err)
	}
	// No session_id from the gateway: the stream's own id.
	if id := evs[1].RequestID; !strings.HasPrefix(id, "stt_request_") || evs[0].RequestID != id {
		t.Errorf("request ids %q, %q", evs[0].RequestID, id)
	}
}

// TestSTTAnswersPings: the gateway's keepalive pings are answered while the
// stream waits, with no application-level ping of our own.
func TestSTTAnswersPings(t *testing.T) {
	pong := make(chan string, 1)
	gw := newWSGateway(t, func(c *gwConn) {
		c.ws.SetPongHandler(func(data string) error {
			select {
			case pong <- data:
			default:
			}
			return nil
		})
		c.expect("session.create")
		_ = c.ws.WriteControl(websocket.PingMessage, []byte("keepalive"), time.Now().Add(time.Second))
		c.drain() // reading is what runs the pong handler
	})
	st, err := newTestSTT(t, gw.URL, "deepgram/nova-3").Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	select {
	case got := <-pong:
		if got != "keepalive" {
			t.Errorf("pong %q", got)
		}
	case <-t.Context().Done():
		t.Fatal("no pong")
	}
}

// TestSTTUpdate: Update is sent in order with the audio, and a reconnection
// carries it in its session.create.
func TestSTTUpdate(t *testing.T) {
	creates := make(chan map[string]any, 2)
	gw := newWSGateway(t, func(c *gwConn) {
		creates <- c.expect("session.create")
		if c.n == 1 {
			m := c.expect("session.update")
			if d := cmp.Diff(m, map[string]any{"type": "session.update", "settings": map[string]any{
				"language": "es", "extra": map[string]any{"eot_threshold": 0.8}}}); d != "" {
				t.Errorf("session.update (-got +want):\n%s", d)
			}
			return // the socket drops
		}
		c.send(map[string]any{"type": "final_transcript", "transcript": "hola"})
		c.drain()
	})
	st, err := newTestSTT(t, gw.URL, "deepgram/flux-general-multi:en").Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*STTStream)
	if err := s.Update(STTUpdate{Options: map[string]any{"eot_threshold": 2}}); err == nil || !strings.Contains(err.Error(), "eot_threshold") {
		t.Errorf("invalid update: %v", err)
	}
	if err := s.Update(STTUpdate{Language: "spanish", Options: map[string]any{"eot_threshold": 0.8}}); err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == session.SpeechFinal {
			break
		}
	}
	<-creates
	second := <-creates
	settings := second["settings"].(map[string]any)
	if settings["language"] != "es" || settings["extra"].(map[string]any)["eot_threshold"] != 0.8 {
		t.Errorf("reconnection's settings %v", settings)
	}
}

// TestSTTQueueIsCapped: audio pushed while no connection takes it is held
// up to 30 s; older audio is dropped first, EndInput never.
func TestSTTQueueIsCapped(t *testing.T) {
	s := &STTStream{inReady: make(chan struct{}, 1), out: newOutbox[STTEvent](), closed: make(chan struct{})}
	for i := range 40 { // 40 s
		if err := s.enqueue(sttCmd{kind: cmdAudio, samples: make([]int16, 16000)}); err != nil {
			t.Fatalf("second %d: %v", i, err)
		}
	}
	if err := s.enqueue(sttCmd{kind: cmdEnd}); err != nil {
		t.Fatal(err)
	}
	in := s.takeInput()
	if got := len(in); got != 31 || in[30].kind != cmdEnd {
		t.Fatalf("%d commands queued, last %v; want 30 s of audio then the end", got, in[len(in)-1].kind)
	}
}
