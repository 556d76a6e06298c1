package telemetry_test

import (
	"context"
	"log"

	"github.com/livekit-go/agents/agent/roomio"
	"github.com/livekit-go/agents/agent/telemetry"
	"github.com/livekit-go/agents/agent/worker"
)

// The sessions' metrics served at the worker's /metrics with its own: the
// worker collects them, and every job's session events go to Observe.
func Example() {
	sm := telemetry.NewSessionMetrics()
	var setup roomio.SetupFunc // the agent's, as usual
	observed := func(ctx context.Context, job *worker.Job) (*roomio.Spec, error) {
		spec, err := setup(ctx, job)
		if err != nil {
			return nil, err
		}
		spec.OnEvent = sm.Chain(spec.OnEvent)
		return spec, nil
	}
	w, err := worker.New("ws://127.0.0.1:7880", "devkey", "secret", roomio.EntryPoint(observed),
		worker.WithCollectors(sm), worker.WithHTTPAddr("127.0.0.1:8081"))
	if err != nil {
		log.Fatal(err)
	}
	_ = w // w.RunAndDrain(ctx, timeout) serves / and /metrics while it runs
}
