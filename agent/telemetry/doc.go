// Package telemetry turns a voice session's events into Prometheus metrics,
// for the worker to serve at /metrics next to its own (agent/worker's
// WithCollectors):
//
//	lk_agents_turn_end_of_utterance_delay_seconds  histogram  end of the user's speech to the turn's commit
//	lk_agents_turn_llm_ttft_seconds                histogram  LLM request to its first token
//	lk_agents_turn_tts_ttfb_seconds                histogram  first text to TTS to its first audio
//	lk_agents_turn_e2e_latency_seconds             histogram  end of the user's speech to the first agent audio
//	lk_agents_session_errors_total{source,recoverable}  counter  errors the sessions reported (llm, stt, tts, vad, tool, io, ...)
//	lk_agents_llm_tokens_total{kind}               counter  LLM tokens: prompt, completion
//	lk_agents_llm_cached_tokens_total              counter  prompt tokens served from the provider's cache
//
// The latencies are the session's own (session.TurnMetrics, one
// MetricsEvent per reply); a stage that did not run in a turn (no STT in
// text mode) is not observed. One SessionMetrics serves every session of a
// process: feed each session's events to Observe, or make a session's
// event handler sm.Chain(handler) (a roomio.Spec's OnEvent).
//
// The package is apart from agent/worker so that the worker, which knows
// jobs and not sessions, imports neither the session nor this, and a
// program that wants no Prometheus does not link it.
package telemetry
