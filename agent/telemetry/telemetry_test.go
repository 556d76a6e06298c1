package telemetry

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/livekit-go/agents/session"
)

func TestObserveCountsTurnsErrorsAndTokens(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewSessionMetrics()
	if err := reg.Register(m); err != nil {
		t.Fatal(err)
	}
	m.Observe(session.MetricsEvent{Metrics: session.TurnMetrics{
		EndOfUtteranceDelay: 600 * time.Millisecond, LLMTTFT: 150 * time.Millisecond,
		TTSTTFB: 80 * time.Millisecond, E2ELatency: 900 * time.Millisecond,
		Usage: session.Usage{PromptTokens: 120, CompletionTokens: 30, TotalTokens: 150, CachedPromptTokens: 100},
	}})
	// A greeting (Say): no user speech, no LLM.
	m.Observe(session.MetricsEvent{Metrics: session.TurnMetrics{TTSTTFB: 70 * time.Millisecond}})
	m.Observe(session.ErrorEvent{Source: "stt", Err: errors.New("x"), Recoverable: true})
	m.Observe(session.ErrorEvent{Source: "llm", Err: errors.New("y")})
	m.Observe(session.ErrorEvent{Source: "llm", Err: errors.New("z")})
	m.Observe(session.AgentStateChangedEvent{Old: session.AgentListening, New: session.AgentThinking})

	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			key := f.GetName()
			for _, l := range mt.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case mt.GetCounter() != nil:
				got[key] = mt.GetCounter().GetValue()
			case mt.GetHistogram() != nil:
				got[key+" count"] = float64(mt.GetHistogram().GetSampleCount())
				got[key+" sum"] = math.Round(mt.GetHistogram().GetSampleSum()*1000) / 1000
			}
		}
	}
	want := map[string]float64{
		"lk_agents_turn_end_of_utterance_delay_seconds count":         1,
		"lk_agents_turn_end_of_utterance_delay_seconds sum":           0.6,
		"lk_agents_turn_llm_ttft_seconds count":                       1,
		"lk_agents_turn_llm_ttft_seconds sum":                         0.15,
		"lk_agents_turn_tts_ttfb_seconds count":                       2,
		"lk_agents_turn_tts_ttfb_seconds sum":                         0.15,
		"lk_agents_turn_e2e_latency_seconds count":                    1,
		"lk_agents_turn_e2e_latency_seconds sum":                      0.9,
		"lk_agents_llm_tokens_total kind=prompt":                      120,
		"lk_agents_llm_tokens_total kind=completion":                  30,
		"lk_agents_llm_cached_tokens_total":                           100,
		"lk_agents_session_errors_total recoverable=false source=llm": 2,
		"lk_agents_session_errors_total recoverable=true source=stt":  1,
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("gathered (-got +want):\n%s", diff)
	}
}

func TestTwoSessionMetricsOnOneRegistryCollide(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(NewSessionMetrics()); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(NewSessionMetrics()); err == nil {
		t.Error("a second SessionMetrics registered beside the first: its series would collide")
	}
}

// Chain records what it is handed and passes it on, to a handler or to
// none.
func TestChainObservesThenPassesOn(t *testing.T) {
	m := NewSessionMetrics()
	var got []session.Event
	h := m.Chain(func(e session.Event) { got = append(got, e) })
	e := session.MetricsEvent{Metrics: session.TurnMetrics{E2ELatency: time.Second}}
	h(e)
	m.Chain(nil)(e)
	if len(got) != 1 {
		t.Errorf("next got %d events, want 1", len(got))
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(m); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "lk_agents_turn_e2e_latency_seconds" {
			if n := f.GetMetric()[0].GetHistogram().GetSampleCount(); n != 2 {
				t.Errorf("e2e observations %d, want 2", n)
			}
			return
		}
	}
	t.Error("no e2e histogram")
}
