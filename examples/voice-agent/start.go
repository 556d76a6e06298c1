package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/livekit-go/agents/agent/roomio"
	"github.com/livekit-go/agents/agent/telemetry"
	"github.com/livekit-go/agents/agent/worker"
)

// defaultHTTPAddr is where start and dev serve the health check and the
// metrics unless -http-addr says otherwise (LiveKit Agents' port).
const defaultHTTPAddr = "127.0.0.1:8081"

// runStart runs the agent as a worker of LiveKit dispatch until ctx ends
// (SIGINT or SIGTERM), then drains: no new jobs, running ones get
// -drain-timeout to finish. A second signal exits at once.
func runStart(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) int {
	return runWorker(ctx, false, args, stderr, getenv)
}

// runWorker is start, or dev (see dev.go) when dev is set.
func runWorker(ctx context.Context, dev bool, args []string, stderr io.Writer, getenv func(string) string) int {
	name := "start"
	if dev {
		name = "dev"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var vf voiceFlags
	vf.register(fs)
	agentName := fs.String("agent-name", "", "agent name for explicit dispatch (default: every new room)")
	httpAddr := fs.String("http-addr", defaultHTTPAddr, "serve the health check (GET /) and Prometheus metrics (GET /metrics) here; empty: off")
	var (
		maxJobs       *int
		drain         *time.Duration
		loadThreshold *float64
	)
	if dev {
		maxJobs = fs.Int("max-jobs", 0, "most jobs at once (0: no limit); the load reported is then jobs/max-jobs, and livekit-server offers nothing at 0.7 and above")
	} else {
		maxJobs = fs.Int("max-jobs", 0, "most jobs at once (0: no limit; the CPU load decides)")
		drain = fs.Duration("drain-timeout", 10*time.Minute, "how long running jobs may go on after SIGTERM")
		loadThreshold = fs.Float64("load-threshold", worker.DefaultLoadThreshold,
			"load (CPU use against the container's quota averaged over 2.5 s, or jobs/max-jobs) at which the worker takes no more jobs; livekit-server offers none at 0.7 and above whatever this is")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if dev && !flagGiven(fs, "log-level") {
		vf.logLevel = "debug"
	}
	log, err := vf.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "voice-agent: %v\n", err)
		return 2
	}
	v, code := prepareVoice(&vf, getenv, log)
	if v == nil {
		return code
	}
	sm := telemetry.NewSessionMetrics()
	opts := []worker.Option{worker.WithLogger(log), worker.WithHTTPAddr(*httpAddr), worker.WithCollectors(sm)}
	if *agentName != "" {
		opts = append(opts, worker.WithAgentName(*agentName))
	}
	if *maxJobs > 0 {
		opts = append(opts, worker.WithMaxJobs(*maxJobs))
	}
	if dev {
		opts = append(opts, devWorkerOptions(*maxJobs)...)
	} else {
		opts = append(opts, worker.WithLoadThreshold(*loadThreshold))
	}
	w, err := worker.New(v.url, v.key, v.secret, roomio.EntryPoint(observeSessions(v.setup, sm)), opts...)
	if err != nil {
		v.close()
		log.Error("worker", "err", err)
		return 1
	}
	log.Info("worker starting", "mode", name, "url", v.url, "agent_name", *agentName)
	var timeout time.Duration
	if drain != nil {
		timeout = *drain
	}
	code, forced := serveWorker(ctx, w, dev, timeout, log)
	if !forced {
		// Forced, jobs may still be using the models: the process ends
		// with them.
		v.close()
	}
	return code
}

// serveWorker runs w until ctx ends (the first SIGINT or SIGTERM), then
// drains it (start) or stops it at once, cancelling its jobs (dev). A
// second signal meanwhile returns at once with forced set: running jobs
// are left to the process's exit.
func serveWorker(ctx context.Context, w *worker.Worker, dev bool, drain time.Duration, log *slog.Logger) (code int, forced bool) {
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	ran := make(chan error, 1)
	go func() { ran <- w.Run(runCtx) }() // exits once stopped or drained (below), or when it cannot serve
	select {
	case err := <-ran:
		return stopped(err, log), false
	case <-ctx.Done():
	}

	// The first signal arrived: from now on a signal means "exit now".
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	finished := make(chan error, 1)
	if dev {
		log.Info("stopping: running jobs are cancelled; send the signal again to exit now", "jobs", w.ActiveJobs())
		stopRun()
		go func() { finished <- <-ran }() // exits when Run returns
	} else {
		log.Info("draining: no new jobs, running ones may finish; send the signal again to exit now",
			"jobs", w.ActiveJobs(), "timeout", drain)
		go func() { // exits once the jobs ended, or were cancelled at the timeout, and Run returned
			dctx, cancel := context.WithTimeout(context.Background(), drain)
			defer cancel()
			drainErr := w.Drain(dctx)
			finished <- errors.Join(<-ran, drainErr)
		}()
	}
	select {
	case sig := <-again:
		log.Warn("second signal: exiting now; running jobs end with the process", "signal", sig.String(), "jobs", w.ActiveJobs())
		return 1, true
	case err := <-finished:
		return stopped(err, log), false
	}
}

func stopped(err error, log *slog.Logger) int {
	if errors.Is(err, syscall.EADDRINUSE) {
		// Two workers on one machine meet on the default 127.0.0.1:8081.
		log.Error("worker stopped: its health and metrics address is taken: give it another with -http-addr, or none with -http-addr ''", "err", err)
		return 1
	}
	if err != nil {
		log.Error("worker stopped", "err", err)
		return 1
	}
	log.Info("worker stopped")
	return 0
}

// observeSessions feeds every session event of the jobs setup builds to
// the sessions' metrics, before the job's own handler.
func observeSessions(setup roomio.SetupFunc, sm *telemetry.SessionMetrics) roomio.SetupFunc {
	return func(ctx context.Context, job *worker.Job) (*roomio.Spec, error) {
		spec, err := setup(ctx, job)
		if err != nil || spec == nil {
			return spec, err
		}
		spec.OnEvent = sm.Chain(spec.OnEvent)
		return spec, nil
	}
}

// flagGiven reports whether the command line set the flag name.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
