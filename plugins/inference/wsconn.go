package inference

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The WebSocket side of the gateway, shared by STT and TTS: URL, handshake
// headers, typed handshake errors, and a connection whose reader runs in its
// own goroutine so that pings are answered and a dead socket is noticed even
// while nobody is reading.

const (
	// defaultSpeechConnectTimeout bounds the handshake (the references' 10 s).
	defaultSpeechConnectTimeout = 10 * time.Second
	// defaultSpeechIdleTimeout is the longest silence while audio or a
	// transcript is awaited (the references' conn_options.timeout).
	defaultSpeechIdleTimeout = 10 * time.Second
	// defaultSpeechMaxRetries is the references' max_retry.
	defaultSpeechMaxRetries = 3
	// wsWriteTimeout bounds one write, so a peer that stopped reading cannot
	// hold a stream forever.
	wsWriteTimeout = 10 * time.Second
	// maxWSMessage caps one incoming message: the largest legitimate one is a
	// chunk of base64 audio, well under this.
	maxWSMessage = 8 << 20
)

// speechConfig is what the options shared by STT and TTS set.
type speechConfig struct {
	baseURL        string
	apiKey         string
	apiSecret      secret
	priority       string
	logger         *slog.Logger
	maxRetries     int
	connectTimeout time.Duration
	idleTimeout    time.Duration
	dialer         *websocket.Dialer
	// retryDelays are the waits before the first retry and before each
	// later one (the references' 0.1 s and 2 s); tests shrink them.
	retryDelays [2]time.Duration
}

func defaultSpeechConfig() speechConfig {
	return speechConfig{
		logger:         slog.Default(),
		maxRetries:     defaultSpeechMaxRetries,
		connectTimeout: defaultSpeechConnectTimeout,
		idleTimeout:    defaultSpeechIdleTimeout,
		retryDelays:    [2]time.Duration{100 * time.Millisecond, 2 * time.Second},
	}
}

// SpeechOption configures both an [STTModel] and a [TTSModel]: the
// gateway, the credentials and the connection policy. It is both an
// [STTOption] and a [TTSOption].
type SpeechOption func(*speechConfig)

func (o SpeechOption) applySTT(c *sttConfig) { o(&c.speechConfig) }
func (o SpeechOption) applyTTS(c *ttsConfig) { o(&c.speechConfig) }

// WithSpeechBaseURL sets the gateway URL, overriding LIVEKIT_INFERENCE_URL.
// An http(s) URL is turned into ws(s); a ws(s) URL is used as it is.
func WithSpeechBaseURL(url string) SpeechOption {
	return func(c *speechConfig) { c.baseURL = url }
}

// WithSpeechCredentials sets the API key and secret the gateway token is
// signed with, overriding the environment.
func WithSpeechCredentials(apiKey, apiSecret string) SpeechOption {
	return func(c *speechConfig) { c.apiKey, c.apiSecret = apiKey, newSecret(apiSecret) }
}

// WithSpeechPriority sets the inference class: "priority", "standard" or
// "low" (X-LiveKit-Inference-Priority).
func WithSpeechPriority(class string) SpeechOption {
	return func(c *speechConfig) { c.priority = class }
}

// WithSpeechLogger sets the logger; the default is slog.Default().
func WithSpeechLogger(l *slog.Logger) SpeechOption {
	return func(c *speechConfig) { c.logger = l }
}

// WithSpeechMaxRetries sets how many times a connection is opened again
// after a retryable failure (default 3; 0 disables retries).
func WithSpeechMaxRetries(n int) SpeechOption {
	return func(c *speechConfig) { c.maxRetries = n }
}

// WithSpeechTimeouts sets how long the WebSocket handshake may take
// (default 10 s) and the longest silence while a result is awaited (default
// 10 s; for STT it applies from the end of input to the last transcript).
func WithSpeechTimeouts(connect, idle time.Duration) SpeechOption {
	return func(c *speechConfig) { c.connectTimeout, c.idleTimeout = connect, idle }
}

// WithSpeechDialer sets the WebSocket dialer (proxy, TLS configuration).
// Its HandshakeTimeout is replaced by the connect timeout.
func WithSpeechDialer(d *websocket.Dialer) SpeechOption {
	return func(c *speechConfig) { c.dialer = d }
}

// speechGateway dials the gateway's WebSocket endpoints. It is safe for
// concurrent use.
type speechGateway struct {
	wsBase string
	cfg    speechConfig
	tokens *tokenSource
	dialer *websocket.Dialer
}

func newSpeechGateway(cfg speechConfig) (*speechGateway, error) {
	if err := checkPolicy(cfg.priority, cfg.maxRetries, cfg.connectTimeout, cfg.idleTimeout); err != nil {
		return nil, err
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	base, err := wsBaseURL(resolveBaseURL(cfg.baseURL))
	if err != nil {
		return nil, err
	}
	// The LLM's resolver reads the same options and environment; only the
	// key and secret of its config are set.
	creds, err := resolveCredentials(config{apiKey: cfg.apiKey, apiSecret: cfg.apiSecret})
	if err != nil {
		return nil, err
	}
	d := websocket.DefaultDialer
	if cfg.dialer != nil {
		d = cfg.dialer
	}
	dc := *d
	dc.HandshakeTimeout = cfg.connectTimeout
	return &speechGateway{wsBase: base, cfg: cfg, tokens: newTokenSource(creds), dialer: &dc}, nil
}

// wsBaseURL turns the gateway's http(s) base into ws(s), leaving a ws(s)
// base as it is.
func wsBaseURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("inference: gateway URL %q: want an http, https, ws or wss URL", redactURL(base))
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return "", fmt.Errorf("inference: gateway URL %q: want an http, https, ws or wss URL", redactURL(base))
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// endpoint is the URL of path ("stt" or "tts") for model. The model is
// percent-encoded ("/" as %2F), as the Node client sends it.
func (g *speechGateway) endpoint(path, model string) string {
	return g.wsBase + "/" + path + "?model=" + url.QueryEscape(model)
}

// headers are the handshake headers (setGatewayHeaders, without a
// provider: the model string names it).
func (g *speechGateway) headers(ctx context.Context) (http.Header, error) {
	h := http.Header{}
	if err := setGatewayHeaders(ctx, h, g.tokens, "", g.cfg.priority); err != nil {
		return nil, err
	}
	return h, nil
}

// dial opens one connection and sends create, the session.create message,
// as its first frame. A failure is an *APIError (a non-101 answer), a
// *TimeoutError (no answer within the connect timeout) or a
// *ConnectionError; a cancelled ctx gives its cause.
func (g *speechGateway) dial(ctx context.Context, path, model string, create any, log *slog.Logger) (*wsConn, error) {
	h, err := g.headers(ctx)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeoutCause(ctx, g.cfg.connectTimeout, &TimeoutError{Phase: "handshake", After: g.cfg.connectTimeout})
	defer cancel()
	c, resp, err := g.dialer.DialContext(dctx, g.endpoint(path, model), h)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
			_ = resp.Body.Close()
			return nil, apiErrorFromResponse(resp, body, time.Now())
		}
		if cause := context.Cause(dctx); cause != nil {
			return nil, cause
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, &TimeoutError{Phase: "handshake", After: g.cfg.connectTimeout}
		}
		return nil, &ConnectionError{Op: "connect", Err: err}
	}
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	c.SetReadLimit(maxWSMessage)
	wc := newWSConn(c, log)
	if err := wc.writeJSON(create); err != nil {
		wc.close()
		return nil, err
	}
	return wc, nil
}

// retryDelay is the wait before retry n (1 for the first): a Retry-After
// the gateway sent, else the references' fixed delays.
func (g *speechGateway) retryDelay(n int, err error) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return min(ae.RetryAfter, retryAfterMax)
	}
	if n <= 1 {
		return g.cfg.retryDelays[0]
	}
	return g.cfg.retryDelays[1]
}

// AttemptsError is the last error of an operation that failed on every
// attempt. It is not retryable: the retries are spent.
type AttemptsError struct {
	// Attempts is how many connections were tried.
	Attempts int
	// Err is the last attempt's error.
	Err error
}

// Error names the attempts and the last error.
func (e *AttemptsError) Error() string {
	return fmt.Sprintf("inference: failed after %d attempts: %s", e.Attempts, strings.TrimPrefix(e.Err.Error(), "inference: "))
}

// Unwrap returns the last attempt's error.
func (e *AttemptsError) Unwrap() error { return e.Err }

// Retryable reports false.
func (e *AttemptsError) Retryable() bool { return false }

// ProtocolError is a message from the gateway that does not follow the
// protocol (not JSON, a field of the wrong type, bad base64). It is not
// retryable.
type ProtocolError struct {
	// Message is what was wrong.
	Message string
}

// Error says what was malformed.
func (e *ProtocolError) Error() string {
	return "inference: malformed message from gateway: " + e.Message
}

// Retryable reports false: the same server would say the same.
func (e *ProtocolError) Retryable() bool { return false }

// wsConn is a gateway WebSocket. Its reader goroutine queues every text
// message until next takes it, and answers pings; writes are serialized.
// close is idempotent, safe from any goroutine, and waits for the reader.
type wsConn struct {
	c   *websocket.Conn
	log *slog.Logger

	wmu sync.Mutex // one writer at a time, as gorilla requires

	mu    sync.Mutex
	queue [][]byte
	err   error // why the reader stopped; set once
	ready chan struct{}
	done  chan struct{} // closed when the reader exited

	closeOnce sync.Once
}

func newWSConn(c *websocket.Conn, log *slog.Logger) *wsConn {
	w := &wsConn{c: c, log: log, ready: make(chan struct{}, 1), done: make(chan struct{})}
	go w.readLoop() // exits when the socket fails or close closes it
	return w
}

func (w *wsConn) readLoop() {
	defer close(w.done)
	for {
		mt, b, err := w.c.ReadMessage()
		if err != nil {
			w.mu.Lock()
			w.err = readError(err)
			w.mu.Unlock()
			w.signal()
			return
		}
		if mt != websocket.TextMessage {
			if w.log.Enabled(context.Background(), slog.LevelDebug) {
				w.log.Debug("ignoring binary message from gateway", "bytes", len(b))
			}
			continue
		}
		w.mu.Lock()
		w.queue = append(w.queue, b)
		w.mu.Unlock()
		w.signal()
	}
}

func (w *wsConn) signal() {
	select {
	case w.ready <- struct{}{}:
	default:
	}
}

// readError classifies why the reader stopped: every way a socket ends
// mid-stream is a retryable connection error.
func readError(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return &ConnectionError{Op: "read", Err: fmt.Errorf("gateway closed the connection (%d %s)", ce.Code, ce.Text)}
	}
	return &ConnectionError{Op: "read", Err: err}
}

// poll returns the next queued message, or the reader's error once the
// queue is empty, or (nil, nil) when neither is there yet.
func (w *wsConn) poll() ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) > 0 {
		b := w.queue[0]
		w.queue[0] = nil
		w.queue = w.queue[1:]
		return b, nil
	}
	return nil, w.err
}

// unclean reports whether messages are queued or the reader stopped: a
// pooled connection in that state is not reused.
func (w *wsConn) unclean() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue) > 0 || w.err != nil
}

// writeJSON sends v as one text message.
func (w *wsConn) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("inference: encode message: %w", err)
	}
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.c.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
	if err := w.c.WriteMessage(websocket.TextMessage, b); err != nil {
		return &ConnectionError{Op: "write", Err: err}
	}
	return nil
}

// close sends a normal close frame (best effort), closes the socket and
// waits for the reader to exit.
func (w *wsConn) close() {
	w.closeOnce.Do(func() {
		_ = w.c.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = w.c.Close()
		<-w.done
	})
}
