package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/livekit-go/agents/agent"
	"github.com/livekit-go/agents/session"
)

// runChatSession runs chat mode through the session's text mode: stdin
// lines are user turns, replies stream to stdout, the session keeps the
// conversation and runs the agent's tools. It returns the exit code: 1 if
// any reply failed.
func runChatSession(ctx context.Context, llm session.LLM, instructions string, stdin io.Reader, stdout, stderr io.Writer) int {
	in := newLineInput(stdin)
	var mu sync.Mutex
	failed := false
	s, err := agent.NewSession(
		agent.WithLLM(llm),
		agent.WithEventHandler(func(e agent.Event) {
			switch e := e.(type) {
			case session.ErrorEvent:
				mu.Lock()
				failed = true
				mu.Unlock()
				fmt.Fprintf(stderr, "voice-agent: %s: %v\n", e.Source, e.Err)
			case session.AgentStateChangedEvent:
				if e.New == session.AgentListening {
					in.ready() // a reply ended: take the next line
				}
			}
		}),
	)
	if err != nil {
		fmt.Fprintf(stderr, "voice-agent: %v\n", err)
		return 1
	}
	clock, err := agent.FunctionTool("current_time", "The current time in an IANA time zone.", currentTime)
	if err != nil {
		fmt.Fprintf(stderr, "voice-agent: %v\n", err)
		return 1
	}
	a := &agent.Agent{Instructions: instructions, Tools: []agent.Tool{clock}}
	if err := s.Start(ctx, a, agent.IO{Text: in, TextOut: &lineOutput{w: stdout}}); err != nil {
		fmt.Fprintf(stderr, "voice-agent: %v\n", err)
		return 1
	}
	<-s.Done() // stdin ended and the last reply finished, or ctx ended
	if err := in.err(); err != nil {
		fmt.Fprintf(stderr, "voice-agent: reading input: %v\n", err)
		return 1
	}
	mu.Lock()
	defer mu.Unlock()
	if failed || ctx.Err() != nil {
		return 1
	}
	return 0
}

type timeArgs struct {
	Zone string `json:"zone" jsonschema:"an IANA time zone such as Europe/Paris"`
}

func currentTime(_ context.Context, a timeArgs) (string, error) {
	loc, err := time.LoadLocation(a.Zone)
	if err != nil {
		return "", fmt.Errorf("unknown time zone %q", a.Zone)
	}
	return time.Now().In(loc).Format("Monday 15:04 MST"), nil
}

// lineInput is a session.TextInput over stdin lines. It hands out a line
// only once the previous reply ended, so piped input is answered line by
// line instead of each line interrupting the reply before it.
type lineInput struct {
	lines   chan string
	turn    chan struct{} // one token: the agent is listening
	mu      sync.Mutex
	readErr error
}

func newLineInput(r io.Reader) *lineInput {
	in := &lineInput{lines: make(chan string), turn: make(chan struct{}, 1)}
	go func() { // exits at the end of the input; stdin reads cannot be cancelled
		defer close(in.lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			if t := strings.TrimSpace(sc.Text()); t != "" {
				in.lines <- t
			}
		}
		in.mu.Lock()
		in.readErr = sc.Err()
		in.mu.Unlock()
	}()
	return in
}

func (in *lineInput) ready() {
	select {
	case in.turn <- struct{}{}:
	default:
	}
}

func (in *lineInput) err() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.readErr
}

// RecvText implements session.TextInput.
func (in *lineInput) RecvText(ctx context.Context) (string, error) {
	select {
	case <-in.turn:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	select {
	case t, ok := <-in.lines:
		if !ok {
			return "", io.EOF
		}
		return t, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// lineOutput writes each reply as it streams, ending it with a newline.
// The session calls it from one goroutine at a time.
type lineOutput struct {
	w     io.Writer
	wrote bool
}

func (o *lineOutput) CaptureText(_ context.Context, text string) error {
	o.wrote = o.wrote || text != ""
	_, err := io.WriteString(o.w, text)
	return err
}

func (o *lineOutput) Flush() {
	if o.wrote {
		fmt.Fprintln(o.w)
		o.wrote = false
	}
}
