package telemetry

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/livekit-go/agents/session"
)

// LatencyBuckets are the histogram buckets of the turn latencies, in
// seconds: a voice turn is counted in tenths of a second up to a few
// seconds.
var LatencyBuckets = []float64{0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10}

// SessionMetrics are the Prometheus metrics of the voice sessions of a
// process (see the package documentation for the list). It is safe for
// concurrent use.
type SessionMetrics struct {
	eou, llmTTFT, ttsTTFB, e2e prometheus.Histogram
	errors                     *prometheus.CounterVec
	tokens                     *prometheus.CounterVec
	cached                     prometheus.Counter
}

// NewSessionMetrics makes the metrics. Register them where they are to be
// served: worker.WithCollectors(m), or any registry's Register.
func NewSessionMetrics() *SessionMetrics {
	hist := func(name, help string) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: LatencyBuckets})
	}
	m := &SessionMetrics{
		eou:     hist("lk_agents_turn_end_of_utterance_delay_seconds", "From the end of the user's speech to the turn's commit (endpointing)."),
		llmTTFT: hist("lk_agents_turn_llm_ttft_seconds", "From the LLM request to its first content or tool call."),
		ttsTTFB: hist("lk_agents_turn_tts_ttfb_seconds", "From the first text pushed to TTS to its first audio."),
		e2e:     hist("lk_agents_turn_e2e_latency_seconds", "From the end of the user's speech to the first agent audio handed to the output."),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lk_agents_session_errors_total",
			Help: "Errors the sessions reported, by source (llm, stt, tts, vad, turn_detector, tool, hook, io) and whether recoverable.",
		}, []string{"source", "recoverable"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lk_agents_llm_tokens_total",
			Help: "LLM tokens used by the replies, by kind: prompt, completion.",
		}, []string{"kind"}),
		cached: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lk_agents_llm_cached_tokens_total",
			Help: "Prompt tokens the provider served from its cache (a part of the prompt tokens).",
		}),
	}
	m.tokens.WithLabelValues("prompt")
	m.tokens.WithLabelValues("completion")
	return m
}

func (m *SessionMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.eou, m.llmTTFT, m.ttsTTFB, m.e2e, m.errors, m.tokens, m.cached}
}

// Describe implements prometheus.Collector.
func (m *SessionMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *SessionMetrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

var _ prometheus.Collector = (*SessionMetrics)(nil)

// Observe records what e says: a MetricsEvent's latencies and token usage,
// an ErrorEvent's source. Other events are ignored.
func (m *SessionMetrics) Observe(e session.Event) {
	switch e := e.(type) {
	case session.MetricsEvent:
		t := e.Metrics
		observe(m.eou, t.EndOfUtteranceDelay)
		observe(m.llmTTFT, t.LLMTTFT)
		observe(m.ttsTTFB, t.TTSTTFB)
		observe(m.e2e, t.E2ELatency)
		if u := t.Usage; u.PromptTokens > 0 || u.CompletionTokens > 0 || u.CachedPromptTokens > 0 {
			m.tokens.WithLabelValues("prompt").Add(float64(max(u.PromptTokens, 0)))
			m.tokens.WithLabelValues("completion").Add(float64(max(u.CompletionTokens, 0)))
			m.cached.Add(float64(max(u.CachedPromptTokens, 0)))
		}
	case session.ErrorEvent:
		src := e.Source
		if src == "" {
			src = "unknown"
		}
		m.errors.WithLabelValues(src, strconv.FormatBool(e.Recoverable)).Inc()
	}
}

// Chain returns an event handler that records each event (Observe), then
// hands it to next when next is not nil: what a session's event handler (a
// roomio.Spec's OnEvent) becomes so that its metrics are served,
//
//	spec.OnEvent = sm.Chain(spec.OnEvent)
func (m *SessionMetrics) Chain(next func(session.Event)) func(session.Event) {
	return func(e session.Event) {
		m.Observe(e)
		if next != nil {
			next(e)
		}
	}
}

// observe records d, unless the stage did not run (zero) or the value is
// not a duration (negative).
func observe(h prometheus.Histogram, d time.Duration) {
	if d > 0 {
		h.Observe(d.Seconds())
	}
}
