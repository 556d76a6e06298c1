package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/livekit-go/agents/agent/roomio"
	"github.com/livekit-go/agents/agent/worker"
)

// runStart runs the agent as a worker of LiveKit dispatch until ctx ends
// (SIGINT or SIGTERM), then drains: no new jobs, running ones get
// -drain-timeout to finish.
func runStart(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var vf voiceFlags
	vf.register(fs)
	agentName := fs.String("agent-name", "", "agent name for explicit dispatch (default: every new room)")
	maxJobs := fs.Int("max-jobs", 0, "most jobs at once (0: no limit; load decides)")
	drain := fs.Duration("drain-timeout", 10*time.Minute, "how long running jobs may go on after SIGTERM")
	loadThreshold := fs.Float64("load-threshold", 0.7, "load (CPU use, or jobs/max-jobs) at which the worker takes no more jobs; above 1: never full by load")
	if err := fs.Parse(args); err != nil {
		return 2
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
	defer v.close()
	url, key, secret, setup := v.url, v.key, v.secret, v.setup
	opts := []worker.Option{worker.WithLogger(log), worker.WithLoadThreshold(*loadThreshold)}
	if *agentName != "" {
		opts = append(opts, worker.WithAgentName(*agentName))
	}
	if *maxJobs > 0 {
		opts = append(opts, worker.WithMaxJobs(*maxJobs))
	}
	w, err := worker.New(url, key, secret, roomio.EntryPoint(setup), opts...)
	if err != nil {
		log.Error("worker", "err", err)
		return 1
	}
	log.Info("worker starting", "url", url, "agent_name", *agentName)
	if err := w.RunAndDrain(ctx, *drain); err != nil {
		log.Error("worker stopped", "err", err)
		return 1
	}
	log.Info("worker stopped")
	return 0
}
