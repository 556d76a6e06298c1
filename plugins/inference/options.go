package inference

import (
	"github.com/livekit-go/agents/session"
)

// ModelOptions are the Chat Completion options of the LiveKit Inference
// parameter reference. A nil field is unset and is not sent; a set field is
// sent even when it holds zero or false. Go 1.26's new(expr) makes a
// pointer: ModelOptions{Temperature: new(0.7)}.
type ModelOptions struct {
	Temperature         *float64
	TopP                *float64
	MaxTokens           *int
	MaxCompletionTokens *int
	ReasoningEffort     *string
	FrequencyPenalty    *float64
	PresencePenalty     *float64
	Seed                *int64
	Stop                *Stop
	N                   *int
	Logprobs            *bool
	TopLogprobs         *int
	LogitBias           map[string]int
	ParallelToolCalls   *bool
	ToolChoice          *session.ToolChoice
	User                *string
	ServiceTier         *string
	Metadata            map[string]string
	Store               *bool
	Prediction          *Prediction
	Modalities          []string
	WebSearchOptions    *WebSearchOptions
	Verbosity           *string
	PromptCacheKey      *string
	SafetyIdentifier    *string
	// Extra holds keys the reference does not list (a provider's own, such
	// as top_k); they go into the body unchanged.
	Extra map[string]any
}

// Stop is the stop option: one string or a list, sent in the form given.
type Stop struct{}

// Prediction is predicted output (ChatCompletionPredictionContent).
type Prediction struct{}

// WebSearchOptions configures web search.
type WebSearchOptions struct{}

// STUB: replaced by the options work.
func (o ModelOptions) clone() ModelOptions                                  { return o }
func (o *ModelOptions) Merge(call ModelOptions) ModelOptions                { return call }
func (o ModelOptions) Validate() error                                      { return nil }
func ParseModelOptions(m map[string]any) (ModelOptions, error)              { return ModelOptions{}, nil }
func applyModelRules(model string, hasTools bool, o *ModelOptions) []string { return nil }
