package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/livekit/protocol/auth"

	"github.com/livekit-go/agents/plugins/inference"
	"github.com/livekit-go/agents/session"
)

func timeToolDef(t *testing.T) session.ToolDefinition {
	t.Helper()
	a, err := voiceAgent("x")
	if err != nil {
		t.Fatal(err)
	}
	return a.Tools[0].Definition()
}

func recvAll(t *testing.T, s session.LLMStream) (text string, calls []session.FunctionCall, finish string, usage *session.Usage) {
	t.Helper()
	defer func() { _ = s.Close() }()
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return text, calls, finish, usage
		}
		if err != nil {
			t.Fatal(err)
		}
		text += c.Content
		calls = append(calls, c.ToolCalls...)
		if c.FinishReason != "" {
			finish = c.FinishReason
		}
		if c.Usage != nil {
			usage = c.Usage
		}
	}
}

// inference.LLM against the stand-in: the question calls current_time for
// the city's zone (its arguments streamed in fragments and joined by the
// plugin), and the request carrying the tool's output is answered from it.
func TestStandInCallsTheTimeToolThroughInference(t *testing.T) {
	m, err := startLocalModel("openai/gpt-4.1-mini", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = m.Close() }()
	chat := session.NewChatContext(
		&session.ChatMessage{Role: session.RoleSystem, Content: "be brief"},
		&session.ChatMessage{Role: session.RoleUser, Content: "What time is it in New York?"},
	)
	tools := []session.ToolDefinition{timeToolDef(t)}
	s, err := m.LLM.Chat(t.Context(), session.ChatRequest{Chat: chat, Tools: tools})
	if err != nil {
		t.Fatal(err)
	}
	text, calls, finish, usage := recvAll(t, s)
	if text != "" || len(calls) != 1 || finish != "tool_calls" || usage == nil || usage.TotalTokens == 0 {
		t.Fatalf("first answer: text %q, calls %+v, finish %q, usage %+v; want one tool call and the usage", text, calls, finish, usage)
	}
	c := calls[0]
	if c.Name != "current_time" || c.Arguments != `{"zone":"America/New_York"}` || !strings.HasPrefix(c.CallID, "call_") {
		t.Errorf("tool call %+v, want current_time for America/New_York", c)
	}
	chat.Add(&session.FunctionCall{CallID: c.CallID, Name: c.Name, Arguments: c.Arguments})
	chat.Add(&session.FunctionCallOutput{CallID: c.CallID, Name: c.Name, Output: "Tuesday 08:15 EST"})
	s, err = m.LLM.Chat(t.Context(), session.ChatRequest{Chat: chat, Tools: tools})
	if err != nil {
		t.Fatal(err)
	}
	text, calls, finish, _ = recvAll(t, s)
	if text != "The time in New York is Tuesday 08:15 EST." || len(calls) != 0 || finish != "stop" {
		t.Errorf("second answer: %q, calls %+v, finish %q; want the tool's output in a sentence", text, calls, finish)
	}
}

// The options the demo prints (describeRequest in the last middleware) are
// the ones that arrive at the stand-in, key by key.
func TestStandInReceivesTheOptionsTheDemoShows(t *testing.T) {
	var shown string
	seen := make(chan map[string]json.RawMessage, 1)
	h := newStandIn("s", nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if req, err := parseChatRequest(body); err == nil {
			seen <- req.Options
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	llm, err := inference.NewLLM("openai/gpt-5-mini", inference.WithBaseURL(srv.URL+"/v1"), inference.WithCredentials(standInKey, "s"),
		inference.WithModelOptionsMap(map[string]any{"temperature": 0.3, "max_tokens": 99, "seed": 0, "top_k": 5}),
		inference.WithMiddleware(func(next inference.Handler) inference.Handler {
			return func(ctx context.Context, r *inference.Request) (session.LLMStream, error) {
				shown = describeRequest(r).options
				return next(ctx, r)
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	s, err := llm.Chat(t.Context(), session.ChatRequest{Chat: session.NewChatContext(&session.ChatMessage{Role: session.RoleUser, Content: "hi"})})
	if err != nil {
		t.Fatal(err)
	}
	recvAll(t, s)
	got := <-seen
	var want map[string]json.RawMessage
	if err := json.Unmarshal([]byte(shown), &want); err != nil {
		t.Fatalf("shown options %q: %v", shown, err)
	}
	norm := func(m map[string]json.RawMessage) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			var x any
			_ = json.Unmarshal(v, &x)
			b, _ := json.Marshal(x)
			out[k] = string(b)
		}
		return out
	}
	if diff := cmp.Diff(norm(got), norm(want)); diff != "" {
		t.Errorf("options at the stand-in (-got) vs shown (+want):\n%s", diff)
	}
	// gpt-5 is a reasoning family: the model rules strip temperature and
	// turn max_tokens into max_completion_tokens before the wire.
	if _, ok := got["temperature"]; ok || string(got["max_completion_tokens"]) != "99" {
		t.Errorf("options on the wire %v, want the model rules applied", norm(got))
	}
}

func token(t *testing.T, key, secret string, grant bool) string {
	t.Helper()
	at := auth.NewAccessToken(key, secret).SetValidFor(time.Minute)
	if grant {
		at.SetInferenceGrant(&auth.InferenceGrant{Perform: true})
	}
	s, err := at.ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The stand-in answers what it cannot serve as the gateway would: a status
// and a JSON error that says what was wrong.
func TestStandInRejectsBadRequests(t *testing.T) {
	srv := httptest.NewServer(newStandIn("s", nil))
	defer srv.Close()
	good := `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`
	for _, tc := range []struct {
		name, method, path, auth, body string
		status                         int
		wantMsg                        string
	}{
		{"no token", "POST", "/v1/chat/completions", "", good, 401, "missing bearer token"},
		{"wrong secret", "POST", "/v1/chat/completions", "Bearer " + token(t, standInKey, "other", true), good, 401, "invalid token"},
		{"wrong key", "POST", "/v1/chat/completions", "Bearer " + token(t, "k", "s", true), good, 401, "unknown API key"},
		{"no inference grant", "POST", "/v1/chat/completions", "Bearer " + token(t, standInKey, "s", false), good, 401, "inference grant"},
		{"not JSON", "POST", "/v1/chat/completions", "Bearer " + token(t, standInKey, "s", true), `{"model":`, 400, "body: not a JSON object"},
		{"bad role", "POST", "/v1/chat/completions", "Bearer " + token(t, standInKey, "s", true), `{"model":"m","messages":[{"role":"robot","content":"hi"}],"stream":true}`, 400, `messages: [0].role: "robot"`},
		{"not streamed", "POST", "/v1/chat/completions", "Bearer " + token(t, standInKey, "s", true), `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":false}`, 400, "stream: false"},
		{"unknown path", "GET", "/v1/nothing", "", "", 404, "GET /v1/nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			var e struct {
				Error struct{ Message, Type string }
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || !strings.Contains(e.Error.Message, tc.wantMsg) {
				t.Errorf("status %d, error %q; want %d naming %q", resp.StatusCode, e.Error.Message, tc.status, tc.wantMsg)
			}
		})
	}
}

// The stream is OpenAI's: every event a chat.completion.chunk, the role
// first, the tool call's id and name once then its arguments in
// fragments, the finish reason, the usage in a chunk with no choices, and
// [DONE] last.
func TestStandInStreamsAsOpenAIDoes(t *testing.T) {
	srv := httptest.NewServer(newStandIn("s", nil))
	defer srv.Close()
	body := `{"model":"openai/gpt-4.1-mini","messages":[{"role":"user","content":"what time is it in tokyo"}],
		"tools":[{"type":"function","function":{"name":"current_time","parameters":{}}}],"stream":true,"stream_options":{"include_usage":true}}`
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token(t, standInKey, "s", true))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	var events []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events = append(events, d)
		}
	}
	if len(events) < 4 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("events %q, want chunks and [DONE]", events)
	}
	var args, name, id string
	var finish []string
	var usage *chunkUsage
	for i, e := range events[:len(events)-1] {
		var c wireChunk
		if err := json.Unmarshal([]byte(e), &c); err != nil || c.Object != "chat.completion.chunk" || c.Model != "openai/gpt-4.1-mini" || !strings.HasPrefix(c.ID, "chatcmpl-") {
			t.Fatalf("event %d %s: not a chunk of the model (%v)", i, e, err)
		}
		if c.Usage != nil {
			usage = c.Usage
			if len(c.Choices) != 0 || i != len(events)-2 {
				t.Errorf("usage chunk %d has choices or is not last", i)
			}
			continue
		}
		d := c.Choices[0].Delta
		if (d.Role == "assistant") != (i == 0) {
			t.Errorf("event %d: role %q; want the role on the first chunk only", i, d.Role)
		}
		for _, tc := range d.ToolCalls {
			if tc.ID != "" {
				id, name = tc.ID, tc.Function.Name
			}
			args += tc.Function.Arguments
		}
		if f := c.Choices[0].FinishReason; f != nil {
			finish = append(finish, *f)
		}
	}
	if name != "current_time" || args != `{"zone":"Asia/Tokyo"}` || !strings.HasPrefix(id, "call_") {
		t.Errorf("tool call %s %s(%s)", id, name, args)
	}
	if diff := cmp.Diff(finish, []string{"tool_calls"}); diff != "" {
		t.Errorf("finish reasons (-got +want):\n%s", diff)
	}
	if usage == nil || usage.TotalTokens != usage.PromptTokens+usage.CompletionTokens {
		t.Errorf("usage %+v", usage)
	}
}

func TestRespond(t *testing.T) {
	user := func(text string) wireMessage { return wireMessage{Role: "user", Content: text} }
	for _, tc := range []struct {
		name string
		req  wireRequest
		want standInReply
	}{
		{"asks the time", wireRequest{Messages: []wireMessage{user("What time is it in Tokyo?")}, Tools: []string{"current_time"}},
			standInReply{Call: &wireToolCall{Name: "current_time", Arguments: `{"zone":"Asia/Tokyo"}`}}},
		{"a two-word city, as a recognizer writes it", wireRequest{Messages: []wireMessage{user("what time is it in new york")}, Tools: []string{"current_time"}, ToolChoice: "auto"},
			standInReply{Call: &wireToolCall{Name: "current_time", Arguments: `{"zone":"America/New_York"}`}}},
		{"tool choice none", wireRequest{Messages: []wireMessage{user("What time is it in Paris?")}, Tools: []string{"current_time"}, ToolChoice: "none"},
			standInReply{Text: "I cannot look up the time in Paris without my clock tool."}},
		{"no tool offered", wireRequest{Messages: []wireMessage{user("What time is it in Paris?")}},
			standInReply{Text: "I cannot look up the time in Paris without my clock tool."}},
		{"not about time", wireRequest{Messages: []wireMessage{user("I love Paris.")}, Tools: []string{"current_time"}},
			standInReply{Text: "I heard you say: I love Paris. Ask me the time in a city, such as Tokyo."}},
		{"unknown city", wireRequest{Messages: []wireMessage{user("what time is it in Atlantis")}, Tools: []string{"current_time"}},
			standInReply{Text: "I heard you say: what time is it in Atlantis. Ask me the time in a city, such as Tokyo."}},
		{"the tool's output, for the city asked", wireRequest{Messages: []wireMessage{
			user("what time is it in delhi"),
			{Role: "assistant", ToolCalls: []wireToolCall{{ID: "c1", Name: "current_time", Arguments: `{"zone":"Asia/Kolkata"}`}}},
			{Role: "tool", ToolCallID: "c1", Content: "Monday 18:00 IST"},
		}}, standInReply{Text: "The time in Delhi is Monday 18:00 IST."}},
		{"another tool's output", wireRequest{Messages: []wireMessage{
			user("hi"),
			{Role: "assistant", ToolCalls: []wireToolCall{{ID: "c1", Name: "weather"}}},
			{Role: "tool", ToolCallID: "c1", Content: "sunny"},
		}}, standInReply{Text: "The tool answered: sunny"}},
		{"nothing from the user", wireRequest{Messages: []wireMessage{{Role: "system", Content: "be brief"}}},
			standInReply{Text: "Hello! I am the local stand-in model."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(respond(&tc.req), tc.want); diff != "" {
				t.Errorf("respond (-got +want):\n%s", diff)
			}
		})
	}
}
