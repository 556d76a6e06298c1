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
