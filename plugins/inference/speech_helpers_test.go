package inference

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/auth"

	"github.com/livekit-go/agents/session"
)

// wsGateway is a loopback LiveKit Inference gateway for /stt and /tts: it
// checks the token as the gateway would (401 otherwise), upgrades, and runs
// handle for each connection in its own goroutine. Cleanup closes every
// connection and waits for the handlers.
type wsGateway struct {
	*httptest.Server
	t      *testing.T
	handle func(c *gwConn)

	mu      sync.Mutex
	conns   []*gwConn
	headers []http.Header
	queries []string
	paths   []string
	wg      sync.WaitGroup
}

func newWSGateway(t *testing.T, handle func(c *gwConn)) *wsGateway {
	t.Helper()
	g := &wsGateway{t: t, handle: handle}
	up := websocket.Upgrader{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.headers = append(g.headers, r.Header.Clone())
		g.queries = append(g.queries, r.URL.RawQuery)
		g.paths = append(g.paths, r.URL.Path)
		g.mu.Unlock()
		if !validToken(r.Header.Get("Authorization")) {
			w.Header().Set("X-Request-Id", "req_auth")
			http.Error(w, `{"error":{"message":"invalid token"}}`, http.StatusUnauthorized)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		g.mu.Lock()
		c := &gwConn{ws: ws, n: len(g.conns) + 1, t: t}
		g.conns = append(g.conns, c)
		g.wg.Add(1)
		g.mu.Unlock()
		go func() { // exits when handle returns; Cleanup closes the socket
			defer g.wg.Done()
			defer ws.Close()
			handle(c)
		}()
	}))
	t.Cleanup(func() {
		g.mu.Lock()
		conns := g.conns
		g.mu.Unlock()
		for _, c := range conns {
			_ = c.ws.Close()
		}
		g.wg.Wait()
		g.Close()
	})
	return g
}

func validToken(h string) bool {
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return false
	}
	v, err := auth.ParseAPIToken(raw)
	if err != nil || v.APIKey() != gwTestKey {
		return false
	}
	_, grants, err := v.Verify(gwTestSecret)
	return err == nil && grants.Inference != nil && grants.Inference.Perform
}

func (g *wsGateway) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.headers)
}

func (g *wsGateway) conn(i int) *gwConn {
	g.mu.Lock()
	defer g.mu.Unlock()
	if i >= len(g.conns) {
		return nil // not upgraded yet
	}
	return g.conns[i]
}

func (g *wsGateway) header(i int) http.Header {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.headers[i]
}

func (g *wsGateway) query(i int) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.queries[i]
}

// gwConn is the server side of one connection. Its methods run on the
// handler's goroutine; errors are reported with t.Errorf.
type gwConn struct {
	ws *websocket.Conn
	n  int // 1 for the gateway's first connection
	t  *testing.T

	mu   sync.Mutex
	msgs []map[string]any // every message received, in order
}

// read returns the next message, or nil when the socket ended.
func (c *gwConn) read() map[string]any {
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Errorf("gateway got a message that is not JSON: %q", b)
		return nil
	}
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
	return m
}

// expect reads until a message of type typ, skipping input_audio and
// input_transcript. It returns nil when the socket ended first.
func (c *gwConn) expect(typ string) map[string]any {
	for {
		m := c.read()
		if m == nil {
			return nil
		}
		if m["type"] == typ {
			return m
		}
		if m["type"] != "input_audio" && m["type"] != "input_transcript" {
			c.t.Errorf("gateway conn %d: got %v while waiting for %s", c.n, m["type"], typ)
		}
	}
}

// drain reads until the socket ends.
func (c *gwConn) drain() {
	for c.read() != nil {
	}
}

func (c *gwConn) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Errorf("marshal: %v", err)
		return
	}
	_ = c.ws.WriteMessage(websocket.TextMessage, b)
}

func (c *gwConn) sendRaw(s string) { _ = c.ws.WriteMessage(websocket.TextMessage, []byte(s)) }

func (c *gwConn) received() []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]map[string]any(nil), c.msgs...)
}

// audioMsg is an output_audio message carrying pcm.
func audioMsg(pcm []byte) map[string]any {
	return map[string]any{"type": "output_audio", "audio": base64.StdEncoding.EncodeToString(pcm), "session_id": "sess_1"}
}

// speechOpts are the options every test model takes: the loopback URL,
// test credentials, short timeouts, and no logs.
func speechOpts(url string) []SpeechOption {
	return []SpeechOption{
		WithSpeechBaseURL(url),
		WithSpeechCredentials(gwTestKey, gwTestSecret),
		WithSpeechTimeouts(5*time.Second, 5*time.Second),
		WithSpeechLogger(slog.New(slog.DiscardHandler)),
	}
}

func newTestSTT(t *testing.T, url, model string, opts ...STTOption) *STTModel {
	t.Helper()
	var all []STTOption
	for _, o := range speechOpts(url) {
		all = append(all, o)
	}
	m, err := NewSTT(model, append(all, opts...)...)
	if err != nil {
		t.Fatalf("NewSTT: %v", err)
	}
	m.gw.cfg.retryDelays = [2]time.Duration{time.Millisecond, time.Millisecond}
	return m
}

func newTestTTS(t *testing.T, url, model string, opts ...TTSOption) *TTSModel {
	t.Helper()
	var all []TTSOption
	for _, o := range speechOpts(url) {
		all = append(all, o)
	}
	m, err := NewTTS(model, append(all, opts...)...)
	if err != nil {
		t.Fatalf("NewTTS: %v", err)
	}
	m.gw.cfg.retryDelays = [2]time.Duration{time.Millisecond, time.Millisecond}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// ramp is n samples of mono 16 kHz audio with distinct values.
func ramp(n, from int) session.AudioFrame {
	d := make([]int16, n)
	for i := range d {
		d[i] = int16(from + i)
	}
	return session.AudioFrame{Data: d, SampleRate: 16000, NumChannels: 1, SamplesPerChannel: n}
}

// drainSTT reads events until EOF or an error.
func drainSTT(s *STTStream) ([]STTEvent, error) {
	var evs []STTEvent
	for {
		e, err := s.RecvEvent()
		if err != nil {
			if err == io.EOF {
				return evs, nil
			}
			return evs, err
		}
		evs = append(evs, e)
	}
}

// drainTTS reads frames until EOF or an error.
func drainTTS(s session.TTSStream) ([]session.SynthesizedAudio, error) {
	var out []session.SynthesizedAudio
	for {
		a, err := s.Recv()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		out = append(out, a)
	}
}

func summarize(evs []STTEvent) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%s:%q ", e.Type, e.Text)
	}
	return strings.TrimSpace(b.String())
}
