package inference

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/livekit-go/agents/session"
)

var update = flag.Bool("update", false, "rewrite the golden request bodies in testdata/requests")

// goldenCase is one request whose body is kept in
// testdata/requests/<name>.json.
type goldenCase struct {
	name  string
	model string
	// opts are the persistent options (WithModelOptions).
	opts ModelOptions
	// req is the Chat call; a nil Chat means basicChat.
	req session.ChatRequest
}

func basicChat() *session.ChatContext {
	return session.NewChatContext(
		&session.ChatMessage{ID: "m1", Role: session.RoleSystem, Content: "You are a helpful voice assistant."},
		&session.ChatMessage{ID: "m2", Role: session.RoleUser, Content: "What's the weather in <Paris> & Oslo?"},
	)
}

// toolChat holds each shape of function calling a turn loop produces.
func toolChat() *session.ChatContext {
	return session.NewChatContext(
		&session.ChatMessage{ID: "m1", Role: session.RoleDeveloper, Content: "Answer briefly."},
		&session.ChatMessage{ID: "m2", Role: session.RoleUser, Content: "Weather in Paris and Oslo?"},
		// Text and calls of one assistant turn become one message.
		&session.ChatMessage{ID: "m3", Role: session.RoleAssistant, Content: "Let me check."},
		&session.FunctionCall{ID: "f1", CallID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`},
		&session.FunctionCall{ID: "f2", CallID: "call_2", Name: "get_weather", Arguments: `{"city":"Oslo"}`},
		&session.FunctionCallOutput{ID: "o1", CallID: "call_1", Name: "get_weather", Output: `{"sky":"sunny"}`},
		&session.FunctionCallOutput{ID: "o2", CallID: "call_2", Name: "get_weather", Output: "city not found", IsError: true},
		&session.ChatMessage{ID: "m4", Role: session.RoleAssistant, Content: "Paris is sunny; I could not find Oslo."},
		&session.ChatMessage{ID: "m5", Role: session.RoleUser, Content: "What time is it?"},
		// Calls without text: an assistant message with tool_calls only.
		&session.FunctionCall{ID: "f3", CallID: "call_3", Name: "get_time", Arguments: `{}`},
		&session.FunctionCallOutput{ID: "o3", CallID: "call_3", Name: "get_time", Output: "12:00"},
		// An empty assistant message before a call carries no content.
		&session.ChatMessage{ID: "m6", Role: session.RoleAssistant, Content: ""},
		&session.FunctionCall{ID: "f4", CallID: "call_4", Name: "get_time", Arguments: `{"tz":"UTC"}`},
		&session.FunctionCallOutput{ID: "o4", CallID: "call_4", Name: "get_time", Output: ""},
		&session.ChatMessage{ID: "m7", Role: session.RoleAssistant, Content: "It is noon.", Interrupted: true},
	)
}

func testTools() []session.ToolDefinition {
	return []session.ToolDefinition{
		{
			Name:        "get_weather",
			Description: "Current weather for a city.",
			Parameters:  json.RawMessage(`{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}`),
			Strict:      true,
		},
		{Name: "get_time"},
	}
}

func withTools(r session.ChatRequest) session.ChatRequest {
	r.Tools = testTools()
	return r
}

func goldenCases() []goldenCase {
	const gpt41 = "openai/gpt-4.1-mini"
	one := func(name string, o ModelOptions) goldenCase { return goldenCase{name: name, model: gpt41, opts: o} }
	all := ModelOptions{
		Temperature:         new(0.7),
		MaxTokens:           new(256),
		MaxCompletionTokens: new(1000),
		ReasoningEffort:     new("low"),
		FrequencyPenalty:    new(0.0),
		PresencePenalty:     new(-0.5),
		Seed:                new(int64(0)),
		Stop:                StopList("\n\n", "END"),
		N:                   new(1),
		Logprobs:            new(true),
		TopLogprobs:         new(0),
		LogitBias:           map[string]int{"50256": -100, "198": 5},
		ParallelToolCalls:   new(false),
		ToolChoice:          new(session.ToolChoiceFunction("get_weather")),
		User:                new("user-1234"),
		ServiceTier:         new("default"),
		Metadata:            map[string]string{"team": "voice", "env": "test"},
		Store:               new(false),
		Prediction:          &Prediction{Content: "The weather in Paris is"},
		Modalities:          []string{"text"},
		WebSearchOptions:    &WebSearchOptions{SearchContextSize: "medium"},
		Verbosity:           new("medium"),
		PromptCacheKey:      new("voice-agent-v1"),
		SafetyIdentifier:    new("5f0c2a"),
		Extra:               map[string]any{"top_k": 40, "min_p": 0.05},
	}
	// Everything the reasoning rule strips, valid together (top_p aside).
	reasoningAll := stripAll()
	reasoningAll.TopP = nil
	reasoningAll.Logprobs = new(true)
	reasoningAll.Stop = StopList("END")
	return []goldenCase{
		one("minimal", ModelOptions{}),
		// One option at a time; zeros and false are sent when set.
		one("temperature", ModelOptions{Temperature: new(0.7)}),
		one("temperature_0", ModelOptions{Temperature: new(0.0)}),
		one("top_p", ModelOptions{TopP: new(0.0)}),
		one("max_tokens", ModelOptions{MaxTokens: new(256)}),
		one("max_completion_tokens", ModelOptions{MaxCompletionTokens: new(1000)}),
		one("reasoning_effort", ModelOptions{ReasoningEffort: new("xhigh")}),
		one("frequency_penalty_0", ModelOptions{FrequencyPenalty: new(0.0)}),
		one("presence_penalty_0", ModelOptions{PresencePenalty: new(0.0)}),
		one("penalties", ModelOptions{FrequencyPenalty: new(1.5), PresencePenalty: new(-2.0)}),
		one("seed_0", ModelOptions{Seed: new(int64(0))}),
		one("seed_min", ModelOptions{Seed: new(int64(-9223372036854775808))}),
		one("stop_string", ModelOptions{Stop: StopString("\n")}),
		one("stop_list", ModelOptions{Stop: StopList("\n", "User:", "</s>", "###")}),
		one("stop_list_one", ModelOptions{Stop: StopList("\n")}),
		one("n", ModelOptions{N: new(3)}),
		one("logprobs_false", ModelOptions{Logprobs: new(false)}),
		one("logprobs_top_logprobs", ModelOptions{Logprobs: new(true), TopLogprobs: new(20)}),
		one("logit_bias", ModelOptions{LogitBias: map[string]int{"50256": -100, "198": 0, "1734": 100}}),
		one("user", ModelOptions{User: new("user-1234")}),
		one("service_tier", ModelOptions{ServiceTier: new("flex")}),
		one("metadata", ModelOptions{Metadata: map[string]string{"session": "s-1", "agent": "<front desk>"}}),
		one("store_false", ModelOptions{Store: new(false)}),
		one("store_true", ModelOptions{Store: new(true)}),
		one("prediction_content", ModelOptions{Prediction: &Prediction{Content: "The weather in Paris is"}}),
		one("prediction_parts", ModelOptions{Prediction: &Prediction{Parts: []string{"The weather ", "in Paris is"}}}),
		one("modalities", ModelOptions{Modalities: []string{"text", "audio"}, Extra: map[string]any{"audio": map[string]any{"voice": "alloy", "format": "pcm16"}}}),
		one("web_search_options", ModelOptions{WebSearchOptions: &WebSearchOptions{SearchContextSize: "high", UserLocation: &WebSearchLocation{City: "San Francisco", Country: "US", Region: "California", Timezone: "America/Los_Angeles"}}}),
		one("web_search_options_empty", ModelOptions{WebSearchOptions: &WebSearchOptions{}}),
		one("verbosity", ModelOptions{Verbosity: new("low")}),
		one("prompt_cache_key", ModelOptions{PromptCacheKey: new("voice-agent-v1")}),
		one("safety_identifier", ModelOptions{SafetyIdentifier: new("5f0c2a")}),
		one("extra", ModelOptions{Extra: map[string]any{"top_k": 40, "response_format": map[string]any{"type": "json_object"}, "repetition_penalty": 1.1}}),
		one("all_options_without_tools", all),
		{name: "all_options_with_tools", model: gpt41, opts: all, req: withTools(session.ChatRequest{})},

		// Tools, tool_choice and parallel_tool_calls.
		{name: "tools", model: gpt41, req: withTools(session.ChatRequest{})},
		{name: "tool_choice_auto", model: gpt41, req: withTools(session.ChatRequest{ToolChoice: session.ToolChoiceAuto})},
		{name: "tool_choice_required", model: gpt41, req: withTools(session.ChatRequest{ToolChoice: session.ToolChoiceRequired})},
		{name: "tool_choice_none", model: gpt41, req: withTools(session.ChatRequest{ToolChoice: session.ToolChoiceNone})},
		{name: "tool_choice_function", model: gpt41, req: withTools(session.ChatRequest{ToolChoice: session.ToolChoiceFunction("get_weather")})},
		{name: "tool_choice_from_options", model: gpt41, opts: ModelOptions{ToolChoice: new(session.ToolChoiceRequired)}, req: withTools(session.ChatRequest{})},
		{name: "parallel_tool_calls_false", model: gpt41, req: withTools(session.ChatRequest{ParallelToolCalls: new(false)})},
		{name: "parallel_tool_calls_true", model: gpt41, opts: ModelOptions{ParallelToolCalls: new(true)}, req: withTools(session.ChatRequest{})},
		// Without tools, tool_choice and parallel_tool_calls are not sent.
		{name: "tool_options_without_tools", model: gpt41, opts: ModelOptions{ToolChoice: new(session.ToolChoiceRequired), ParallelToolCalls: new(false)}, req: session.ChatRequest{ToolChoice: session.ToolChoiceNone}},
		{name: "messages_function_calls", model: gpt41, req: withTools(session.ChatRequest{Chat: toolChat()})},

		// Per-call options win over persistent ones.
		{name: "per_call_override", model: gpt41, opts: ModelOptions{Temperature: new(0.2), MaxCompletionTokens: new(100), Extra: map[string]any{"top_k": 10}}, req: session.ChatRequest{ModelOptions: map[string]any{"temperature": 0.0, "seed": 42.0, "top_k": json.Number("20")}}},

		// Model families.
		{name: "family_openai_reasoning_o3", model: "openai/o3", opts: reasoningAll},
		{name: "family_openai_reasoning_o1_no_provider", model: "o1", opts: reasoningAll},
		{name: "family_openai_reasoning_o4_mini", model: "openai/o4-mini", opts: ModelOptions{Temperature: new(0.3), MaxTokens: new(500), ReasoningEffort: new("high")}},
		{name: "family_openai_reasoning_gpt5", model: "openai/gpt-5", opts: reasoningAll},
		{name: "family_openai_reasoning_both_max", model: "openai/gpt-5-mini", opts: ModelOptions{MaxTokens: new(100), MaxCompletionTokens: new(2000)}},
		{name: "family_gpt5.2_with_tools", model: "openai/gpt-5.2", opts: ModelOptions{ReasoningEffort: new("none"), Verbosity: new("low")}, req: withTools(session.ChatRequest{})},
		{name: "family_gpt5.2_without_tools", model: "openai/gpt-5.2", opts: ModelOptions{ReasoningEffort: new("none"), Verbosity: new("low")}},
		{name: "family_gpt5.4_with_tools", model: "gpt-5.4-mini", opts: ModelOptions{ReasoningEffort: new("minimal")}, req: withTools(session.ChatRequest{})},
		{name: "family_xai_grok_4_1_fast_reasoning", model: "xai/grok-4-1-fast-reasoning", opts: ModelOptions{Temperature: new(0.5), PresencePenalty: new(0.5), FrequencyPenalty: new(0.0), Stop: StopString("\n")}},
		{name: "family_xai_grok_4.20_reasoning", model: "xai/grok-4.20-0309-reasoning", opts: ModelOptions{PresencePenalty: new(0.5), Stop: StopList("a"), MaxTokens: new(50)}},
		{name: "family_xai_grok_4.20_multi_agent", model: "xai/grok-4.20-multi-agent", opts: ModelOptions{FrequencyPenalty: new(1.0), Seed: new(int64(7))}},
		{name: "family_xai_non_reasoning", model: "xai/grok-4-1-fast-non-reasoning", opts: ModelOptions{PresencePenalty: new(0.5), Stop: StopString("\n")}},
		{name: "family_other_provider", model: "google/gemini-2.5-flash", opts: ModelOptions{Temperature: new(1.0), MaxTokens: new(64), Extra: map[string]any{"top_k": 32}}},
	}
}

var errCaptured = errors.New("captured")

// captureRequest builds the model through the real option chain (merge,
// validate, model rules, tool rules) and returns the request that would
// reach the gateway.
func captureRequest(t testing.TB, model string, opt Option, req session.ChatRequest) *Request {
	t.Helper()
	var got *Request
	capture := func(next Handler) Handler {
		return func(ctx context.Context, r *Request) (session.LLMStream, error) {
			c := *r
			got = &c
			return nil, errCaptured
		}
	}
	m, err := NewLLM(model, opt,
		WithBaseURL("http://127.0.0.1:9/v1"), WithCredentials("key", "secret"),
		WithMiddleware(capture))
	if err != nil {
		t.Fatalf("NewLLM(%s) error = %v", model, err)
	}
	if req.Chat == nil {
		req.Chat = basicChat()
	}
	if _, err := m.Chat(t.Context(), req); !errors.Is(err, errCaptured) {
		t.Fatalf("Chat() error = %v, want the capture", err)
	}
	return got
}

func goldenPath(name string) string { return filepath.Join("testdata", "requests", name+".json") }

// indent is how golden files hold a body: the exact bytes, indented for
// review. Indenting changes only whitespace, so comparing indented forms
// compares every token and the key order.
func indent(t testing.TB, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

func TestGoldenRequestBodies(t *testing.T) {
	sch := loadRequestSchema(t)
	seen := map[string]bool{}
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			if seen[tc.name] {
				t.Fatalf("duplicate case %s", tc.name)
			}
			seen[tc.name] = true
			r := captureRequest(t, tc.model, WithModelOptions(tc.opts), tc.req)
			body, err := buildBody(r)
			if err != nil {
				t.Fatalf("buildBody() error = %v", err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, body); err != nil || !bytes.Equal(compact.Bytes(), body) {
				t.Errorf("body is not compact JSON (err %v):\n%s", err, body)
			}
			validateRequestBody(t, sch, body)

			// The map form of the same options gives the same bytes.
			rm := captureRequest(t, tc.model, WithModelOptionsMap(tc.opts.Map()), tc.req)
			if bodyMap, err := buildBody(rm); err != nil || !bytes.Equal(bodyMap, body) {
				t.Errorf("map form body differs (err %v):\nmap:   %s\ntyped: %s", err, bodyMap, body)
			}

			got := indent(t, body)
			path := goldenPath(tc.name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(got), string(want)); diff != "" {
				t.Errorf("body of %s mismatch (-got +want):\n%s", path, diff)
			}
		})
	}

	// Every golden file belongs to a case, so none goes stale unnoticed.
	files, err := filepath.Glob(filepath.Join("testdata", "requests", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".json"); !seen[name] {
			t.Errorf("%s has no golden case", f)
		}
	}
}

// TestBuildBodyRules pins the rules the golden files show, so a wrong
// -update cannot quietly change them.
func TestBuildBodyRules(t *testing.T) {
	t.Run("set zeros are sent, unset are not", func(t *testing.T) {
		m := sentBody(t, &Request{Model: "m", Chat: basicChat(), Options: ModelOptions{Temperature: new(0.0), Store: new(false), Seed: new(int64(0)), PresencePenalty: new(0.0)}})
		for _, k := range []string{"temperature", "store", "seed", "presence_penalty"} {
			if _, ok := m[k]; !ok {
				t.Errorf("%s missing", k)
			}
		}
		for _, k := range []string{"top_p", "max_tokens", "n", "tools", "tool_choice", "parallel_tool_calls", "user"} {
			if _, ok := m[k]; ok {
				t.Errorf("%s sent though unset", k)
			}
		}
		if m["stream"] != true || m["stream_options"].(map[string]any)["include_usage"] != true {
			t.Errorf("stream = %v, stream_options = %v", m["stream"], m["stream_options"])
		}
	})
	t.Run("typed field wins over Extra", func(t *testing.T) {
		m := sentBody(t, &Request{Model: "m", Chat: basicChat(), Options: ModelOptions{
			Temperature: new(0.5),
			Extra:       map[string]any{"temperature": 1.5, "stream": false, "model": "x", "top_k": 3},
		}})
		if m["temperature"] != 0.5 || m["stream"] != true || m["model"] != "m" || m["top_k"] != 3.0 {
			t.Errorf("body = %v", m)
		}
	})
	t.Run("no HTML escaping", func(t *testing.T) {
		b, err := buildBody(&Request{Model: "m", Chat: basicChat(), Options: ModelOptions{
			Stop:             StopList("</s>"),
			Prediction:       &Prediction{Content: "<p>", Parts: []string{"<a&b>"}},
			WebSearchOptions: &WebSearchOptions{UserLocation: &WebSearchLocation{City: "<c>"}},
			ToolChoice:       new(session.ToolChoiceFunction("<f>")),
			Metadata:         map[string]string{"<k>": "<v>"},
			Extra:            map[string]any{"<x>": "<y>"},
		}})
		if err != nil || bytes.Contains(b, []byte(`\u003c`)) || bytes.Count(b, []byte("<")) != 9 {
			t.Errorf("buildBody() = %s, %v; want every < unescaped", b, err)
		}
	})
	t.Run("model verbatim", func(t *testing.T) {
		m := sentBody(t, &Request{Model: "Provider/Some-Model:free", Chat: basicChat()})
		if m["model"] != "Provider/Some-Model:free" {
			t.Errorf("model = %v", m["model"])
		}
	})
	t.Run("empty chat sends an empty list", func(t *testing.T) {
		m := sentBody(t, &Request{Model: "m", Chat: &session.ChatContext{}})
		if msgs, ok := m["messages"].([]any); !ok || len(msgs) != 0 {
			t.Errorf("messages = %#v", m["messages"])
		}
	})
}

func TestBuildBodyErrors(t *testing.T) {
	tests := []struct {
		name string
		r    *Request
		want string
	}{
		{"unknown role", &Request{Chat: session.NewChatContext(&session.ChatMessage{ID: "x", Role: "narrator"})}, `inference: chat item 0 (x): unknown role "narrator"`},
		{"nil item", &Request{Chat: session.NewChatContext(nil)}, "inference: chat item 0 is nil"},
		{"typed nil item", &Request{Chat: session.NewChatContext((*session.FunctionCall)(nil))}, "inference: chat item 0 is nil"},
		{"bad tool parameters", &Request{Chat: basicChat(), Tools: []session.ToolDefinition{{Name: "f", Parameters: json.RawMessage(`{`)}}}, `inference: tool "f": parameters are not valid JSON`},
		{"unencodable extra", &Request{Chat: basicChat(), Options: ModelOptions{Extra: map[string]any{"x": func() {}}}}, "inference: x: json: unsupported type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := buildBody(tt.r)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("buildBody() error = %v, want %q", err, tt.want)
			}
		})
	}
}

// loadRequestSchema compiles CreateChatCompletionRequest from the official
// OpenAPI document.
var requestSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	// The document the package embeds (schema.go), so tests and validation
	// read the same one.
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(openAPIDocument)) // numbers as json.Number: seed's bounds exceed float64 precision
	if err != nil {
		return nil, err
	}
	const url = "file:///chat-completions.openapi.json"
	c := jsonschema.NewCompiler()
	// OpenAPI 3.1 schemas are JSON Schema 2020-12; the document has no
	// $schema of its own.
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(url, rewriteNullable(doc)); err != nil {
		return nil, err
	}
	// The document is not a schema, but a JSON pointer into it names one;
	// its $refs (#/components/schemas/...) resolve against the document.
	return c.Compile(url + "#/components/schemas/CreateChatCompletionRequest")
})

func loadRequestSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	sch, err := requestSchema()
	if err != nil {
		t.Fatalf("compiling the request schema: %v", err)
	}
	return sch
}

// rewriteNullable turns OpenAPI 3.0's `nullable: true`, which this 3.1
// document still uses in places and which JSON Schema does not know (a
// validator would ignore it and reject null), into JSON Schema: a type
// string gains "null", other schemas become anyOf [schema, {type: null}].
// Other OpenAPI-isms need nothing: `discriminator`, `example` and `x-*` are
// unknown keywords, which 2020-12 treats as annotations, and `oneOf` stays
// exact because each branch's enum or type tells them apart.
func rewriteNullable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = rewriteNullable(e)
		}
		if v["nullable"] != true {
			delete(v, "nullable")
			return v
		}
		delete(v, "nullable")
		if t, ok := v["type"].(string); ok {
			v["type"] = []any{t, "null"}
			return v
		}
		return map[string]any{"anyOf": []any{v, map[string]any{"type": "null"}}}
	case []any:
		for i, e := range v {
			v[i] = rewriteNullable(e)
		}
		return v
	default:
		return v
	}
}

func validateRequestBody(t testing.TB, sch *jsonschema.Schema, body []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("body does not match CreateChatCompletionRequest: %v\n%s", err, body)
	}
}

// The schema check is only worth something if it can fail.
func TestRequestSchemaRejects(t *testing.T) {
	sch := loadRequestSchema(t)
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	for _, body := range []string{
		`{"model":"m","messages":[]}`,
		`{"model":"m",` + msgs + `,"temperature":3}`,
		`{"model":"m",` + msgs + `,"top_logprobs":21}`,
		`{"model":"m",` + msgs + `,"stop":["a","b","c","d","e"]}`,
		`{"model":"m",` + msgs + `,"reasoning_effort":"extreme"}`,
		`{"model":"m",` + msgs + `,"tool_choice":"any"}`,
		`{"model":"m",` + msgs + `,"n":0}`,
		`{"model":"m",` + msgs + `,"metadata":{"a":1}}`,
		`{"model":"m",` + msgs + `,"prediction":{"type":"content"}}`,
		`{"model":"m",` + msgs + `,"web_search_options":{"user_location":{"type":"exact","approximate":{}}}}`,
		`{"model":"m","messages":[{"role":"tool","content":"x"}]}`,
		`{"model":"m","messages":[{"role":"narrator","content":"x"}]}`,
		`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f"}}]}]}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(inst) == nil {
			t.Errorf("schema accepts %s", body)
		}
	}
	// nullable became null-accepting, as OpenAPI means it.
	inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"model":"m",` + msgs + `,"max_completion_tokens":null,"stop":null,"store":null}`))
	if err := sch.Validate(inst); err != nil {
		t.Errorf("schema rejects null for nullable fields: %v", err)
	}
}

func BenchmarkBuildBody(b *testing.B) {
	r := captureRequest(b, "openai/gpt-4.1-mini", WithModelOptions(ModelOptions{
		Temperature: new(0.7), MaxCompletionTokens: new(1000), Stop: StopString("\n"), Extra: map[string]any{"top_k": 40},
	}), withTools(session.ChatRequest{Chat: toolChat()}))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := buildBody(r); err != nil {
			b.Fatal(err)
		}
	}
}
