package inference_test

import (
	"encoding/json"
	"fmt"

	"github.com/livekit-go/agents/plugins/inference"
)

// Options from JSON configuration, with the reference's keys, become the
// same validated value as typed options.
func ExampleParseModelOptions() {
	var cfg map[string]any
	_ = json.Unmarshal([]byte(`{"temperature": 0, "max_completion_tokens": 1000, "stop": "\n", "top_k": 40}`), &cfg)

	o, err := inference.ParseModelOptions(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := o.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(*o.Temperature, *o.MaxCompletionTokens, o.Stop.IsList(), o.Extra["top_k"])

	_, err = inference.ParseModelOptions(map[string]any{"max_tokens": 10.5})
	fmt.Println(err)
	fmt.Println(inference.ModelOptions{Temperature: new(0.7), TopP: new(0.9)}.Validate())
	// Output:
	// 0 1000 false 40
	// inference: max_tokens: 10.5 is not an integer
	// inference: temperature: set this or top_p, but not both
}

// What a model is sent is what gets validated: the rules of a reasoning
// model strip the sampling options first, so they are not refused there,
// and OpenAI's limits apply to OpenAI models only.
func ExampleModelOptions_ValidateFor() {
	o, _ := inference.ParseModelOptions(map[string]any{"temperature": 0.5, "top_p": 0.5})
	fmt.Println(o.ValidateFor("openai/gpt-5-mini"))
	fmt.Println(o.ValidateFor("openai/gpt-4.1-mini"))

	five := inference.ModelOptions{Stop: inference.StopList("a", "b", "c", "d", "e")}
	fmt.Println(five.ValidateFor("google/gemini-2.5-flash"))
	fmt.Println(five.ValidateFor("openai/gpt-4.1-mini"))
	// Output:
	// <nil>
	// inference: temperature: set this or top_p, but not both
	// <nil>
	// inference: stop: 5 sequences, at most 4 allowed
}

// The keys the Python and Node clients hand to the OpenAI client are merged
// where they belong: extra_body into the body, extra_headers into the
// headers, extra_query into the URL.
func ExampleParseModelOptions_extraBody() {
	o, err := inference.ParseModelOptions(map[string]any{
		"temperature":   0.7,
		"extra_body":    map[string]any{"top_k": 40, "temperature": 0.2},
		"extra_headers": map[string]any{"X-Trace-Id": "t-1"},
	})
	fmt.Println(err, *o.Temperature, o.Extra["top_k"], o.ExtraHeaders["X-Trace-Id"])
	// Output:
	// <nil> 0.2 40 t-1
}
