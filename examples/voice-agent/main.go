// Command voice-agent is the program a user copies: a LiveKit voice agent
// built on this framework.
//
//	voice-agent chat [flags]   talk to the agent in the terminal, one line a turn
//
// The LLM is the LiveKit Inference gateway (inference.LLM). Where no
// gateway credentials are set, the agent says so and answers with a local
// deterministic responder, a stand-in that is not a language model, so the
// loop still runs on a machine with no cloud access.
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
  chat    talk to the agent in the terminal: one line is one user turn
`

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "chat":
		return runChat(ctx, args[1:], stdin, stdout, stderr, getenv)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "voice-agent: unknown command %q\n%s", args[0], usage)
		return 2
	}
}
