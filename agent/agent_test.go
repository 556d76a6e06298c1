package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/livekit-go/agents/agent"
	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type weatherArgs struct {
	City  string `json:"city" jsonschema:"the city to look up"`
	Units string `json:"units,omitempty" jsonschema:"celsius or fahrenheit"`
}

func weatherTool(t *testing.T) agent.Tool {
	t.Helper()
	tool, err := agent.FunctionTool("get_weather", "Current weather in a city.", func(_ context.Context, a weatherArgs) (string, error) {
		if a.City == "Atlantis" {
			return "", errors.New("no such city")
		}
		return "sunny in " + a.City, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tool
}

func TestFunctionToolSchema(t *testing.T) {
	def := weatherTool(t).Definition()
	var got map[string]any
	if err := json.Unmarshal(def.Parameters, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type":                 "object",
		"additionalProperties": false,
		"required":             []any{"city"},
		"properties": map[string]any{
			"city":  map[string]any{"type": "string", "description": "the city to look up"},
			"units": map[string]any{"type": "string", "description": "celsius or fahrenheit"},
		},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("schema (-got +want):\n%s", diff)
	}
	if def.Name != "get_weather" || def.Description != "Current weather in a city." {
		t.Errorf("definition = %+v", def)
	}
}

func TestFunctionToolArguments(t *testing.T) {
	tool := weatherTool(t)
	tests := []struct {
		args    string
		want    string
		wantErr string
	}{
		{`{"city":"Paris"}`, "sunny in Paris", ""},
		{`{"city":"Paris","units":"celsius"}`, "sunny in Paris", ""},
		{`{"city":"Atlantis"}`, "", "no such city"},
		{`{}`, "", "invalid arguments for get_weather"},
		{``, "", "invalid arguments for get_weather"},
		{`{"city":3}`, "", "invalid arguments for get_weather"},
		{`{"city":"Paris","extra":1}`, "", "invalid arguments for get_weather"},
		{`{"city":`, "", "not valid JSON"},
	}
	for _, tt := range tests {
		res, err := tool.Call(t.Context(), tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Call(%s) error = %v, want one containing %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || res.Output != tt.want {
			t.Errorf("Call(%s) = %q, %v; want %q", tt.args, res.Output, err, tt.want)
		}
	}
	var ae *agent.ArgumentsError
	if _, err := tool.Call(t.Context(), `{}`); !errors.As(err, &ae) {
		t.Errorf("bad arguments error %T is not an *ArgumentsError", err)
	}
}

func TestFunctionToolRejectsNonStruct(t *testing.T) {
	_, err := agent.FunctionTool("f", "", func(context.Context, string) (string, error) { return "", nil })
	if err == nil {
		t.Error("a string argument type was accepted")
	}
}

type failedLLM struct{ sessiontest.LLM }

func (*failedLLM) Err() error {
	return errors.New("inference: temperature: set this or top_p, but not both")
}

func TestNewSessionReportsLLMConstructionError(t *testing.T) {
	_, err := agent.NewSession(agent.WithLLM(&failedLLM{}))
	if err == nil || !strings.Contains(err.Error(), "top_p") {
		t.Errorf("NewSession error = %v, want the LLM's", err)
	}
}

func TestNewSessionRejectsBadOptions(t *testing.T) {
	_, err := agent.NewSession(agent.WithMinEndpointingDelay(-1))
	if err == nil || !strings.Contains(err.Error(), "min_endpointing_delay") {
		t.Errorf("error = %v, want one naming min_endpointing_delay", err)
	}
}

// A bad argument from the model goes back to it as an error output and the
// model gets another step.
func TestToolErrorsReachTheModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(
			sessiontest.Response{ToolCalls: []session.FunctionCall{{CallID: "1", Name: "get_weather", Arguments: `{"town":"Paris"}`}}},
			sessiontest.Response{Text: "Which city?"},
		)
		s, err := agent.NewSession(agent.WithLLM(llm))
		if err != nil {
			t.Fatal(err)
		}
		in := sessiontest.NewTextInput()
		if err := s.Start(t.Context(), &agent.Agent{Tools: []agent.Tool{weatherTool(t)}}, agent.IO{Text: in}); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		in.Send("weather?")
		synctest.Wait()
		reqs := llm.Requests()
		if len(reqs) != 2 {
			t.Fatalf("requests = %d, want 2", len(reqs))
		}
		items := reqs[1].Chat.Items
		out, ok := items[len(items)-1].(*session.FunctionCallOutput)
		if !ok || !out.IsError || !strings.Contains(out.Output, "invalid arguments for get_weather") {
			t.Errorf("last item of the second request = %+v, want the arguments error", items[len(items)-1])
		}
	})
}

func TestGenerateReplyOptionsReachTheRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM()
		s, err := agent.NewSession(agent.WithLLM(llm))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context(), &agent.Agent{Instructions: "be kind", Tools: []agent.Tool{weatherTool(t)}}, agent.IO{}); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		h, err := s.GenerateReply(
			agent.WithInstructions("greet the user"),
			agent.WithToolChoice(session.ToolChoiceNone),
			agent.WithModelOptions(map[string]any{"temperature": 0.2}),
		)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		req := llm.Requests()[0]
		if diff := cmp.Diff(req.ModelOptions, map[string]any{"temperature": 0.2}); diff != "" {
			t.Errorf("model options (-got +want):\n%s", diff)
		}
		if req.ToolChoice != session.ToolChoiceNone || len(req.Tools) != 1 {
			t.Errorf("tool choice %+v with %d tools", req.ToolChoice, len(req.Tools))
		}
		var system []string
		for _, it := range req.Chat.Items {
			if m, ok := it.(*session.ChatMessage); ok && m.Role == session.RoleSystem {
				system = append(system, m.Content)
			}
		}
		if diff := cmp.Diff(system, []string{"be kind", "greet the user"}); diff != "" {
			t.Errorf("system messages (-got +want):\n%s", diff)
		}
	})
}

// A FunctionTool of (ctx, args) reaches its reply through the run context
// in ctx, and its error meant for the model reaches the model as it is.
func TestFunctionToolRunContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type noArgs struct{}
		var sawSession bool
		hangUp, err := agent.FunctionTool("hang_up", "End the call.", func(ctx context.Context, _ noArgs) (string, error) {
			rc, ok := agent.RunContextFrom(ctx)
			if !ok {
				return "", errors.New("no run context")
			}
			sawSession = rc.Session() != nil && rc.UserData() == "caller-42"
			if err := rc.WaitForPlayout(ctx); err != nil {
				return "", err
			}
			return "", agent.NewToolError("the line is busy")
		})
		if err != nil {
			t.Fatal(err)
		}
		llm := sessiontest.NewLLM(
			sessiontest.Response{Text: "Goodbye.", ToolCalls: []session.FunctionCall{{CallID: "1", Name: "hang_up", Arguments: "{}"}}},
			sessiontest.Response{Text: "I could not hang up."},
		)
		s, err := agent.NewSession(agent.WithLLM(llm), agent.WithUserData("caller-42"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context(), &agent.Agent{Tools: []agent.Tool{hangUp}}, agent.IO{}); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		res, err := s.Run(t.Context(), "bye")
		if err != nil {
			t.Fatal(err)
		}
		e := sessiontest.Expect(t, res)
		e.NextEvent().IsMessage(session.RoleAssistant).Contains("goodbye")
		e.NextEvent().IsFunctionCall("hang_up")
		e.NextEvent().IsFunctionCallOutput().Contains("the line is busy").IsError(true)
		e.NextEvent().IsMessage(session.RoleAssistant)
		e.NoMoreEvents()
		if !sawSession {
			t.Error("the tool's run context did not lead to the session and its user data")
		}
	})
}
