package inference

import "time"

// Metrics describe one request, from Chat to the end of its stream. They are
// delivered once per request to the WithMetrics hook: when the stream ends
// (io.EOF, an error, or Close), or when Chat fails.
type Metrics struct {
	// RequestID is the gateway's x-request-id of the last attempt.
	RequestID string
	// CompletionID is the provider's id for the completion (the chunks'
	// "id").
	CompletionID string
	// Model is the model string as sent.
	Model string
	// Start is when Chat was called.
	Start time.Time
	// TTFT is the time from Start to the first content or tool-call chunk;
	// 0 when there was none.
	TTFT time.Duration
	// Duration is the time from Start to the end of the stream.
	Duration time.Duration
	// Token counts from the provider's usage, when it sent one.
	PromptTokens       int
	CompletionTokens   int
	TotalTokens        int
	CachedPromptTokens int
	// TokensPerSecond is CompletionTokens over Duration.
	TokensPerSecond float64
	// Attempts is how many HTTP requests were made (1 + retries).
	Attempts int
	// Err is what ended the request, nil after a clean end.
	Err error
}
