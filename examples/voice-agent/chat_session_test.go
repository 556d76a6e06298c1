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

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/plugins/inference"
)

func TestChatSessionAnswersEachLine(t *testing.T) {
	var out, errOut bytes.Buffer
	code := runChatSession(t.Context(), localResponder{}, "be brief", strings.NewReader("hello\n\nhow are you\n"), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit code %d, stderr: %s", code, errOut.String())
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"I heard you say: hello.", "I heard you say: how are you."}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
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
