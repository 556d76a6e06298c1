package inference

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/livekit-go/agents/session"
)

// Model is a LiveKit Inference LLM. It implements [session.LLM] and is safe
// for concurrent use.
type Model struct {
	model string
	cfg   config
	err   error // construction error, returned by every Chat

	persistent atomic.Pointer[ModelOptions]
	handler    Handler
	gw         *gateway
}

var _ session.LLM = (*Model)(nil)

// config is what the options set; fixed once the Model is built.
type config struct {
	provider    string
	priority    string
	baseURL     string
	apiKey      string
	apiSecret   secret
	httpClient  *http.Client
	logger      *slog.Logger
	middleware  []Middleware
	onMetrics   func(Metrics)
	maxRetries  int
	firstByte   time.Duration
	idleTimeout time.Duration
	options     ModelOptions
	optionsErr  error
}

// Option configures a Model.
type Option func(*config)

// WithProvider asks the gateway for a provider of the model
// (X-LiveKit-Inference-Provider).
func WithProvider(provider string) Option { return func(c *config) { c.provider = provider } }

// WithPriority sets the inference class: "priority", "standard" or "low"
// (X-LiveKit-Inference-Priority).
func WithPriority(class string) Option { return func(c *config) { c.priority = class } }

// WithBaseURL sets the gateway URL, overriding LIVEKIT_INFERENCE_URL.
func WithBaseURL(url string) Option { return func(c *config) { c.baseURL = url } }

// WithCredentials sets the API key and secret the gateway token is signed
// with, overriding the environment.
func WithCredentials(apiKey, apiSecret string) Option {
	return func(c *config) { c.apiKey, c.apiSecret = apiKey, newSecret(apiSecret) }
}

// WithModelOptions sets the persistent model options.
func WithModelOptions(o ModelOptions) Option {
	return func(c *config) { c.options, c.optionsErr = o, nil }
}

// WithModelOptionsMap sets the persistent model options from a map keyed as
// the parameter reference names them, the form JSON configuration takes
// (Python extra_kwargs, Node modelOptions).
func WithModelOptionsMap(m map[string]any) Option {
	return func(c *config) { c.options, c.optionsErr = ParseModelOptions(m) }
}

// WithMiddleware adds middleware after the built-in option steps and before
// the request is sent; the first given runs first.
func WithMiddleware(mw ...Middleware) Option {
	return func(c *config) { c.middleware = append(c.middleware, mw...) }
}

// WithHTTPClient sets the HTTP client. Its Timeout must be zero: a stream
// has no overall deadline (see WithTimeouts).
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithLogger sets the logger; the default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithMetrics calls fn once per request, when its stream ends.
func WithMetrics(fn func(Metrics)) Option { return func(c *config) { c.onMetrics = fn } }

// WithMaxRetries sets how many times a request is retried before its first
// chunk (default 3; 0 disables retries).
func WithMaxRetries(n int) Option { return func(c *config) { c.maxRetries = n } }

// WithTimeouts sets how long to wait for the response's first byte (default
// 10 s) and the longest silence between two chunks (default 30 s). Neither
// limits how long a healthy stream may last.
func WithTimeouts(firstByte, idle time.Duration) Option {
	return func(c *config) { c.firstByte, c.idleTimeout = firstByte, idle }
}

// LLM returns the LiveKit Inference LLM for model ("openai/gpt-4.1-mini").
// An invalid option or missing credentials do not panic: the error is
// returned by Err and by every Chat. Use NewLLM to get it at once.
func LLM(model string, opts ...Option) *Model {
	m, err := NewLLM(model, opts...)
	if err != nil {
		return &Model{model: model, err: err}
	}
	return m
}

// NewLLM is LLM returning its error.
func NewLLM(model string, opts ...Option) (*Model, error) {
	cfg := config{
		logger:      slog.Default(),
		maxRetries:  3,
		firstByte:   10 * time.Second,
		idleTimeout: 30 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if model == "" {
		return nil, fmt.Errorf("inference: model is empty")
	}
	if cfg.optionsErr != nil {
		return nil, cfg.optionsErr
	}
	if err := cfg.options.ValidateFor(model); err != nil {
		return nil, err
	}
	if err := checkPolicy(cfg.priority, cfg.maxRetries, cfg.firstByte, cfg.idleTimeout); err != nil {
		return nil, err
	}
	if cfg.httpClient != nil && cfg.httpClient.Timeout != 0 {
		return nil, fmt.Errorf("inference: http client timeout %v: must be 0, a stream has no overall deadline (use WithTimeouts)", cfg.httpClient.Timeout)
	}
	cfg.logger = cfg.logger.With("component", "inference.llm", "model", model)

	gw, err := newGateway(cfg)
	if err != nil {
		return nil, err
	}
	opt := cfg.options.clone()
	// The options live in persistent from here on; the config keeps no copy
	// of their extra headers for fmt to reach (see SecretMap).
	cfg.options = ModelOptions{}
	m := &Model{model: model, cfg: cfg, gw: gw}
	m.persistent.Store(&opt)

	// The order is DESIGN.md's: merge, model rules, validate what will be
	// sent, tool rules, then the user's steps. Only what no rule can make
	// right (Extra shadowing a typed option, a bad header name) is checked
	// before the rules.
	steps := []Middleware{
		m.mergeOptions,
		checkOptionKeys,
		m.applyModelRules,
		validateSent,
		m.warnDeprecated,
		applyToolRules,
	}
	steps = append(steps, cfg.middleware...)
	m.handler = chain(m.gw.send, steps...)
	return m, nil
}

// Model returns the model string.
func (m *Model) Model() string { return m.model }

// Provider returns the provider set with WithProvider.
func (m *Model) Provider() string { return m.cfg.provider }

// Err returns the error that made the Model unusable, or nil.
func (m *Model) Err() error { return m.err }

// ModelOptions returns a copy of the persistent model options.
func (m *Model) ModelOptions() ModelOptions {
	if p := m.persistent.Load(); p != nil {
		return p.clone()
	}
	return ModelOptions{}
}

// SetModelOptions replaces the persistent model options; requests already
// started keep the ones they began with. The options are checked as the
// model would be sent them (ModelOptions.ValidateFor).
func (m *Model) SetModelOptions(o ModelOptions) error {
	if m.err != nil {
		return m.err
	}
	if err := o.ValidateFor(m.model); err != nil {
		return err
	}
	o = o.clone()
	m.persistent.Store(&o)
	return nil
}

// Chat streams one completion. req.ModelOptions (the reference's keys) win
// over the persistent options, and req.ToolChoice and
// req.ParallelToolCalls over both.
func (m *Model) Chat(ctx context.Context, req session.ChatRequest) (session.LLMStream, error) {
	if m.err != nil {
		return nil, m.err
	}
	call, err := ParseModelOptions(req.ModelOptions)
	if err != nil {
		return nil, err
	}
	if !req.ToolChoice.IsZero() {
		tc := req.ToolChoice
		call.ToolChoice, call.AllowedTools = &tc, nil // the one tool_choice: either form
	}
	if req.ParallelToolCalls != nil {
		v := *req.ParallelToolCalls
		call.ParallelToolCalls = &v
	}
	chat := req.Chat
	if chat == nil {
		chat = &session.ChatContext{}
	}
	return m.handler(ctx, &Request{Model: m.model, Chat: chat, Tools: req.Tools, Options: call})
}

// Prewarm opens a connection to the gateway (GET /models) so that the first
// turn does not pay for it.
func (m *Model) Prewarm(ctx context.Context) error {
	if m.err != nil {
		return m.err
	}
	return m.gw.prewarm(ctx)
}

// mergeOptions makes the request's options the effective ones: the
// persistent options with the per-call ones laid over them.
func (m *Model) mergeOptions(next Handler) Handler {
	return func(ctx context.Context, r *Request) (session.LLMStream, error) {
		r.Options = m.persistent.Load().Merge(r.Options)
		return next(ctx, r)
	}
}

// checkOptionKeys rejects, before the model rules, what no rule makes
// right: Extra keys that shadow a typed option or the request's own keys,
// and extra headers that cannot be written.
func checkOptionKeys(next Handler) Handler {
	return func(ctx context.Context, r *Request) (session.LLMStream, error) {
		if err := r.Options.checkKeys(); err != nil {
			return nil, err
		}
		return next(ctx, r)
	}
}

// validateSent rejects invalid options after the model rules, so that only
// what will be sent is checked: the rules every model shares, then the
// provider's limits. An error here sends nothing.
func validateSent(next Handler) Handler {
	return func(ctx context.Context, r *Request) (session.LLMStream, error) {
		if err := r.Options.checkSent(r.Model); err != nil {
			return nil, err
		}
		return next(ctx, r)
	}
}

// applyModelRules strips or translates what the model family does not take
// (see modelRules).
func (m *Model) applyModelRules(next Handler) Handler {
	return func(ctx context.Context, r *Request) (session.LLMStream, error) {
		r.Stripped = append(r.Stripped, applyModelRules(r.Model, len(r.Tools) > 0, &r.Options)...)
		if len(r.Stripped) > 0 && m.cfg.logger.Enabled(ctx, slog.LevelDebug) {
			m.cfg.logger.DebugContext(ctx, "model options stripped for model", "stripped", r.Stripped)
		}
		return next(ctx, r)
	}
}

// applyToolRules drops tool_choice (either form) and parallel_tool_calls
// from a request without tools.
func applyToolRules(next Handler) Handler {
	return func(ctx context.Context, r *Request) (session.LLMStream, error) {
		if len(r.Tools) == 0 {
			for _, k := range []string{keyToolChoice, keyParallelToolCalls} {
				optionByKey[k].clear(&r.Options)
			}
		}
		return next(ctx, r)
	}
}
