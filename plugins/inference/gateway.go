package inference

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/livekit-go/agents/session"
)

// Gateway URLs used when neither WithBaseURL nor LIVEKIT_INFERENCE_URL say.
const (
	defaultGatewayURL = "https://agent-gateway.livekit.cloud/v1"
	stagingGatewayURL = "https://agent-gateway.staging.livekit.cloud/v1"
)

// gateway sends requests to LiveKit Inference: go-openai's streaming client
// over a tuned transport, with the gateway's auth, headers, timeouts and
// retries. It is safe for concurrent use.
type gateway struct {
	baseURL     string
	provider    string
	priority    string
	hc          *http.Client
	client      *openai.Client
	tokens      *tokenSource
	logger      *slog.Logger
	onMetrics   func(Metrics)
	maxRetries  int
	firstByte   time.Duration
	idleTimeout time.Duration
	backoffBase time.Duration
	// drainWait bounds how long the end of an HTTP/1.1 body is awaited
	// after [DONE] (see watchedBody.drain); tests lengthen it.
	drainWait time.Duration
}

// defaultDrainWait is drainWait's default: a server ends the body right
// after [DONE]; one that does not costs at most this at the end of the
// stream, and then its connection.
const defaultDrainWait = 50 * time.Millisecond

// newGateway resolves the URL and credentials (options, then environment)
// and builds the HTTP stack.
func newGateway(cfg config) (*gateway, error) {
	base := resolveBaseURL(cfg.baseURL)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("inference: gateway URL %q: want an http or https URL", redactURL(base))
	}
	creds, err := resolveCredentials(cfg)
	if err != nil {
		return nil, err
	}
	g := &gateway{
		baseURL:     strings.TrimRight(base, "/"),
		provider:    cfg.provider,
		priority:    cfg.priority,
		hc:          cfg.httpClient,
		tokens:      newTokenSource(creds),
		logger:      cfg.logger,
		onMetrics:   cfg.onMetrics,
		maxRetries:  cfg.maxRetries,
		firstByte:   cfg.firstByte,
		idleTimeout: cfg.idleTimeout,
		backoffBase: defaultBackoffBase,
		drainWait:   defaultDrainWait,
	}
	if g.logger == nil {
		g.logger = slog.Default()
	}
	if g.hc == nil {
		g.hc = &http.Client{Transport: newTransport()}
	}
	oc := openai.DefaultConfig("") // the token is set per request by the doer
	oc.BaseURL = g.baseURL
	oc.HTTPClient = gatewayDoer{g}
	// go-openai counts blank lines and SSE comments (keep-alives) between two
	// events and fails past the limit; silence is the idle timer's job.
	oc.EmptyMessagesLimit = math.MaxUint
	g.client = openai.NewClientWithConfig(oc)
	return g, nil
}

// checkPolicy checks what the LLM and the speech models configure alike:
// the inference class (X-LiveKit-Inference-Priority), the retry count and
// the two timeouts.
func checkPolicy(priority string, maxRetries int, timeouts ...time.Duration) error {
	switch priority {
	case "", "priority", "standard", "low":
	default:
		return fmt.Errorf("inference: priority %q: want priority, standard or low", priority)
	}
	if maxRetries < 0 {
		return fmt.Errorf("inference: max retries %d: must not be negative", maxRetries)
	}
	for _, d := range timeouts {
		if d <= 0 {
			return fmt.Errorf("inference: timeouts %v: all must be positive", timeouts)
		}
	}
	return nil
}

// resolveBaseURL picks the option, else LIVEKIT_INFERENCE_URL, else the
// staging or production gateway by LIVEKIT_URL.
func resolveBaseURL(opt string) string {
	if opt != "" {
		return opt
	}
	if v := os.Getenv("LIVEKIT_INFERENCE_URL"); v != "" {
		return v
	}
	if strings.Contains(os.Getenv("LIVEKIT_URL"), ".staging.livekit.cloud") {
		return stagingGatewayURL
	}
	return defaultGatewayURL
}

// setHeaders puts auth and the gateway headers on req (setGatewayHeaders).
func (g *gateway) setHeaders(req *http.Request) error {
	return setGatewayHeaders(req.Context(), req.Header, g.tokens, g.provider, g.priority)
}

// send opens the stream of r: its first attempt (and retries) happen here,
// so that an HTTP error is returned by Chat rather than by the first Recv.
func (g *gateway) send(ctx context.Context, r *Request) (session.LLMStream, error) {
	s := &stream{
		g: g, ctx: ctx, model: r.Model, start: time.Now(), closed: make(chan struct{}),
		extras: setExtras(r.Options.ExtraHeaders, r.Options.ExtraQuery),
	}
	if r.Options.N != nil {
		s.n = *r.Options.N
	}
	body, err := buildBody(r)
	if err != nil {
		s.finish(err)
		return nil, err
	}
	s.body = body
	if err := s.open(nil); err != nil {
		s.finish(err)
		return nil, err
	}
	return s, nil
}

// prewarm opens a connection to the gateway (GET /models) so that the first
// request finds it idle in the pool. It waits at most the first-byte
// timeout.
func (g *gateway) prewarm(ctx context.Context) error {
	ctx, cancel := context.WithTimeoutCause(ctx, g.firstByte, &TimeoutError{Phase: "first byte", After: g.firstByte})
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.baseURL+"/models", nil)
	if err != nil {
		return fmt.Errorf("inference: prewarm: %w", err)
	}
	if err := g.setHeaders(req); err != nil {
		return err
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return cause
		}
		return &ConnectionError{Op: "connect", Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode >= 300 {
		return apiErrorFromResponse(resp, b, time.Now())
	}
	// Drain what is left (a long model list) so the connection goes back to
	// the pool instead of being closed.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return nil
}
