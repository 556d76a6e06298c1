package main

import (
	"context"
	"io"
	"math"

	"github.com/livekit-go/agents/agent/worker"
)

// runDev is LiveKit's dev mode: a worker like start's that takes every job
// it is offered, logs at debug (unless -log-level says otherwise), and on
// SIGINT stops at once instead of draining.
//
// Its load is the jobs', never the CPU's: livekit-server v1.13.5 offers no
// job to a worker whose reported load is 0.7 or more, whatever the worker's
// own threshold, so on a busy development machine (a build, a browser, the
// server itself) a CPU load left rooms silently without an agent. Without
// -max-jobs the load is 0; with it, jobs/max-jobs.
func runDev(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) int {
	return runWorker(ctx, true, args, stderr, getenv)
}

// devWorkerOptions are the worker options that make dev's load limit and
// load (see runDev).
func devWorkerOptions(maxJobs int) []worker.Option {
	opts := []worker.Option{worker.WithLoadThreshold(math.Inf(1))}
	if maxJobs == 0 {
		opts = append(opts, worker.WithLoad(func() float64 { return 0 }))
	}
	return opts
}
