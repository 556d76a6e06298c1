package inference

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
)

// wantOptionError checks that err is an *OptionError naming param, with a
// message containing wantIn after the parameter.
func wantOptionError(t *testing.T, err error, param, wantIn string) {
	t.Helper()
	if err == nil {
		t.Fatal("error = nil, want one")
	}
	var oe *OptionError
	if !errors.As(err, &oe) {
		t.Fatalf("error = %T %v, want *OptionError", err, err)
	}
	if oe.Param != param {
		t.Errorf("Param = %q, want %q", oe.Param, param)
	}
	prefix := "inference: " + param + ": "
	if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, wantIn) {
		t.Errorf("error = %q, want prefix %q containing %q", msg, prefix, wantIn)
	}
}

// TestValidateRejects holds the rules every model shares.
func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name      string
		o         ModelOptions
		wantParam string
		wantIn    string // part of the message after the parameter
	}{
		{"temperature and top_p", ModelOptions{Temperature: new(0.5), TopP: new(0.5)}, "temperature", "set this or top_p, but not both"},
		{"temperature below 0", ModelOptions{Temperature: new(-0.1)}, "temperature", "-0.1 is less than 0"},
		{"temperature NaN", ModelOptions{Temperature: new(math.NaN())}, "temperature", "not a finite number"},
		{"temperature Inf", ModelOptions{Temperature: new(math.Inf(1))}, "temperature", "not a finite number"},
		{"top_p above 1", ModelOptions{TopP: new(1.5)}, "top_p", "outside 0..1"},
		{"top_p below 0", ModelOptions{TopP: new(-1.0)}, "top_p", "outside 0..1"},
		{"frequency_penalty -Inf", ModelOptions{FrequencyPenalty: new(math.Inf(-1))}, "frequency_penalty", "not a finite number"},
		{"presence_penalty NaN", ModelOptions{PresencePenalty: new(math.NaN())}, "presence_penalty", "not a finite number"},
		{"top_logprobs without logprobs", ModelOptions{TopLogprobs: new(3)}, "top_logprobs", "requires logprobs=true"},
		{"top_logprobs with logprobs false", ModelOptions{Logprobs: new(false), TopLogprobs: new(3)}, "top_logprobs", "requires logprobs=true"},
		{"top_logprobs negative", ModelOptions{Logprobs: new(true), TopLogprobs: new(-1)}, "top_logprobs", "-1 is less than 0"},
		{"logit_bias word key", ModelOptions{LogitBias: map[string]int{"hello": 1}}, "logit_bias", "not a token id"},
		{"logit_bias signed key", ModelOptions{LogitBias: map[string]int{"-1": 1}}, "logit_bias", "not a token id"},
		{"logit_bias empty key", ModelOptions{LogitBias: map[string]int{"": 1}}, "logit_bias", "not a token id"},
		{"n zero", ModelOptions{N: new(0)}, "n", "less than 1"},
		{"max_tokens zero", ModelOptions{MaxTokens: new(0)}, "max_tokens", "less than 1"},
		{"max_completion_tokens negative", ModelOptions{MaxCompletionTokens: new(-5)}, "max_completion_tokens", "less than 1"},
		{"stop empty list", ModelOptions{Stop: StopList()}, "stop", "empty list"},
		{"reasoning_effort", ModelOptions{ReasoningEffort: new("extreme")}, "reasoning_effort", `unknown value "extreme"`},
		{"service_tier outside the schema", ModelOptions{ServiceTier: new("ultra")}, "service_tier", `unknown value "ultra"`},
		{"verbosity", ModelOptions{Verbosity: new("loud")}, "verbosity", `unknown value "loud"`},
		{"tool_choice mode", ModelOptions{ToolChoice: &session.ToolChoice{Mode: "any"}}, "tool_choice", `unknown mode "any"`},
		{"tool_choice empty mode", ModelOptions{ToolChoice: &session.ToolChoice{}}, "tool_choice", `unknown mode ""`},
		{"tool_choice function without name", ModelOptions{ToolChoice: &session.ToolChoice{Mode: "function"}}, "tool_choice", "function name is empty"},
		{"tool_choice custom without name", ModelOptions{ToolChoice: &session.ToolChoice{Mode: "custom"}}, "tool_choice", "custom name is empty"},
		{"tool_choice name with mode", ModelOptions{ToolChoice: &session.ToolChoice{Mode: "auto", Function: "f"}}, "tool_choice", `function "f" given with mode "auto"`},
		{"allowed_tools mode", ModelOptions{AllowedTools: AllowedFunctions("none", "f")}, "tool_choice", `unknown allowed_tools mode "none"`},
		{"tool_choice in both forms", ModelOptions{ToolChoice: new(session.ToolChoiceAuto), AllowedTools: AllowedFunctions("auto", "f")}, "tool_choice", "set one"},
		{"modalities", ModelOptions{Modalities: []string{"text", "video"}}, "modalities", `unknown value "video"`},
		{"web_search_options", ModelOptions{WebSearchOptions: &WebSearchOptions{SearchContextSize: "huge"}}, "web_search_options", `unknown search_context_size "huge"`},
		{"extra shadows typed", ModelOptions{Extra: map[string]any{"temperature": 0.5}}, "temperature", "use the ModelOptions field"},
		{"extra shadows extra_headers", ModelOptions{Extra: map[string]any{"extra_headers": map[string]any{}}}, "extra_headers", "use the ModelOptions field"},
		{"extra holds extra_body", ModelOptions{Extra: map[string]any{"extra_body": map[string]any{"top_k": 1}}}, "extra_body", "put its keys in Extra"},
		{"extra reserved", ModelOptions{Extra: map[string]any{"stream": false}}, "stream", "owned by the request"},
		{"extra reserved messages", ModelOptions{Extra: map[string]any{"messages": []any{}}}, "messages", "owned by the request"},
		{"extra header name", ModelOptions{ExtraHeaders: map[string]string{"Bad Header": "x"}}, "extra_headers", `"Bad Header" is not a valid header name`},
		{"extra header value", ModelOptions{ExtraHeaders: map[string]string{"X-A": "a\r\nX-B: b"}}, "extra_headers", "control character"},
		{"extra query key", ModelOptions{ExtraQuery: map[string]string{"": "x"}}, "extra_query", "empty key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOptionError(t, tt.o.Validate(), tt.wantParam, tt.wantIn)
			// A provider's limits add to these; they never lift them.
			for _, model := range []string{"openai/gpt-4.1-mini", "google/gemini-2.5-flash"} {
				wantOptionError(t, tt.o.ValidateFor(model), tt.wantParam, tt.wantIn)
			}
		})
	}
}

func TestValidateTemperatureTopPMessage(t *testing.T) {
	err := ModelOptions{Temperature: new(0.0), TopP: new(1.0)}.Validate()
	if got, want := fmt.Sprint(err), "inference: temperature: set this or top_p, but not both"; got != want {
		t.Errorf("Validate() = %q, want %q", got, want)
	}
}

// TestProviderLimitsApplyToTheirProvider: OpenAI's ranges (from its schema,
// and the metadata and logit_bias limits of its prose) refuse on openai/
// models only; the parameter reference says ranges vary by model.
func TestProviderLimitsApplyToTheirProvider(t *testing.T) {
	metadata := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprint("k", i)] = "v"
		}
		return m
	}
	tests := []struct {
		name      string
		o         ModelOptions
		wantParam string
		wantIn    string
	}{
		{"temperature above 2", ModelOptions{Temperature: new(2.01)}, "temperature", "outside 0..2"},
		{"frequency_penalty", ModelOptions{FrequencyPenalty: new(2.5)}, "frequency_penalty", "outside -2..2"},
		{"presence_penalty", ModelOptions{PresencePenalty: new(-2.5)}, "presence_penalty", "outside -2..2"},
		{"top_logprobs above 20", ModelOptions{Logprobs: new(true), TopLogprobs: new(21)}, "top_logprobs", "outside 0..20"},
		{"n above 128", ModelOptions{N: new(129)}, "n", "outside 1..128"},
		{"logit_bias value", ModelOptions{LogitBias: map[string]int{"50256": 101}}, "logit_bias", "outside -100..100"},
		{"logit_bias negative value", ModelOptions{LogitBias: map[string]int{"1": -101}}, "logit_bias", "outside -100..100"},
		{"stop five", ModelOptions{Stop: StopList("a", "b", "c", "d", "e")}, "stop", "at most 4"},
		{"metadata 17 pairs", ModelOptions{Metadata: metadata(17)}, "metadata", "at most 16"},
		{"metadata long key", ModelOptions{Metadata: map[string]string{strings.Repeat("k", 65): "v"}}, "metadata", "longer than 64"},
		{"metadata long value", ModelOptions{Metadata: map[string]string{"k": strings.Repeat("é", 513)}}, "metadata", "longer than 512"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, model := range []string{"openai/gpt-4.1-mini", "OpenAI/gpt-4o"} {
				wantOptionError(t, tt.o.ValidateFor(model), tt.wantParam, tt.wantIn)
			}
			for _, model := range []string{"google/gemini-2.5-flash", "deepseek-ai/deepseek-v3", "xai/grok-4-1-fast-non-reasoning", "gpt-4.1-mini"} {
				if err := tt.o.ValidateFor(model); err != nil {
					t.Errorf("ValidateFor(%s) = %v, want nil: the limit is OpenAI's", model, err)
				}
			}
			if err := tt.o.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil: it applies no provider's limits", err)
			}
		})
	}
	// Through a request: five stop sequences reach a Gemini model, and are
	// refused for an OpenAI one before anything is sent.
	five := ModelOptions{Stop: StopList("a", "b", "c", "d", "e")}
	r := captureRequest(t, "google/gemini-2.5-flash", WithModelOptions(five), session.ChatRequest{})
	if got := r.Options.Stop.Sequences(); len(got) != 5 {
		t.Errorf("stop sent to gemini = %v, want the five", got)
	}
	if _, err := NewLLM("openai/gpt-4.1-mini", WithModelOptions(five), WithCredentials("k", "s")); err == nil {
		t.Error("NewLLM(openai/gpt-4.1-mini) with five stop sequences: no error")
	}
}

func TestValidateAccepts(t *testing.T) {
	md := map[string]string{}
	for i := range 16 {
		md[fmt.Sprintf("%064d", i)] = strings.Repeat("é", 512)
	}
	tests := []struct {
		name string
		o    ModelOptions
	}{
		{"zero", ModelOptions{}},
		{"temperature bounds low", ModelOptions{Temperature: new(0.0)}},
		{"temperature bounds high", ModelOptions{Temperature: new(2.0)}},
		{"top_p bounds", ModelOptions{TopP: new(0.0)}},
		{"top_p one", ModelOptions{TopP: new(1.0)}},
		{"penalties", ModelOptions{FrequencyPenalty: new(-2.0), PresencePenalty: new(2.0)}},
		{"top_logprobs 0", ModelOptions{Logprobs: new(true), TopLogprobs: new(0)}},
		{"top_logprobs 20", ModelOptions{Logprobs: new(true), TopLogprobs: new(20)}},
		{"logprobs false alone", ModelOptions{Logprobs: new(false)}},
		{"logit_bias bounds", ModelOptions{LogitBias: map[string]int{"0": -100, "50256": 100}}},
		{"logit_bias empty", ModelOptions{LogitBias: map[string]int{}}},
		{"n 1", ModelOptions{N: new(1)}},
		{"n 128", ModelOptions{N: new(128)}},
		{"max tokens 1", ModelOptions{MaxTokens: new(1), MaxCompletionTokens: new(1)}},
		{"seed 0", ModelOptions{Seed: new(int64(0))}},
		{"seed negative", ModelOptions{Seed: new(int64(math.MinInt64))}},
		{"stop string", ModelOptions{Stop: StopString("\n")}},
		{"stop empty string", ModelOptions{Stop: StopString("")}},
		{"stop four", ModelOptions{Stop: StopList("a", "b", "c", "d")}},
		{"metadata at limits", ModelOptions{Metadata: md}},
		{"store false", ModelOptions{Store: new(false)}},
		{"tool_choice function", ModelOptions{ToolChoice: new(session.ToolChoiceFunction("get_weather"))}},
		{"tool_choice custom", ModelOptions{ToolChoice: &session.ToolChoice{Mode: "custom", Function: "grammar"}}},
		{"tool_choice allowed_tools", ModelOptions{AllowedTools: AllowedFunctions("required", "get_weather", "get_time")}},
		{"tool_choice modes", ModelOptions{ToolChoice: new(session.ToolChoiceRequired)}},
		{"modalities", ModelOptions{Modalities: []string{"text", "audio"}}},
		{"web search", ModelOptions{WebSearchOptions: &WebSearchOptions{SearchContextSize: "low", UserLocation: &WebSearchLocation{Country: "US"}}}},
		{"user", ModelOptions{User: new("u-1")}},
		{"extra", ModelOptions{Extra: map[string]any{"top_k": 40, "response_format": map[string]any{"type": "json_object"}}}},
		{"extra headers and query", ModelOptions{ExtraHeaders: map[string]string{"X-Trace-Id": "t-1"}, ExtraQuery: map[string]string{"api-version": "2025-01-01"}}},
	}
	f, err := openAIFacts()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		key    string
		values []string
		set    func(v string) ModelOptions
	}{
		{"reasoning_effort", f.reasoningEfforts, func(v string) ModelOptions { return ModelOptions{ReasoningEffort: new(v)} }},
		{"service_tier", f.serviceTiers, func(v string) ModelOptions { return ModelOptions{ServiceTier: new(v)} }},
		{"verbosity", f.verbosities, func(v string) ModelOptions { return ModelOptions{Verbosity: new(v)} }},
	} {
		for _, v := range e.values {
			tests = append(tests, struct {
				name string
				o    ModelOptions
			}{e.key + " " + v, e.set(v)})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.o.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
			if err := tt.o.ValidateFor("openai/gpt-4.1-mini"); err != nil {
				t.Errorf("ValidateFor(openai/gpt-4.1-mini) = %v, want nil", err)
			}
		})
	}
}

func TestParseModelOptions(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want ModelOptions
	}{
		{"nil", nil, ModelOptions{}},
		{"float64", map[string]any{"temperature": 0.7, "max_completion_tokens": 1000.0}, ModelOptions{Temperature: new(0.7), MaxCompletionTokens: new(1000)}},
		{"ints", map[string]any{"temperature": 1, "max_tokens": int64(5), "n": int32(2), "seed": uint8(3)}, ModelOptions{Temperature: new(1.0), MaxTokens: new(5), N: new(2), Seed: new(int64(3))}},
		{"json.Number", map[string]any{"top_p": json.Number("0.25"), "top_logprobs": json.Number("3"), "logprobs": true, "seed": json.Number("-9223372036854775808")}, ModelOptions{TopP: new(0.25), TopLogprobs: new(3), Logprobs: new(true), Seed: new(int64(math.MinInt64))}},
		{"json.Number integral float", map[string]any{"max_tokens": json.Number("1e3"), "n": json.Number("2.0")}, ModelOptions{MaxTokens: new(1000), N: new(2)}},
		{"zero values", map[string]any{"temperature": 0.0, "presence_penalty": 0, "store": false, "seed": 0}, ModelOptions{Temperature: new(0.0), PresencePenalty: new(0.0), Store: new(false), Seed: new(int64(0))}},
		{"null leaves unset", map[string]any{"temperature": nil, "stop": nil}, ModelOptions{}},
		{"null in extra_body unsets the top-level key", map[string]any{"temperature": 0.7, "seed": 1, "extra_body": map[string]any{"temperature": nil}}, ModelOptions{Seed: new(int64(1))}},
		{"stop string", map[string]any{"stop": "\n"}, ModelOptions{Stop: StopString("\n")}},
		{"stop list", map[string]any{"stop": []any{"\n"}}, ModelOptions{Stop: StopList("\n")}},
		{"stop []string", map[string]any{"stop": []string{"a", "b"}}, ModelOptions{Stop: StopList("a", "b")}},
		{"tool_choice mode", map[string]any{"tool_choice": "required"}, ModelOptions{ToolChoice: &session.ToolChoice{Mode: "required"}}},
		{"tool_choice named", map[string]any{"tool_choice": map[string]any{"type": "function", "function": map[string]any{"name": "lookup"}}}, ModelOptions{ToolChoice: new(session.ToolChoiceFunction("lookup"))}},
		{"tool_choice unknown mode parses, Validate rejects", map[string]any{"tool_choice": "any"}, ModelOptions{ToolChoice: &session.ToolChoice{Mode: "any"}}},
		{"logit_bias", map[string]any{"logit_bias": map[string]any{"50256": -100.0, "13": json.Number("5")}}, ModelOptions{LogitBias: map[string]int{"50256": -100, "13": 5}}},
		{"metadata", map[string]any{"metadata": map[string]any{"team": "voice"}}, ModelOptions{Metadata: map[string]string{"team": "voice"}}},
		{"strings and bools", map[string]any{"reasoning_effort": "low", "user": "u", "service_tier": "flex", "verbosity": "high", "prompt_cache_key": "p", "safety_identifier": "s", "parallel_tool_calls": false}, ModelOptions{ReasoningEffort: new("low"), User: new("u"), ServiceTier: new("flex"), Verbosity: new("high"), PromptCacheKey: new("p"), SafetyIdentifier: new("s"), ParallelToolCalls: new(false)}},
		{"modalities", map[string]any{"modalities": []any{"text", "audio"}}, ModelOptions{Modalities: []string{"text", "audio"}}},
		{"prediction string", map[string]any{"prediction": map[string]any{"type": "content", "content": "x"}}, ModelOptions{Prediction: &Prediction{Content: "x"}}},
		{"prediction parts", map[string]any{"prediction": map[string]any{"type": "content", "content": []any{map[string]any{"type": "text", "text": "a"}, map[string]any{"type": "text", "text": "b"}}}}, ModelOptions{Prediction: &Prediction{Parts: []string{"a", "b"}}}},
		{"web_search_options", map[string]any{"web_search_options": map[string]any{"search_context_size": "high", "user_location": map[string]any{"type": "approximate", "approximate": map[string]any{"city": "Paris", "country": "FR", "region": "IDF", "timezone": "Europe/Paris"}}}}, ModelOptions{WebSearchOptions: &WebSearchOptions{SearchContextSize: "high", UserLocation: &WebSearchLocation{City: "Paris", Country: "FR", Region: "IDF", Timezone: "Europe/Paris"}}}},
		{"unknown keys to Extra", map[string]any{"top_k": 40.0, "response_format": map[string]any{"type": "json_object"}, "x": nil}, ModelOptions{Extra: map[string]any{"top_k": 40.0, "response_format": map[string]any{"type": "json_object"}, "x": nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseModelOptions(tt.in)
			if err != nil {
				t.Fatalf("ParseModelOptions() error = %v", err)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("ParseModelOptions() mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

func TestParseModelOptionsErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        map[string]any
		wantParam string
		wantIn    string
	}{
		{"fractional int", map[string]any{"max_tokens": 10.5}, "max_tokens", "10.5 is not an integer"},
		{"fractional json.Number", map[string]any{"n": json.Number("1.5")}, "n", "not an integer"},
		{"fractional seed", map[string]any{"seed": 0.1}, "seed", "not an integer"},
		{"seed too large", map[string]any{"seed": 1e19}, "seed", "out of range"},
		{"uint64 too large", map[string]any{"seed": uint64(math.MaxUint64)}, "seed", "too large"},
		{"string for number", map[string]any{"temperature": "0.7"}, "temperature", "want a number, got a string"},
		{"bad json.Number", map[string]any{"temperature": json.Number("abc")}, "temperature", "not a number"},
		{"NaN", map[string]any{"top_p": math.NaN()}, "top_p", "not a finite number"},
		{"bool for string", map[string]any{"verbosity": true}, "verbosity", "want a string, got a boolean"},
		{"string for bool", map[string]any{"store": "false"}, "store", "want true or false"},
		{"stop number", map[string]any{"stop": 1.0}, "stop", "want a string or a list of strings"},
		{"stop list of numbers", map[string]any{"stop": []any{"a", 1.0}}, "stop", "item 1"},
		{"modalities string", map[string]any{"modalities": "text"}, "modalities", "want a list of strings"},
		{"logit_bias fractional", map[string]any{"logit_bias": map[string]any{"1": 0.5}}, "logit_bias", "token 1: 0.5 is not an integer"},
		{"logit_bias list", map[string]any{"logit_bias": []any{}}, "logit_bias", "want an object"},
		{"metadata number value", map[string]any{"metadata": map[string]any{"a": 1.0}}, "metadata", `value of "a"`},
		{"tool_choice number", map[string]any{"tool_choice": 1.0}, "tool_choice", "want a mode (auto, required, none) or an object naming a tool"},
		{"tool_choice bare function", map[string]any{"tool_choice": "function"}, "tool_choice", "object form"},
		{"tool_choice custom without name", map[string]any{"tool_choice": map[string]any{"type": "custom"}}, "tool_choice", `want "custom": {"name"`},
		{"tool_choice without type", map[string]any{"tool_choice": map[string]any{"function": map[string]any{"name": "f"}}}, "tool_choice", `want a "type"`},
		{"tool_choice bare custom", map[string]any{"tool_choice": "custom"}, "tool_choice", "object form"},
		{"allowed_tools not an object", map[string]any{"tool_choice": map[string]any{"type": "allowed_tools", "allowed_tools": "f"}}, "tool_choice", "allowed_tools: want"},
		{"allowed_tools mode", map[string]any{"tool_choice": map[string]any{"type": "allowed_tools", "allowed_tools": map[string]any{"tools": []any{}}}}, "tool_choice", "allowed_tools.mode"},
		{"allowed_tools tools", map[string]any{"tool_choice": map[string]any{"type": "allowed_tools", "allowed_tools": map[string]any{"mode": "auto", "tools": []any{"f"}}}}, "tool_choice", "allowed_tools.tools[0]"},
		{"extra_body not an object", map[string]any{"extra_body": "x"}, "extra_body", "want an object"},
		{"extra_body bad typed value", map[string]any{"extra_body": map[string]any{"temperature": "hot"}}, "temperature", "want a number, got a string (in extra_body)"},
		{"extra_headers inside extra_body", map[string]any{"extra_body": map[string]any{"extra_headers": map[string]any{}}}, "extra_body", "extra_headers inside extra_body"},
		{"extra_body inside extra_body", map[string]any{"extra_body": map[string]any{"extra_body": map[string]any{}}}, "extra_body", "extra_body inside extra_body"},
		{"extra_headers number value", map[string]any{"extra_headers": map[string]any{"X-A": 1.0}}, "extra_headers", `value of "X-A": want a string`},
		{"extra_headers list", map[string]any{"extra_headers": []any{}}, "extra_headers", "want an object of strings"},
		{"extra_query list value", map[string]any{"extra_query": map[string]any{"a": []any{}}}, "extra_query", `value of "a"`},
		{"tool_choice no function", map[string]any{"tool_choice": map[string]any{"type": "function"}}, "tool_choice", `"function": {"name"`},
		{"tool_choice name number", map[string]any{"tool_choice": map[string]any{"type": "function", "function": map[string]any{"name": 1.0}}}, "tool_choice", "function name"},
		{"prediction string", map[string]any{"prediction": "x"}, "prediction", "want {"},
		{"prediction type", map[string]any{"prediction": map[string]any{"type": "text", "content": "x"}}, "prediction", `want "content"`},
		{"prediction part", map[string]any{"prediction": map[string]any{"type": "content", "content": []any{"x"}}}, "prediction", "content[0]"},
		{"prediction content number", map[string]any{"prediction": map[string]any{"content": 1.0}}, "prediction", "content: want a string or a list"},
		{"web_search_options list", map[string]any{"web_search_options": []any{}}, "web_search_options", "want an object"},
		{"web_search_options location type", map[string]any{"web_search_options": map[string]any{"user_location": map[string]any{"type": "exact"}}}, "web_search_options", `want "approximate"`},
		{"web_search_options city", map[string]any{"web_search_options": map[string]any{"user_location": map[string]any{"approximate": map[string]any{"city": 1.0}}}}, "web_search_options", "approximate.city"},
		{"web_search_options size", map[string]any{"web_search_options": map[string]any{"search_context_size": 1.0}}, "web_search_options", "search_context_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseModelOptions(tt.in)
			var oe *OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("ParseModelOptions() = %v, want *OptionError", err)
			}
			if oe.Param != tt.wantParam || !strings.HasPrefix(err.Error(), "inference: "+tt.wantParam+": ") || !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("ParseModelOptions() = %q, want param %q and %q", err, tt.wantParam, tt.wantIn)
			}
		})
	}
}

// fullOptions sets every typed field (temperature and top_p together, so it
// is for map/merge tests, not Validate) and some Extra keys.
func fullOptions() ModelOptions {
	return ModelOptions{
		Temperature:         new(0.0),
		TopP:                new(0.9),
		MaxTokens:           new(100),
		MaxCompletionTokens: new(200),
		ReasoningEffort:     new("minimal"),
		FrequencyPenalty:    new(-0.5),
		PresencePenalty:     new(0.0),
		Seed:                new(int64(0)),
		Stop:                StopList("\n", "END"),
		N:                   new(2),
		Logprobs:            new(true),
		TopLogprobs:         new(5),
		LogitBias:           map[string]int{"50256": -100},
		ParallelToolCalls:   new(false),
		ToolChoice:          new(session.ToolChoiceFunction("lookup")),
		User:                new("user-1"),
		ServiceTier:         new("priority"),
		Metadata:            map[string]string{"team": "voice"},
		Store:               new(false),
		Prediction:          &Prediction{Parts: []string{"a", "b"}},
		Modalities:          []string{"text"},
		WebSearchOptions:    &WebSearchOptions{SearchContextSize: "low", UserLocation: &WebSearchLocation{City: "Oslo", Timezone: "Europe/Oslo"}},
		Verbosity:           new("low"),
		PromptCacheKey:      new("pck"),
		SafetyIdentifier:    new("sid"),
		Extra:               map[string]any{"top_k": 40.0, "response_format": map[string]any{"type": "json_object"}},
		ExtraHeaders:        map[string]string{"X-Trace-Id": "t"},
		ExtraQuery:          map[string]string{"api-version": "1"},
	}
}

func TestMapRoundTrip(t *testing.T) {
	for _, o := range []ModelOptions{
		{},
		fullOptions(),
		{Stop: StopString("x"), Prediction: &Prediction{Content: "p"}, ToolChoice: new(session.ToolChoiceNone), WebSearchOptions: &WebSearchOptions{}},
		{LogitBias: map[string]int{}, Metadata: map[string]string{}, Modalities: []string{}},
		{AllowedTools: AllowedFunctions("auto", "a", "b")},
		{ToolChoice: &session.ToolChoice{Mode: "custom", Function: "grammar"}},
	} {
		got, err := ParseModelOptions(o.Map())
		if err != nil {
			t.Fatalf("ParseModelOptions(Map()) error = %v", err)
		}
		if diff := cmp.Diff(got, o); diff != "" {
			t.Errorf("ParseModelOptions(Map()) mismatch (-got +want):\n%s", diff)
		}

		// The same through JSON, the way configuration arrives, with both
		// number decodings.
		b, err := json.Marshal(o.Map())
		if err != nil {
			t.Fatal(err)
		}
		for _, useNumber := range []bool{false, true} {
			m := decodeMap(t, b, useNumber)
			got, err := ParseModelOptions(m)
			if err != nil {
				t.Fatalf("ParseModelOptions(JSON %s) error = %v", b, err)
			}
			if useNumber && got.Extra != nil {
				got.Extra["top_k"] = 40.0 // json.Number("40") in Extra stays as given
			}
			if diff := cmp.Diff(got, o); diff != "" {
				t.Errorf("ParseModelOptions(JSON, useNumber=%v) mismatch (-got +want):\n%s", useNumber, diff)
			}
		}
	}
}

func decodeMap(t testing.TB, b []byte, useNumber bool) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	if useNumber {
		d.UseNumber()
	}
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMapForm(t *testing.T) {
	got := ModelOptions{Temperature: new(0.7), MaxCompletionTokens: new(1000), Stop: StopString("\n"), Seed: new(int64(7))}.Map()
	want := map[string]any{"temperature": 0.7, "max_completion_tokens": 1000, "stop": "\n", "seed": int64(7)}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Map() mismatch (-got +want):\n%s", diff)
	}
}

func TestMerge(t *testing.T) {
	persistent := ModelOptions{
		Temperature: new(0.2),
		MaxTokens:   new(50),
		Stop:        StopString("x"),
		Metadata:    map[string]string{"a": "1", "b": "2"},
		Extra:       map[string]any{"top_k": 10, "keep": true},
	}
	call := ModelOptions{
		Temperature: new(0.0), // a set zero wins
		Seed:        new(int64(1)),
		Metadata:    map[string]string{"c": "3"},
		Extra:       map[string]any{"top_k": 20, "min_p": 0.1},
	}
	got := persistent.Merge(call)
	want := ModelOptions{
		Temperature: new(0.0),
		MaxTokens:   new(50),
		Stop:        StopString("x"),
		Seed:        new(int64(1)),
		Metadata:    map[string]string{"c": "3"}, // replaced whole
		Extra:       map[string]any{"top_k": 20, "keep": true, "min_p": 0.1},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Merge() mismatch (-got +want):\n%s", diff)
	}

	// The result shares nothing with either input.
	*got.Temperature = 1
	*got.MaxTokens = 1
	got.Extra["keep"] = false
	got.Metadata["c"] = "changed"
	if *call.Temperature != 0 || *persistent.MaxTokens != 50 || persistent.Extra["keep"] != true || call.Metadata["c"] != "3" {
		t.Error("Merge() result aliases its inputs")
	}

	// Every field of the per-call options wins over an empty base and over
	// a full one.
	full := fullOptions()
	if diff := cmp.Diff(new(ModelOptions).Merge(full), full); diff != "" {
		t.Errorf("empty.Merge(full) mismatch (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(full.Merge(ModelOptions{}), full); diff != "" {
		t.Errorf("full.Merge(empty) mismatch (-got +want):\n%s", diff)
	}
	var nilOpts *ModelOptions
	if diff := cmp.Diff(nilOpts.Merge(full), full); diff != "" {
		t.Errorf("nil.Merge(full) mismatch (-got +want):\n%s", diff)
	}

	// The per-call side of an exclusive pair removes the persistent other
	// side; the two forms of tool_choice are one option.
	for _, tt := range []struct {
		persistent, call, want ModelOptions
	}{
		{ModelOptions{Temperature: new(0.2)}, ModelOptions{TopP: new(0.9)}, ModelOptions{TopP: new(0.9)}},
		{ModelOptions{TopP: new(0.9), Seed: new(int64(1))}, ModelOptions{Temperature: new(0.0)}, ModelOptions{Temperature: new(0.0), Seed: new(int64(1))}},
		{ModelOptions{MaxCompletionTokens: new(500)}, ModelOptions{MaxTokens: new(50)}, ModelOptions{MaxTokens: new(50)}},
		{ModelOptions{MaxTokens: new(50)}, ModelOptions{MaxCompletionTokens: new(500)}, ModelOptions{MaxCompletionTokens: new(500)}},
		{ModelOptions{AllowedTools: AllowedFunctions("auto", "f")}, ModelOptions{ToolChoice: new(session.ToolChoiceNone)}, ModelOptions{ToolChoice: new(session.ToolChoiceNone)}},
		{ModelOptions{ToolChoice: new(session.ToolChoiceNone)}, ModelOptions{AllowedTools: AllowedFunctions("auto", "f")}, ModelOptions{AllowedTools: AllowedFunctions("auto", "f")}},
		{ModelOptions{Temperature: new(0.2)}, ModelOptions{Temperature: new(0.5), TopP: new(0.5)}, ModelOptions{Temperature: new(0.5), TopP: new(0.5)}},
		{ModelOptions{ExtraHeaders: map[string]string{"A": "1", "B": "1"}}, ModelOptions{ExtraHeaders: map[string]string{"B": "2"}}, ModelOptions{ExtraHeaders: map[string]string{"A": "1", "B": "2"}}},
	} {
		if diff := cmp.Diff(tt.persistent.Merge(tt.call), tt.want); diff != "" {
			t.Errorf("%+v.Merge(%+v) mismatch (-got +want):\n%s", tt.persistent, tt.call, diff)
		}
	}
}

func TestCloneIsDeep(t *testing.T) {
	o := fullOptions()
	c := o.clone()
	if diff := cmp.Diff(c, o); diff != "" {
		t.Fatalf("clone() mismatch (-got +want):\n%s", diff)
	}
	*c.Temperature = 1
	*c.Seed = 9
	c.Stop.seqs[0] = "changed"
	c.LogitBias["50256"] = 0
	c.ToolChoice.Function = "other"
	c.Metadata["team"] = "x"
	c.Prediction.Parts[0] = "x"
	c.Modalities[0] = "audio"
	c.WebSearchOptions.UserLocation.City = "x"
	c.Extra["response_format"].(map[string]any)["type"] = "text"
	if diff := cmp.Diff(o, fullOptions()); diff != "" {
		t.Errorf("changing the clone changed the original (-got +want):\n%s", diff)
	}
}

func TestStop(t *testing.T) {
	for _, tt := range []struct {
		s    *Stop
		want string
		seqs []string
	}{
		{StopString("\n"), `"\n"`, []string{"\n"}},
		{StopList("\n"), `["\n"]`, []string{"\n"}},
		{StopList("a", "b"), `["a","b"]`, []string{"a", "b"}},
		{&Stop{}, `""`, []string{""}},
	} {
		b, err := json.Marshal(tt.s)
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%#v) = %s, %v, want %s", tt.s, b, err, tt.want)
		}
		if diff := cmp.Diff(tt.s.Sequences(), tt.seqs); diff != "" {
			t.Errorf("Sequences() mismatch (-got +want):\n%s", diff)
		}
	}
	if StopString("a").Equal(StopList("a")) {
		t.Error("a string and a one-item list are equal; the form must count")
	}
}

func TestWarnUserOnce(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	var once sync.Once
	warnUser(t.Context(), l, &once, &ModelOptions{})
	if buf.Len() != 0 {
		t.Fatalf("warned without user: %s", buf.String())
	}
	for range 3 {
		warnUser(t.Context(), l, &once, &ModelOptions{User: new("u")})
	}
	out := buf.String()
	if n := strings.Count(out, "level=WARN"); n != 1 {
		t.Errorf("got %d warnings, want 1:\n%s", n, out)
	}
	for _, s := range []string{"user", "safety_identifier", "prompt_cache_key"} {
		if !strings.Contains(out, s) {
			t.Errorf("warning %q does not mention %s", out, s)
		}
	}
}

func FuzzParseModelOptions(f *testing.F) {
	for _, s := range []string{
		`{"temperature":0.7,"max_completion_tokens":1000}`,
		`{"temperature":0,"top_p":1}`,
		`{"stop":["a","b"],"n":2,"seed":-1,"logit_bias":{"1":5}}`,
		`{"stop":"\n","tool_choice":{"type":"function","function":{"name":"f"}}}`,
		`{"logprobs":true,"top_logprobs":20,"metadata":{"a":"b"},"store":false}`,
		`{"prediction":{"type":"content","content":[{"type":"text","text":"x"}]}}`,
		`{"web_search_options":{"search_context_size":"low","user_location":{"type":"approximate","approximate":{"city":"x"}}}}`,
		`{"top_k":40,"max_tokens":1e3,"modalities":["text","audio"],"user":"<&>"}`,
		`{"stream":false}`,
		`{"extra_body":{"top_k":40,"temperature":0.2,"messages":[]},"extra_headers":{"X-A":"b"},"extra_query":{"v":1,"w":true}}`,
		`{"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"f"}}]}}}`,
		`{"tool_choice":{"type":"custom","custom":{"name":"g"}},"reasoning_effort":"max","service_tier":"fast"}`,
		`{"temperature":0.5,"top_p":0.5,"top_logprobs":2,"stop":["a","b","c","d","e"]}`,
	} {
		f.Add([]byte(s))
	}
	chat := session.NewChatContext(&session.ChatMessage{Role: session.RoleUser, Content: "hi"})
	tools := []session.ToolDefinition{{Name: "f", Parameters: json.RawMessage(`{"type":"object"}`)}}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, useNumber := range []bool{false, true} {
			d := json.NewDecoder(bytes.NewReader(data))
			if useNumber {
				d.UseNumber()
			}
			var m map[string]any
			if d.Decode(&m) != nil {
				return
			}
			o, err := ParseModelOptions(m)
			if err != nil {
				continue
			}
			valid := o.Validate() == nil
			for _, model := range []string{"openai/gpt-4.1-mini", "openai/gpt-5.2", "xai/grok-4-1-fast-reasoning", "google/gemini-2.5-flash"} {
				// What Validate accepts, a model accepts unless its
				// provider's limits refuse it (never for gemini).
				err := o.ValidateFor(model)
				if valid && err != nil && modelProvider(model) != "openai" {
					t.Fatalf("Validate accepts %s, ValidateFor(%s) = %v", data, model, err)
				}
				if err != nil {
					continue
				}
				r := &Request{Model: model, Chat: chat, Tools: tools, Options: o.clone()}
				applyModelRules(r.Model, true, &r.Options)
				body, err := buildBody(r)
				if err != nil {
					t.Fatalf("buildBody(%s) error = %v", data, err)
				}
				if !json.Valid(body) {
					t.Fatalf("buildBody(%s) = %s, not valid JSON", data, body)
				}
				var back map[string]any
				if err := json.Unmarshal(body, &back); err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{keyExtraBody, keyExtraHeaders, keyExtraQuery} {
					if _, ok := back[k]; ok {
						t.Fatalf("%s sent as a body key: %s", k, body)
					}
				}
			}
			if !valid {
				continue
			}
			// The map form survives a round trip.
			again, err := ParseModelOptions(o.Map())
			if err != nil {
				t.Fatalf("ParseModelOptions(Map()) error = %v", err)
			}
			if err := again.Validate(); err != nil {
				t.Fatalf("round trip made valid options invalid: %v", err)
			}
		}
	})
}

// TestOptionTableCoversEveryField: every field of ModelOptions but Extra
// has a row, which copies, merges, strips and gives back its map form; a
// field added without its row fails here.
func TestOptionTableCoversEveryField(t *testing.T) {
	typ := reflect.TypeFor[ModelOptions]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Name == "Extra" {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			var o ModelOptions
			v := reflect.ValueOf(&o).Elem().Field(i)
			switch f.Type.Kind() {
			case reflect.Pointer:
				v.Set(reflect.New(f.Type.Elem()))
			case reflect.Map:
				m := reflect.MakeMap(f.Type)
				m.SetMapIndex(reflect.ValueOf("1"), reflect.Zero(f.Type.Elem()))
				v.Set(m)
			case reflect.Slice:
				v.Set(reflect.MakeSlice(f.Type, 1, 1))
			default:
				t.Fatalf("field of kind %s", f.Type.Kind())
			}
			var rows []string
			for _, r := range optionTable {
				if r.isSet(&o) {
					rows = append(rows, r.key)
				}
			}
			if len(rows) != 1 {
				t.Fatalf("set by rows %v, want one", rows)
			}
			r := optionByKey[rows[0]]
			if diff := cmp.Diff(o.clone(), o, cmp.AllowUnexported(Stop{})); diff != "" {
				t.Errorf("clone (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(new(ModelOptions).Merge(o), o, cmp.AllowUnexported(Stop{})); diff != "" {
				t.Errorf("merge (-got +want):\n%s", diff)
			}
			if _, ok := o.Map()[r.key]; !ok {
				t.Errorf("Map() has no %s", r.key)
			}
			c := o.clone()
			r.clear(&c)
			if diff := cmp.Diff(c, ModelOptions{}, cmp.AllowUnexported(Stop{})); diff != "" {
				t.Errorf("clear left (-got +want):\n%s", diff)
			}
		})
	}
}

// TestOptionTableOrderIsTheWireOrder: the rows that go into the body are
// in the order the golden bodies show.
func TestOptionTableOrderIsTheWireOrder(t *testing.T) {
	var got []string
	for _, r := range optionTable {
		if r.wire != nil {
			got = append(got, r.key)
		}
	}
	want := []string{"tool_choice", "parallel_tool_calls", "temperature", "top_p", "max_tokens", "max_completion_tokens",
		"reasoning_effort", "frequency_penalty", "presence_penalty", "seed", "stop", "n", "logprobs", "top_logprobs",
		"logit_bias", "user", "service_tier", "metadata", "store", "prediction", "modalities", "web_search_options",
		"verbosity", "prompt_cache_key", "safety_identifier"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("body keys in table order (-got +want):\n%s", diff)
	}
}
