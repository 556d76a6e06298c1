package telemetry_test

import (
	"context"
	"log"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/livekit-go/agents/agent/roomio"
	"github.com/livekit-go/agents/agent/telemetry"
	"github.com/livekit-go/agents/agent/worker"
	"github.com/livekit-go/agents/session"
)

// The sessions' metrics served at the worker's /metrics with its own: one
// registry for both, and every job's session events fed to Observe.
func Example() {
	reg := prometheus.NewRegistry()
	sm, err := telemetry.NewSessionMetrics(reg)
	if err != nil {
		log.Fatal(err)
	}
	var setup roomio.SetupFunc // the agent's, as usual
	observed := func(ctx context.Context, job *worker.Job) (*roomio.Spec, error) {
		spec, err := setup(ctx, job)
		if err != nil {
			return nil, err
		}
		next := spec.OnEvent
		spec.OnEvent = func(e session.Event) {
			sm.Observe(e)
			if next != nil {
				next(e)
			}
		}
		return spec, nil
	}
	w, err := worker.New("ws://127.0.0.1:7880", "devkey", "secret", roomio.EntryPoint(observed),
		worker.WithRegistry(reg), worker.WithHTTPAddr("127.0.0.1:8081"))
	if err != nil {
		log.Fatal(err)
	}
	_ = w // w.RunAndDrain(ctx, timeout) serves / and /metrics while it runs
}
