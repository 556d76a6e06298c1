package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/livekit-go/agents/plugins/inference"
)

// The chat talks to the local stand-in through inference.LLM: a line
// asking the time in a city goes through the current_time tool and is
// answered from its output; any other line is echoed.
func TestChatSessionThroughTheStandIn(t *testing.T) {
	m, err := startLocalModel("openai/gpt-4.1-mini", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = m.Close() }()
	before, err := currentTime(t.Context(), timeArgs{Zone: "Europe/Paris"})
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := runChatSession(t.Context(), m.LLM, "be brief", strings.NewReader("hello\n\nwhat time is it in Paris?\n"), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit code %d, stderr: %s", code, errOut.String())
	}
	after, _ := currentTime(t.Context(), timeArgs{Zone: "Europe/Paris"})
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(got) != 2 {
		t.Fatalf("output lines %q, want 2", got)
	}
	if want := "I heard you say: hello. Ask me the time in a city, such as Tokyo."; got[0] != want {
		t.Errorf("first reply %q, want %q", got[0], want)
	}
	// The tool's output has minute precision: the minute may turn.
	if got[1] != "The time in Paris is "+before+"." && got[1] != "The time in Paris is "+after+"." {
		t.Errorf("second reply %q, want Paris's time from the tool (%s)", got[1], before)
	}
}

// The chat runs a tool call end to end through the real inference plugin,
// against a loopback server speaking the Chat Completions stream format.
func TestChatSessionToolCallThroughInference(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		bodies = append(bodies, body)
		n := len(bodies)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		var events []string
		if n == 1 {
			events = []string{
				`{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"current_time","arguments":""}}]}}]}`,
				`{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"zone\":\"UTC\"}"}}]}}]}`,
				`{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
			}
		} else {
			events = []string{
				`{"id":"c2","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"It is "}}]}`,
				`{"id":"c2","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"noon."},"finish_reason":"stop"}]}`,
			}
		}
		for _, e := range events {
			fmt.Fprintf(w, "data: %s\n\n", e)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	defer srv.Close()

	llm, err := inference.NewLLM("openai/gpt-4.1-mini", inference.WithBaseURL(srv.URL), inference.WithCredentials("key", "secret"))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := runChatSession(t.Context(), llm, "be brief", strings.NewReader("what time is it in UTC?\n"), &out, &errOut); code != 0 {
		t.Fatalf("exit code %d, stderr: %s", code, errOut.String())
	}
	if got := strings.TrimSpace(out.String()); got != "It is noon." {
		t.Errorf("output = %q, want the reply after the tool", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 {
		t.Fatalf("requests = %d, want 2", len(bodies))
	}
	msgs, _ := bodies[1]["messages"].([]any)
	last, _ := msgs[len(msgs)-1].(map[string]any)
	if last["role"] != "tool" || last["tool_call_id"] != "call_1" || !strings.Contains(fmt.Sprint(last["content"]), "UTC") {
		t.Errorf("last message of the second request = %v, want the tool output for call_1", last)
	}
}
