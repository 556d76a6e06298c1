// Command voice-agent is the program a user copies: a LiveKit voice agent
// built on this framework.
//
//	voice-agent start [flags]               run as a worker of LiveKit dispatch (LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET)
//	voice-agent dev [flags]                 start for development: no load limit, debug logs, no drain
//	voice-agent connect -room NAME [flags]  join one room directly, for development
//	voice-agent chat [flags]                talk to the agent in the terminal, one line a turn
//	voice-agent demo [-turns N] [-bench]    the agent and a simulated user talking in a room (default server ws://127.0.0.1:7880)
//	voice-agent web [-addr 127.0.0.1:8080]  talk to the agent from a browser: a local page that joins a fresh room with the agent
//
// In a room the agent hears and speaks through a local speech stack
// (Silero VAD, PocketSphinx STT, Flite TTS): stand-ins for cloud speech
// models that need no account, and say so in the log.
//
// The LLM is inference.LLM, at the LiveKit Inference gateway. Where no
// gateway credentials are set, the agent says so and inference.LLM talks to
// a local stand-in model served on 127.0.0.1 in the gateway's wire format
// (standin.go), which answers by rule and is not a language model, so the
// whole loop, tool calls included, runs on a machine with no cloud access.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `usage: voice-agent <command> [flags]

commands:
  start     run as a worker of LiveKit dispatch (LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET)
  dev       start for development: takes every job (load by jobs, never CPU), debug logs, stops at once
  connect   join one room directly: connect -room NAME
  chat      talk to the agent in the terminal: one line is one user turn
  demo      the agent and a simulated user that asks aloud, in a room on the local server: demo [-turns N] [-bench]
  web       a page to talk to the agent from a browser, served on loopback: web [-addr 127.0.0.1:8080]
`

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "start":
		return runStart(ctx, args[1:], stderr, getenv)
	case "dev":
		return runDev(ctx, args[1:], stderr, getenv)
	case "connect":
		return runConnect(ctx, args[1:], stderr, getenv)
	case "chat":
		return runChat(ctx, args[1:], stdin, stdout, stderr, getenv)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr, getenv)
	case "web":
		return runWeb(ctx, args[1:], stdout, stderr, getenv)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "voice-agent: unknown command %q\n%s", args[0], usage)
		return 2
	}
}
