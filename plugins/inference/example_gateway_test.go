package inference_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/livekit-go/agents/plugins/inference"
	"github.com/livekit-go/agents/session"
)

// Streaming a reply: Recv until io.EOF, and Close the stream when done. A
// local server stands in for the gateway here.
func ExampleLLM() {
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, delta := range []string{"Hel", "lo", "!"} {
			fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", delta)
		}
		fmt.Fprint(w, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	defer gateway.Close()

	llm := inference.LLM("openai/gpt-4.1-mini",
		inference.WithBaseURL(gateway.URL),            // else LIVEKIT_INFERENCE_URL, else LiveKit Cloud
		inference.WithCredentials("APIkey", "secret"), // else LIVEKIT_API_KEY / LIVEKIT_API_SECRET
		inference.WithProvider("openai"),
	)
	chat := &session.ChatContext{}
	chat.AddMessage(session.RoleUser, "Say hello.")

	stream, err := llm.Chat(context.Background(), session.ChatRequest{Chat: chat})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stream.Close()
	for {
		chunk, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Print(chunk.Content)
		if chunk.Usage != nil {
			fmt.Printf("\n%d tokens in, %d out\n", chunk.Usage.PromptTokens, chunk.Usage.CompletionTokens)
		}
	}
	// Output:
	// Hello!
	// 9 tokens in, 3 out
}

// Failures are typed: a caller tells a rate limit from a bad request with
// errors.As. Retryable errors have already been retried (WithMaxRetries)
// by the time Chat returns them.
func ExampleAPIError() {
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req_123")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"message":"model not found","type":"invalid_request_error","code":"model_not_found"}}`)
	}))
	defer gateway.Close()

	llm := inference.LLM("openai/gpt-4.1-mini", inference.WithBaseURL(gateway.URL), inference.WithCredentials("APIkey", "secret"))
	chat := &session.ChatContext{}
	chat.AddMessage(session.RoleUser, "Hi")
	_, err := llm.Chat(context.Background(), session.ChatRequest{Chat: chat})

	var apiErr *inference.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code, apiErr.RequestID, apiErr.Retryable())
	}
	fmt.Println(err)
	// Output:
	// 404 model_not_found req_123 false
	// inference: gateway returned 404 (model_not_found): model not found [request req_123]
}
