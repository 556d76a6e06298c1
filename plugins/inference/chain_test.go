package inference

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
)

// The request chain as DESIGN.md orders it: merge, model rules, validate
// what will be sent, tool rules. These tests go through NewLLM and Chat.

// sentBody returns the body the request's options build, decoded.
func sentBody(t *testing.T, r *Request) map[string]any {
	t.Helper()
	b, err := buildBody(r)
	if err != nil {
		t.Fatalf("buildBody() error = %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestModelRulesStripBeforeValidation: on a reasoning model the options its
// rules remove are not refused first, whether persistent or per call; on
// other models the exclusions stay errors.
func TestModelRulesStripBeforeValidation(t *testing.T) {
	stripped := map[string]any{"temperature": 0.5, "top_p": 0.5, "top_logprobs": 2}
	for _, tc := range []struct {
		name string
		opt  Option
		req  session.ChatRequest
	}{
		{"persistent", WithModelOptionsMap(stripped), session.ChatRequest{}},
		{"per call", WithModelOptionsMap(nil), session.ChatRequest{ModelOptions: stripped}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := captureRequest(t, "openai/gpt-5-mini", tc.opt, tc.req)
			body := sentBody(t, r)
			for _, k := range []string{"temperature", "top_p", "top_logprobs"} {
				if _, ok := body[k]; ok {
					t.Errorf("%s sent to gpt-5-mini", k)
				}
			}
		})
	}

	// Other models: still refused, at construction and per call.
	_, err := NewLLM("openai/gpt-4.1-mini", WithModelOptionsMap(map[string]any{"temperature": 0.5, "top_p": 0.5}), WithCredentials("k", "s"))
	wantOptionError(t, err, "temperature", "set this or top_p, but not both")
	m, err := NewLLM("openai/gpt-4.1-mini", WithCredentials("k", "s"), WithBaseURL("http://127.0.0.1:9/v1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Chat(t.Context(), session.ChatRequest{Chat: basicChat(), ModelOptions: map[string]any{"temperature": 0.5, "top_p": 0.5}})
	wantOptionError(t, err, "temperature", "set this or top_p, but not both")
	_, err = m.Chat(t.Context(), session.ChatRequest{Chat: basicChat(), ModelOptions: map[string]any{"top_logprobs": 2}})
	wantOptionError(t, err, "top_logprobs", "requires logprobs=true")

	// SetModelOptions validates for the model too.
	r5, err := NewLLM("openai/gpt-5-mini", WithCredentials("k", "s"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r5.SetModelOptions(ModelOptions{Temperature: new(0.5), TopP: new(0.5)}); err != nil {
		t.Errorf("SetModelOptions on gpt-5-mini = %v, want nil (both are stripped)", err)
	}
	if err := m.SetModelOptions(ModelOptions{Temperature: new(0.5), TopP: new(0.5)}); err == nil {
		t.Error("SetModelOptions on gpt-4.1-mini with temperature and top_p: no error")
	}
}

// TestPerCallOptionWinsAcrossExclusivePair: the per-call side of an
// exclusive pair replaces the persistent other side.
func TestPerCallOptionWinsAcrossExclusivePair(t *testing.T) {
	tests := []struct {
		name       string
		persistent map[string]any
		call       map[string]any
		want       map[string]any // the pair's keys in the body
	}{
		{"top_p over temperature", map[string]any{"temperature": 0.3}, map[string]any{"top_p": 0.9}, map[string]any{"top_p": 0.9}},
		{"temperature over top_p", map[string]any{"top_p": 0.9}, map[string]any{"temperature": 0.0}, map[string]any{"temperature": 0.0}},
		{"max_tokens over max_completion_tokens", map[string]any{"max_completion_tokens": 500}, map[string]any{"max_tokens": 50}, map[string]any{"max_tokens": 50.0}},
		{"max_completion_tokens over max_tokens", map[string]any{"max_tokens": 50}, map[string]any{"max_completion_tokens": 500}, map[string]any{"max_completion_tokens": 500.0}},
		{"same side replaced", map[string]any{"temperature": 0.3}, map[string]any{"temperature": 1.0}, map[string]any{"temperature": 1.0}},
		{"persistent pair kept without a per-call side", map[string]any{"max_tokens": 50, "max_completion_tokens": 500}, map[string]any{"seed": 1}, map[string]any{"max_tokens": 50.0, "max_completion_tokens": 500.0}},
	}
	pairKeys := []string{"temperature", "top_p", "max_tokens", "max_completion_tokens"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := captureRequest(t, "openai/gpt-4.1-mini", WithModelOptionsMap(tt.persistent), session.ChatRequest{ModelOptions: tt.call})
			body := sentBody(t, r)
			got := map[string]any{}
			for _, k := range pairKeys {
				if v, ok := body[k]; ok {
					got[k] = v
				}
			}
			if d := cmp.Diff(got, tt.want); d != "" {
				t.Errorf("pair in the body (-got +want):\n%s", d)
			}
		})
	}
	// Both sides in the same call are still refused.
	m, err := NewLLM("openai/gpt-4.1-mini", WithCredentials("k", "s"), WithModelOptionsMap(map[string]any{"temperature": 0.3}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Chat(t.Context(), session.ChatRequest{Chat: basicChat(), ModelOptions: map[string]any{"temperature": 0.2, "top_p": 0.9}})
	wantOptionError(t, err, "temperature", "set this or top_p, but not both")
}

// TestEnumsFollowTheSchema: values the official schema lists are accepted,
// others refused, through the whole chain.
func TestEnumsFollowTheSchema(t *testing.T) {
	sch := loadRequestSchema(t)
	accepted := []struct {
		name string
		opts map[string]any
		key  string
		want any
	}{
		{"reasoning_effort max", map[string]any{"reasoning_effort": "max"}, "reasoning_effort", "max"},
		{"service_tier fast", map[string]any{"service_tier": "fast"}, "service_tier", "fast"},
		{"tool_choice allowed_tools", map[string]any{"tool_choice": map[string]any{"type": "allowed_tools", "allowed_tools": map[string]any{
			"mode": "required", "tools": []any{map[string]any{"type": "function", "function": map[string]any{"name": "get_weather"}}},
		}}}, "tool_choice", map[string]any{"type": "allowed_tools", "allowed_tools": map[string]any{
			"mode": "required", "tools": []any{map[string]any{"type": "function", "function": map[string]any{"name": "get_weather"}}},
		}}},
		{"tool_choice custom", map[string]any{"tool_choice": map[string]any{"type": "custom", "custom": map[string]any{"name": "grammar"}}},
			"tool_choice", map[string]any{"type": "custom", "custom": map[string]any{"name": "grammar"}}},
	}
	for _, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			for _, form := range []string{"persistent", "per call"} {
				opt, req := WithModelOptionsMap(tt.opts), withTools(session.ChatRequest{})
				if form == "per call" {
					opt, req.ModelOptions = WithModelOptionsMap(nil), tt.opts
				}
				r := captureRequest(t, "openai/gpt-4.1-mini", opt, req)
				b, err := buildBody(r)
				if err != nil {
					t.Fatal(err)
				}
				validateRequestBody(t, sch, b)
				if d := cmp.Diff(sentBody(t, r)[tt.key], tt.want); d != "" {
					t.Errorf("%s: %s in the body (-got +want):\n%s", form, tt.key, d)
				}
			}
		})
	}
	for _, tt := range []struct {
		opts  map[string]any
		param string
	}{
		{map[string]any{"service_tier": "ultra"}, "service_tier"},
		{map[string]any{"reasoning_effort": "maximum"}, "reasoning_effort"},
		{map[string]any{"tool_choice": map[string]any{"type": "allowed_tools", "allowed_tools": map[string]any{"mode": "none", "tools": []any{}}}}, "tool_choice"},
		{map[string]any{"tool_choice": map[string]any{"type": "mcp", "mcp": map[string]any{"name": "x"}}}, "tool_choice"},
	} {
		_, err := NewLLM("openai/gpt-4.1-mini", WithModelOptionsMap(tt.opts), WithCredentials("k", "s"))
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Param != tt.param {
			t.Errorf("NewLLM(%v) = %v, want an *OptionError for %s", tt.opts, err, tt.param)
		}
	}
}

// TestPerCallToolChoiceReplacesAllowedTools: the session's tool_choice
// (none on the last tool step) wins over persistent allowed_tools, and the
// allowed_tools form goes only with tools.
func TestPerCallToolChoiceReplacesAllowedTools(t *testing.T) {
	opt := WithModelOptions(ModelOptions{AllowedTools: AllowedFunctions("required", "get_weather")})
	r := captureRequest(t, "openai/gpt-4.1-mini", opt, withTools(session.ChatRequest{ToolChoice: session.ToolChoiceNone}))
	if got := sentBody(t, r)["tool_choice"]; got != "none" {
		t.Errorf("tool_choice = %v, want none", got)
	}
	r = captureRequest(t, "openai/gpt-4.1-mini", opt, session.ChatRequest{})
	if _, ok := sentBody(t, r)["tool_choice"]; ok {
		t.Error("allowed_tools sent without tools")
	}
}

// TestExtraBodyAndHeadersFromMap: extra_body, extra_headers and extra_query
// in a map of model options (how the Python and Node configurations write
// them) are merged into the body, the headers and the URL, never sent as
// literal keys.
func TestExtraBodyAndHeadersFromMap(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if got := r.URL.Query().Get("api-version"); got != "2025-01-01" {
			t.Errorf("request %d: query api-version = %q", n, got)
		}
		okStream(w)
	})
	persistent := map[string]any{
		"temperature":   0.7,
		"extra_body":    map[string]any{"top_k": 40, "temperature": 0.2, "chat_template_kwargs": map[string]any{"thinking": false}},
		"extra_headers": map[string]any{"X-Trace-Id": "trace-1", "Authorization": "Bearer not-this"},
		"extra_query":   map[string]any{"api-version": "2025-01-01"},
	}
	m := newGWModel(t, srv.URL+"/v1", WithModelOptionsMap(persistent))
	for _, call := range []map[string]any{nil, {"extra_headers": map[string]any{"X-Call": "c-1"}, "extra_body": map[string]any{"top_k": 10}}} {
		req := gwRequest()
		req.ModelOptions = call
		if d := chatDrained(t, t.Context(), m, req); d.err != nil {
			t.Fatal(d.err)
		}
	}
	for i, want := range []struct {
		topK   float64
		header map[string]string
	}{
		{40, map[string]string{"X-Trace-Id": "trace-1"}},
		{10, map[string]string{"X-Trace-Id": "trace-1", "X-Call": "c-1"}},
	} {
		var body map[string]any
		if err := json.Unmarshal(srv.bodies[i], &body); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"extra_body", "extra_headers", "extra_query"} {
			if _, ok := body[k]; ok {
				t.Errorf("request %d: %s sent as a body key: %s", i, k, srv.bodies[i])
			}
		}
		// extra_body wins over the top-level key, as the OpenAI clients
		// merge it last.
		if body["temperature"] != 0.2 || body["top_k"] != want.topK || body["chat_template_kwargs"] == nil {
			t.Errorf("request %d body = %s", i, srv.bodies[i])
		}
		h := srv.headers[i]
		for k, v := range want.header {
			if got := h.Get(k); got != v {
				t.Errorf("request %d: header %s = %q, want %q", i, k, got, v)
			}
		}
		// The gateway's own headers win over extra headers.
		if a := h.Get("Authorization"); !strings.HasPrefix(a, "Bearer ey") {
			t.Errorf("request %d: Authorization = %q, want the gateway token", i, a)
		}
	}
}

// TestExtraHeaderNamesIgnoreCase: header names are case-insensitive, so a
// per-call extra header wins over a persistent one written in another case
// (it was a coin toss: both went on the request, in map order), and one
// map naming a header twice is refused.
func TestExtraHeaderNamesIgnoreCase(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) { okStream(w) })
	m := newGWModel(t, srv.URL, WithModelOptionsMap(map[string]any{"extra_headers": map[string]any{"X-Trace-Id": "persistent"}}))
	req := gwRequest()
	req.ModelOptions = map[string]any{"extra_headers": map[string]any{"x-trace-id": "per-call"}}
	if d := chatDrained(t, t.Context(), m, req); d.err != nil {
		t.Fatal(d.err)
	}
	if got := srv.headers[0]["X-Trace-Id"]; len(got) != 1 || got[0] != "per-call" {
		t.Errorf("X-Trace-Id = %q, want the per-call value alone", got)
	}
	// Which one the wire shows depended on map order: the merge itself
	// must keep the per-call one alone.
	persistent := ModelOptions{ExtraHeaders: SecretMap{"X-Trace-Id": "persistent", "X-Other": "o"}}
	merged := persistent.Merge(ModelOptions{ExtraHeaders: SecretMap{"x-trace-id": "per-call"}})
	if d := cmp.Diff(map[string]string(merged.ExtraHeaders), map[string]string{"x-trace-id": "per-call", "X-Other": "o"}); d != "" {
		t.Errorf("merged extra headers (-got +want):\n%s", d)
	}
	_, err := NewLLM("openai/gpt-4.1-mini", WithCredentials("k", "s"),
		WithModelOptions(ModelOptions{ExtraHeaders: SecretMap{"X-A": "1", "x-a": "2"}}))
	wantOptionError(t, err, "extra_headers", `"X-A" and "x-a" name one header`)
}
