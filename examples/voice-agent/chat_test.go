package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// recordingGateway is a loopback Chat Completions server that answers every
// request with "reply N." and keeps the bodies and headers it received.
type recordingGateway struct {
	mu      sync.Mutex
	bodies  []map[string]any
	headers []http.Header
}

func (g *recordingGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	_ = dec.Decode(&body)
	g.mu.Lock()
	g.bodies = append(g.bodies, body)
	g.headers = append(g.headers, r.Header.Clone())
	n := len(g.bodies)
	g.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"reply %d.\"},\"finish_reason\":\"stop\"}]}\n\n", n)
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// The chat command takes its flags and environment to the wire and keeps
// the conversation across lines.
func TestChatCommandFlagsReachTheWire(t *testing.T) {
	gw := &recordingGateway{}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	env := envOf(map[string]string{
		"LIVEKIT_INFERENCE_URL": srv.URL + "/v1",
		"LIVEKIT_API_KEY":       "devkey",
		"LIVEKIT_API_SECRET":    "secret",
	})
	args := []string{"chat", "-model", "openai/gpt-4o", "-provider", "openai",
		"-model-options", `{"temperature": 0, "seed": 0, "top_k": 5}`, "-instructions", "be brief"}
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, strings.NewReader("first\nsecond\n"), &out, &errOut, env)
	if code != 0 {
		t.Fatalf("exit code %d, stderr: %s", code, errOut.String())
	}
	if got, want := strings.TrimSpace(out.String()), "reply 1.\nreply 2."; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}

	gw.mu.Lock()
	defer gw.mu.Unlock()
	if len(gw.bodies) != 2 {
		t.Fatalf("requests = %d, want 2", len(gw.bodies))
	}
	b := gw.bodies[1]
	if b["model"] != "openai/gpt-4o" {
		t.Errorf("model = %v", b["model"])
	}
	for key, want := range map[string]string{"temperature": "0", "seed": "0", "top_k": "5"} {
		if got := fmt.Sprint(b[key]); got != want {
			t.Errorf("%s = %v, want %s (set values are sent, zero or not)", key, b[key], want)
		}
	}
	var roles []string
	for _, m := range b["messages"].([]any) {
		msg := m.(map[string]any)
		roles = append(roles, fmt.Sprintf("%v:%v", msg["role"], msg["content"]))
	}
	wantRoles := "system:be brief user:first assistant:reply 1. user:second"
	if got := strings.Join(roles, " "); got != wantRoles {
		t.Errorf("second request's messages = %q, want %q", got, wantRoles)
	}
	h := gw.headers[1]
	if got := h.Get("X-LiveKit-Inference-Provider"); got != "openai" {
		t.Errorf("provider header = %q, want openai", got)
	}
	if !strings.HasPrefix(h.Get("Authorization"), "Bearer ey") {
		t.Errorf("Authorization = %q, want a bearer JWT", h.Get("Authorization"))
	}
}

// Invalid model options exit non-zero with the validation error, and nothing
// is sent.
func TestChatCommandRejectsInvalidOptions(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	defer srv.Close()
	env := envOf(map[string]string{"LIVEKIT_INFERENCE_URL": srv.URL, "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s"})
	for _, tc := range []struct{ options, wantErr string }{
		{`{"temperature": 0.5, "top_p": 0.5}`, "temperature: set this or top_p, but not both"},
		{`{"top_logprobs": 3}`, "top_logprobs"},
		{`{"temperature": 3}`, "temperature"},
		{`{"reasoning_effort": "extreme"}`, "reasoning_effort"},
		{`[1,2]`, "-model-options: not a JSON object"},
	} {
		var out, errOut bytes.Buffer
		code := run(t.Context(), []string{"chat", "-model-options", tc.options}, strings.NewReader("hi\n"), &out, &errOut, env)
		if code == 0 {
			t.Errorf("%s: exit code 0, want non-zero", tc.options)
		}
		if !strings.Contains(errOut.String(), tc.wantErr) {
			t.Errorf("%s: stderr = %q, want it to name %q", tc.options, errOut.String(), tc.wantErr)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the gateway got %d requests, want none", n)
	}
}

// Without a gateway or credentials the chat says it uses the local stand-in.
func TestChatCommandSaysWhenLocal(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"chat"}, strings.NewReader("hello\n"), &out, &errOut, envOf(nil))
	if code != 0 {
		t.Fatalf("exit code %d, stderr: %s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "inference.LLM talks to the local stand-in model at http://127.0.0.1:") ||
		!strings.Contains(errOut.String(), "not a language model") {
		t.Errorf("stderr = %q, want it to say the model is a local stand-in", errOut.String())
	}
	if !strings.HasPrefix(out.String(), "I heard you say: hello.") {
		t.Errorf("stdout = %q, want the stand-in's answer", out.String())
	}
}
