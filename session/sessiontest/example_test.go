package sessiontest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

// checkWeatherTurn is what a test of a weather agent checks of one turn;
// in a test, t is its *testing.T.
func checkWeatherTurn(t testing.TB, s *session.Session) {
	res, err := s.Run(context.Background(), "What's the weather in Paris?")
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	e := sessiontest.Expect(t, res)
	e.NextEvent().IsFunctionCall("get_weather").WithArgs(map[string]any{"city": "Paris"})
	e.NextEvent().IsFunctionCallOutput().Contains("sunny")
	e.NextEvent().IsMessage(session.RoleAssistant).Contains("sunny")
	e.NoMoreEvents()
}

// printT stands in for a test's *testing.T in this example: it prints a
// failure and stops, as Fatalf does.
type printT struct{ testing.TB }

func (printT) Helper() {}

func (printT) Fatalf(format string, args ...any) {
	fmt.Printf(format+"\n", args...)
	panic("test failed")
}

// Expect checks one turn of an agent, here with a scripted LLM (a real one
// works the same way).
func ExampleExpect() {
	llm := sessiontest.NewLLM(
		sessiontest.Response{ToolCalls: []session.FunctionCall{{CallID: "1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		sessiontest.Response{Text: "It is sunny in Paris."},
	)
	weather := session.ToolFunc{
		Def: session.ToolDefinition{Name: "get_weather"},
		Fn: func(context.Context, string) (session.ToolResult, error) {
			return session.ToolResult{Output: "sunny"}, nil
		},
	}
	s, err := session.New(session.WithLLM(llm))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := s.Start(context.Background(), &session.Agent{Tools: []session.Tool{weather}}, session.IO{}); err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	checkWeatherTurn(printT{}, s)
	fmt.Println("the turn is as expected")
	// Output: the turn is as expected
}
