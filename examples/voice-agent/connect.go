package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/livekit-go/agents/agent/roomio"
	"github.com/livekit-go/agents/agent/worker"
)

// runConnect joins one room directly, without dispatch, and runs the same
// job as start does until the user leaves or ctx ends.
func runConnect(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var vf voiceFlags
	vf.register(fs)
	room := fs.String("room", "", "room to join (required)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log, err := vf.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "voice-agent: %v\n", err)
		return 2
	}
	if *room == "" {
		log.Error("connect: -room is required")
		return 2
	}
	v, code := prepareVoice(&vf, getenv, log)
	if v == nil {
		return code
	}
	defer v.close()
	url, key, secret, setup := v.url, v.key, v.secret, v.setup
	job, err := worker.DirectJob(url, key, secret, *room, worker.Acceptance{Name: "voice-agent"})
	if err != nil {
		log.Error("connect", "err", err)
		return 1
	}
	log.Info("joining", "room", *room, "url", url)
	if err := roomio.RunJob(ctx, job, setup); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("job failed", "err", err)
		return 1
	}
	return 0
}
