package inference

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
)

// geminiToolCalls streams two parallel tool calls, each with its own
// extra_content, as Gemini 3 sends its thought signatures (one of them with
// a key no client sends back).
func geminiToolCalls(w http.ResponseWriter) {
	s := startSSE(w)
	s.data(`{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"},"extra_content":{"google":{"thought_signature":"sigA"}}}]}}]}`)
	s.data(`{"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"},"extra_content":{"google":{"thought_signature":"sigB"},"vendor":{"debug":1}}}]}}]}`)
	s.finish("tool_calls")
	s.done()
}

// geminiThenOK answers the first request with geminiToolCalls, the others
// with "ok".
func geminiThenOK(w http.ResponseWriter, r *http.Request, n int) {
	if n == 1 {
		geminiToolCalls(w)
		return
	}
	okStream(w)
}

// toolCallsSent returns the id and extra_content of every tool call in a
// request body, in order.
func toolCallsSent(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var req struct {
		Messages []struct {
			ToolCalls []struct {
				ID           string          `json:"id"`
				ExtraContent json.RawMessage `json:"extra_content"`
			} `json:"tool_calls"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range req.Messages {
		for _, tc := range m.ToolCalls {
			got[tc.ID] = string(tc.ExtraContent)
		}
	}
	return got
}

// TestToolCallExtraContentRoundTrip: each call's extra_content reaches its
// own FunctionCall, and the next request carries it back on that call (the
// keys the Python client sends back), so Gemini 3 finds its
// thought_signature.
func TestToolCallExtraContentRoundTrip(t *testing.T) {
	srv := newGWServer(t, geminiThenOK)
	m := newGWModel(t, srv.URL)
	req := withTools(gwRequest())
	d := chatDrained(t, t.Context(), m, req)
	if d.err != nil {
		t.Fatal(d.err)
	}
	wantExtra := map[string]string{
		"call_a": `{"google":{"thought_signature":"sigA"}}`,
		"call_b": `{"google":{"thought_signature":"sigB"},"vendor":{"debug":1}}`,
	}
	gotExtra := map[string]string{}
	for _, c := range d.calls {
		gotExtra[c.CallID] = string(c.ExtraContent)
	}
	if diff := cmp.Diff(gotExtra, wantExtra); diff != "" {
		t.Errorf("extra_content of the calls (-got +want):\n%s", diff)
	}
	for _, c := range d.chunks {
		if c.ExtraContent != nil {
			t.Errorf("a call's extra_content on the chunk: %s", c.ExtraContent)
		}
	}

	// The session keeps each call by struct copy, then its output.
	chat := req.Chat.Copy()
	for _, c := range d.calls {
		call := c
		chat.Add(&call)
	}
	for _, c := range d.calls {
		chat.Add(&session.FunctionCallOutput{CallID: c.CallID, Name: c.Name, Output: "sunny"})
	}
	req.Chat = chat
	if d := chatDrained(t, t.Context(), m, req); d.err != nil {
		t.Fatal(d.err)
	}
	want := map[string]string{
		"call_a": `{"google":{"thought_signature":"sigA"}}`,
		"call_b": `{"google":{"thought_signature":"sigB"}}`,
	}
	if diff := cmp.Diff(toolCallsSent(t, srv.bodies[1]), want); diff != "" {
		t.Errorf("extra_content sent back (-got +want):\n%s", diff)
	}
	validateRequestBody(t, loadRequestSchema(t), srv.bodies[1])
}

// TestToolCallExtraContentThroughASession runs the round trip through a
// real session: the model calls a tool, the session runs it and asks
// again, and the second request carries the signature back.
func TestToolCallExtraContentThroughASession(t *testing.T) {
	srv := newGWServer(t, geminiThenOK)
	weather := session.ToolFunc{
		Def: session.ToolDefinition{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)},
		Fn: func(context.Context, string) (session.ToolResult, error) {
			return session.ToolResult{Output: "sunny"}, nil
		},
	}
	s, err := session.New(session.WithLLM(newGWModel(t, srv.URL, WithModelOptions(ModelOptions{}))))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context(), &session.Agent{Instructions: "Be brief.", Tools: []session.Tool{weather}}, session.IO{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, err := s.GenerateReply(session.WithUserInput("Weather in Paris and Oslo?"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := srv.count(); n != 2 {
		t.Fatalf("requests = %d, want 2 (the tool step and the answer)", n)
	}
	want := map[string]string{
		"call_a": `{"google":{"thought_signature":"sigA"}}`,
		"call_b": `{"google":{"thought_signature":"sigB"}}`,
	}
	if diff := cmp.Diff(toolCallsSent(t, srv.bodies[1]), want); diff != "" {
		t.Errorf("extra_content in the session's next request (-got +want):\n%s", diff)
	}
}

func TestSendableExtraContent(t *testing.T) {
	for in, want := range map[string]string{
		``:                                      ``,
		`null`:                                  ``,
		`[1]`:                                   ``,
		`"x"`:                                   ``,
		`{}`:                                    ``,
		`{"vendor":{"a":1}}`:                    ``,
		`{"google":{}}`:                         ``,
		`{"google":null,"xai":""}`:              ``,
		`{"google":0.0,"xai":-0,"livekit":0e3}`: ``,
		`{"google":{"thought_signature":"s"}}`:  `{"google":{"thought_signature":"s"}}`,
		`{"xai":{"a":1},"livekit":[1],"google":{"b":2},"x":1}`: `{"google":{"b":2},"livekit":[1],"xai":{"a":1}}`,
	} {
		if got := string(sendableExtraContent(json.RawMessage(in))); got != want {
			t.Errorf("sendableExtraContent(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestToolCallExtraContentKeptOverLaterDeltas: a call's extra_content is
// the first one that says something (Python keeps the one on the delta
// that names the call); an empty or null extra_content on a later delta of
// the same call does not wipe the thought signature.
func TestToolCallExtraContentKeptOverLaterDeltas(t *testing.T) {
	got, err := decodeAll(
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{"},"extra_content":{"google":{"thought_signature":"S"}}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"}"},"extra_content":{}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"extra_content":{"google":{"thought_signature":"other"}}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{}"},"extra_content":{}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"extra_content":{"google":{"thought_signature":"late"}}}]}}]}`,
		`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []session.ChatChunk{{FinishReason: "tool_calls", ToolCalls: []session.FunctionCall{
		{CallID: "a", Name: "f", Arguments: "{}", ExtraContent: json.RawMessage(`{"google":{"thought_signature":"S"}}`)},
		{CallID: "b", Name: "g", Arguments: "{}", ExtraContent: json.RawMessage(`{"google":{"thought_signature":"late"}}`)},
	}}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("chunks (-got +want):\n%s", diff)
	}
}
