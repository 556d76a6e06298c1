package agent_test

import (
	"context"
	"fmt"

	"github.com/livekit-go/agents/agent"
	"github.com/livekit-go/agents/session/sessiontest"
)

// A text-mode agent with one tool, on fake models.
func Example() {
	type timeArgs struct {
		Zone string `json:"zone" jsonschema:"an IANA time zone, e.g. Europe/Paris"`
	}
	clock, err := agent.FunctionTool("current_time", "The time in a time zone.", func(_ context.Context, a timeArgs) (string, error) {
		return "12:00 in " + a.Zone, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := agent.NewSession(agent.WithLLM(sessiontest.NewLLM(sessiontest.Response{Text: "Hello! How can I help?"})))
	if err != nil {
		fmt.Println(err)
		return
	}
	in, out := sessiontest.NewTextInput(), &sessiontest.TextOutput{}
	a := &agent.Agent{Instructions: "You are a helpful voice assistant.", Tools: []agent.Tool{clock}}
	if err := s.Start(context.Background(), a, agent.IO{Text: in, TextOut: out}); err != nil {
		fmt.Println(err)
		return
	}
	in.Send("hi")
	in.Close() // the session answers, then closes: its input ended
	<-s.Done()
	fmt.Println(out.Messages())
	// Output: [Hello! How can I help?]
}
