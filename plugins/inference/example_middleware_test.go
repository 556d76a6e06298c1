package inference_test

import (
	"context"
	"fmt"

	"github.com/livekit-go/agents/plugins/inference"
	"github.com/livekit-go/agents/session"
)

// A middleware that removes a provider-specific key before the request is
// sent. It runs after the built-in steps, so r.Options are the effective
// options.
func ExampleWithMiddleware() {
	noTopK := func(next inference.Handler) inference.Handler {
		return func(ctx context.Context, r *inference.Request) (session.LLMStream, error) {
			delete(r.Options.Extra, "top_k")
			return next(ctx, r)
		}
	}
	llm := inference.LLM("openai/gpt-4.1-mini",
		inference.WithCredentials("key", "secret"),
		inference.WithModelOptions(inference.ModelOptions{Temperature: new(0.7), MaxCompletionTokens: new(1000)}),
		inference.WithMiddleware(noTopK),
	)
	fmt.Println(llm.Err())
	// Output: <nil>
}
