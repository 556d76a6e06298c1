package inference

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/livekit-go/agents/session"
)

// ModelOptions are the Chat Completion options of the LiveKit Inference
// parameter reference. A nil field is unset and is not sent; a set field is
// sent even when it holds zero or false. Go 1.26's new(expr) makes a
// pointer: ModelOptions{Temperature: new(0.7)}. A nil map or slice is unset;
// an empty non-nil one is set and sent empty.
//
// The same options can be given as a map keyed as the reference names them
// (ParseModelOptions, Map). Validate checks the values; the model rules of
// the model family then strip what the model does not take.
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
	// LogitBias maps token ids (decimal integers) to a bias in -100..100.
	LogitBias         map[string]int
	ParallelToolCalls *bool
	ToolChoice        *session.ToolChoice
	// User is deprecated by the API in favour of SafetyIdentifier and
	// PromptCacheKey. It is still sent; the first request that sets it logs
	// one warning per process.
	User        *string
	ServiceTier *string
	// Metadata holds at most 16 pairs, keys up to 64 characters, values up
	// to 512.
	Metadata         map[string]string
	Store            *bool
	Prediction       *Prediction
	Modalities       []string
	WebSearchOptions *WebSearchOptions
	Verbosity        *string
	PromptCacheKey   *string
	SafetyIdentifier *string
	// Extra holds keys the reference does not list (a provider's own, such
	// as top_k); they go into the body unchanged, after the typed fields.
	// An Extra key that names a typed field or a key the request itself
	// owns (model, messages, tools, stream, stream_options) is rejected by
	// Validate rather than silently overriding it.
	Extra map[string]any
}

// Stop is the stop option: one string or a list, sent in the form given. Make
// one with StopString or StopList; the zero value is the empty string.
type Stop struct {
	seqs   []string
	single string
	isList bool
}

// StopString returns a stop option sent as the JSON string s.
func StopString(s string) *Stop { return &Stop{single: s} }

// StopList returns a stop option sent as a JSON array of seqs, even when it
// holds one.
func StopList(seqs ...string) *Stop { return &Stop{seqs: slices.Clone(seqs), isList: true} }

// IsList reports whether the option is sent as a list.
func (s *Stop) IsList() bool { return s != nil && s.isList }

// Sequences returns the stop sequences (one when the option is a string).
func (s *Stop) Sequences() []string {
	if s == nil {
		return nil
	}
	if s.isList {
		return slices.Clone(s.seqs)
	}
	return []string{s.single}
}

// Equal reports whether s and t are the same option in the same form.
func (s *Stop) Equal(t *Stop) bool {
	if s == nil || t == nil {
		return s == t
	}
	return s.isList == t.isList && s.single == t.single && slices.Equal(s.seqs, t.seqs)
}

// MarshalJSON writes the option in the form it was given.
func (s Stop) MarshalJSON() ([]byte, error) {
	if s.isList {
		if s.seqs == nil {
			return []byte("[]"), nil
		}
		return marshalNoEscape(s.seqs)
	}
	return marshalNoEscape(s.single)
}

func (s *Stop) clone() *Stop {
	if s == nil {
		return nil
	}
	return &Stop{seqs: slices.Clone(s.seqs), single: s.single, isList: s.isList}
}

// Prediction is predicted output (the API's ChatCompletionPredictionContent,
// always of type "content"): text the answer is expected to largely repeat.
type Prediction struct {
	// Content is the predicted text, sent as a string when Parts is empty.
	Content string
	// Parts, when not empty, is sent instead of Content as an array of text
	// content parts.
	Parts []string
}

// MarshalJSON writes {"type":"content","content":...}.
func (p Prediction) MarshalJSON() ([]byte, error) {
	type part struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type wire struct {
		Type    string `json:"type"`
		Content any    `json:"content"`
	}
	if len(p.Parts) == 0 {
		return marshalNoEscape(wire{"content", p.Content})
	}
	parts := make([]part, len(p.Parts))
	for i, t := range p.Parts {
		parts[i] = part{"text", t}
	}
	return marshalNoEscape(wire{"content", parts})
}

// WebSearchOptions configures web search.
type WebSearchOptions struct {
	// SearchContextSize is "low", "medium" or "high"; empty is unset.
	SearchContextSize string
	// UserLocation, when set, is sent as an approximate location.
	UserLocation *WebSearchLocation
}

// WebSearchLocation is the approximate location of the user; empty fields
// are not sent.
type WebSearchLocation struct {
	City     string `json:"city,omitzero"`
	Country  string `json:"country,omitzero"` // two-letter ISO code, e.g. "US"
	Region   string `json:"region,omitzero"`
	Timezone string `json:"timezone,omitzero"` // IANA, e.g. "America/Los_Angeles"
}

// MarshalJSON writes the options with user_location as
// {"type":"approximate","approximate":{...}}.
func (w WebSearchOptions) MarshalJSON() ([]byte, error) {
	type loc struct {
		Type        string            `json:"type"`
		Approximate WebSearchLocation `json:"approximate"`
	}
	type wire struct {
		UserLocation      *loc   `json:"user_location,omitzero"`
		SearchContextSize string `json:"search_context_size,omitzero"`
	}
	v := wire{SearchContextSize: w.SearchContextSize}
	if w.UserLocation != nil {
		v.UserLocation = &loc{"approximate", *w.UserLocation}
	}
	return marshalNoEscape(v)
}

func (w *WebSearchOptions) clone() *WebSearchOptions {
	if w == nil {
		return nil
	}
	c := *w
	if w.UserLocation != nil {
		l := *w.UserLocation
		c.UserLocation = &l
	}
	return &c
}

// OptionError is an invalid model option. Its message names the parameter
// by its wire key: "inference: temperature: 2.5 is outside 0..2".
type OptionError struct {
	// Param is the wire key of the option ("temperature").
	Param string
	// Reason says what is wrong.
	Reason string
}

func (e *OptionError) Error() string { return "inference: " + e.Param + ": " + e.Reason }

func optErr(param, format string, args ...any) error {
	return &OptionError{Param: param, Reason: fmt.Sprintf(format, args...)}
}

// The wire keys of the typed fields.
const (
	keyTemperature         = "temperature"
	keyTopP                = "top_p"
	keyMaxTokens           = "max_tokens"
	keyMaxCompletionTokens = "max_completion_tokens"
	keyReasoningEffort     = "reasoning_effort"
	keyFrequencyPenalty    = "frequency_penalty"
	keyPresencePenalty     = "presence_penalty"
	keySeed                = "seed"
	keyStop                = "stop"
	keyN                   = "n"
	keyLogprobs            = "logprobs"
	keyTopLogprobs         = "top_logprobs"
	keyLogitBias           = "logit_bias"
	keyParallelToolCalls   = "parallel_tool_calls"
	keyToolChoice          = "tool_choice"
	keyUser                = "user"
	keyServiceTier         = "service_tier"
	keyMetadata            = "metadata"
	keyStore               = "store"
	keyPrediction          = "prediction"
	keyModalities          = "modalities"
	keyWebSearchOptions    = "web_search_options"
	keyVerbosity           = "verbosity"
	keyPromptCacheKey      = "prompt_cache_key"
	keySafetyIdentifier    = "safety_identifier"
)

// reservedKeys are body keys the request itself owns; options may not set
// them.
var reservedKeys = map[string]bool{
	"model": true, "messages": true, "tools": true, "stream": true, "stream_options": true,
}

// The accepted enum values, as the parameter reference lists them.
var (
	reasoningEfforts   = []string{"none", "minimal", "low", "medium", "high", "xhigh"}
	serviceTiers       = []string{"auto", "default", "flex", "scale", "priority"}
	verbosities        = []string{"low", "medium", "high"}
	toolChoiceModes    = []string{"auto", "required", "none", "function"}
	modalityValues     = []string{"text", "audio"}
	searchContextSizes = []string{"low", "medium", "high"}
)

// clone returns a deep copy: changing the copy leaves o as it was.
func (o ModelOptions) clone() ModelOptions {
	c := o
	c.Temperature = clonePtr(o.Temperature)
	c.TopP = clonePtr(o.TopP)
	c.MaxTokens = clonePtr(o.MaxTokens)
	c.MaxCompletionTokens = clonePtr(o.MaxCompletionTokens)
	c.ReasoningEffort = clonePtr(o.ReasoningEffort)
	c.FrequencyPenalty = clonePtr(o.FrequencyPenalty)
	c.PresencePenalty = clonePtr(o.PresencePenalty)
	c.Seed = clonePtr(o.Seed)
	c.Stop = o.Stop.clone()
	c.N = clonePtr(o.N)
	c.Logprobs = clonePtr(o.Logprobs)
	c.TopLogprobs = clonePtr(o.TopLogprobs)
	c.LogitBias = maps.Clone(o.LogitBias)
	c.ParallelToolCalls = clonePtr(o.ParallelToolCalls)
	c.ToolChoice = clonePtr(o.ToolChoice)
	c.User = clonePtr(o.User)
	c.ServiceTier = clonePtr(o.ServiceTier)
	c.Metadata = maps.Clone(o.Metadata)
	c.Store = clonePtr(o.Store)
	if o.Prediction != nil {
		p := *o.Prediction
		p.Parts = slices.Clone(p.Parts)
		c.Prediction = &p
	}
	c.Modalities = slices.Clone(o.Modalities)
	c.WebSearchOptions = o.WebSearchOptions.clone()
	c.Verbosity = clonePtr(o.Verbosity)
	c.PromptCacheKey = clonePtr(o.PromptCacheKey)
	c.SafetyIdentifier = clonePtr(o.SafetyIdentifier)
	if o.Extra != nil {
		c.Extra = make(map[string]any, len(o.Extra))
		for k, v := range o.Extra {
			c.Extra[k] = cloneJSONValue(v)
		}
	}
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// cloneJSONValue deep-copies the containers JSON decoding produces; other
// values are copied as they are.
func cloneJSONValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, e := range v {
			c[k] = cloneJSONValue(e)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = cloneJSONValue(e)
		}
		return c
	case json.RawMessage:
		return slices.Clone(v)
	default:
		return v
	}
}

// Merge returns o with every field that call sets replaced by call's value
// (a per-call option wins over a persistent one); Extra is merged key by
// key, call's keys winning. Maps other than Extra are replaced whole. The
// result shares no memory with o or call. A nil o merges call with nothing.
func (o *ModelOptions) Merge(call ModelOptions) ModelOptions {
	var m ModelOptions
	if o != nil {
		m = o.clone()
	}
	c := call.clone()
	if c.Temperature != nil {
		m.Temperature = c.Temperature
	}
	if c.TopP != nil {
		m.TopP = c.TopP
	}
	if c.MaxTokens != nil {
		m.MaxTokens = c.MaxTokens
	}
	if c.MaxCompletionTokens != nil {
		m.MaxCompletionTokens = c.MaxCompletionTokens
	}
	if c.ReasoningEffort != nil {
		m.ReasoningEffort = c.ReasoningEffort
	}
	if c.FrequencyPenalty != nil {
		m.FrequencyPenalty = c.FrequencyPenalty
	}
	if c.PresencePenalty != nil {
		m.PresencePenalty = c.PresencePenalty
	}
	if c.Seed != nil {
		m.Seed = c.Seed
	}
	if c.Stop != nil {
		m.Stop = c.Stop
	}
	if c.N != nil {
		m.N = c.N
	}
	if c.Logprobs != nil {
		m.Logprobs = c.Logprobs
	}
	if c.TopLogprobs != nil {
		m.TopLogprobs = c.TopLogprobs
	}
	if c.LogitBias != nil {
		m.LogitBias = c.LogitBias
	}
	if c.ParallelToolCalls != nil {
		m.ParallelToolCalls = c.ParallelToolCalls
	}
	if c.ToolChoice != nil {
		m.ToolChoice = c.ToolChoice
	}
	if c.User != nil {
		m.User = c.User
	}
	if c.ServiceTier != nil {
		m.ServiceTier = c.ServiceTier
	}
	if c.Metadata != nil {
		m.Metadata = c.Metadata
	}
	if c.Store != nil {
		m.Store = c.Store
	}
	if c.Prediction != nil {
		m.Prediction = c.Prediction
	}
	if c.Modalities != nil {
		m.Modalities = c.Modalities
	}
	if c.WebSearchOptions != nil {
		m.WebSearchOptions = c.WebSearchOptions
	}
	if c.Verbosity != nil {
		m.Verbosity = c.Verbosity
	}
	if c.PromptCacheKey != nil {
		m.PromptCacheKey = c.PromptCacheKey
	}
	if c.SafetyIdentifier != nil {
		m.SafetyIdentifier = c.SafetyIdentifier
	}
	if c.Extra != nil {
		if m.Extra == nil {
			m.Extra = c.Extra
		} else {
			maps.Copy(m.Extra, c.Extra)
		}
	}
	return m
}

// Validate reports the first invalid option, as an *OptionError naming it.
// It checks values only; which options a model takes is the model rules'
// job, applied after it.
func (o ModelOptions) Validate() error {
	if err := checkFloat(keyTemperature, o.Temperature, 0, 2); err != nil {
		return err
	}
	if err := checkFloat(keyTopP, o.TopP, 0, 1); err != nil {
		return err
	}
	if o.Temperature != nil && o.TopP != nil {
		return optErr(keyTemperature, "set this or top_p, but not both")
	}
	if err := checkFloat(keyFrequencyPenalty, o.FrequencyPenalty, -2, 2); err != nil {
		return err
	}
	if err := checkFloat(keyPresencePenalty, o.PresencePenalty, -2, 2); err != nil {
		return err
	}
	if o.MaxTokens != nil && *o.MaxTokens < 1 {
		return optErr(keyMaxTokens, "%d is less than 1", *o.MaxTokens)
	}
	if o.MaxCompletionTokens != nil && *o.MaxCompletionTokens < 1 {
		return optErr(keyMaxCompletionTokens, "%d is less than 1", *o.MaxCompletionTokens)
	}
	if o.N != nil && *o.N < 1 {
		return optErr(keyN, "%d is less than 1", *o.N)
	}
	if o.TopLogprobs != nil {
		if o.Logprobs == nil || !*o.Logprobs {
			return optErr(keyTopLogprobs, "requires logprobs=true")
		}
		if *o.TopLogprobs < 0 || *o.TopLogprobs > 20 {
			return optErr(keyTopLogprobs, "%d is outside 0..20", *o.TopLogprobs)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.LogitBias)) {
		if !isTokenID(k) {
			return optErr(keyLogitBias, "key %q is not a token id", k)
		}
		if v := o.LogitBias[k]; v < -100 || v > 100 {
			return optErr(keyLogitBias, "token %s: %d is outside -100..100", k, v)
		}
	}
	if o.Stop != nil {
		if o.Stop.isList && len(o.Stop.seqs) == 0 {
			return optErr(keyStop, "empty list")
		}
		if len(o.Stop.seqs) > 4 {
			return optErr(keyStop, "%d sequences, at most 4 allowed", len(o.Stop.seqs))
		}
	}
	if len(o.Metadata) > 16 {
		return optErr(keyMetadata, "%d pairs, at most 16 allowed", len(o.Metadata))
	}
	for _, k := range slices.Sorted(maps.Keys(o.Metadata)) {
		if utf8.RuneCountInString(k) > 64 {
			return optErr(keyMetadata, "key %q is longer than 64 characters", k)
		}
		if utf8.RuneCountInString(o.Metadata[k]) > 512 {
			return optErr(keyMetadata, "value of %q is longer than 512 characters", k)
		}
	}
	if err := checkEnum(keyReasoningEffort, o.ReasoningEffort, reasoningEfforts); err != nil {
		return err
	}
	if err := checkEnum(keyServiceTier, o.ServiceTier, serviceTiers); err != nil {
		return err
	}
	if err := checkEnum(keyVerbosity, o.Verbosity, verbosities); err != nil {
		return err
	}
	if tc := o.ToolChoice; tc != nil {
		if !slices.Contains(toolChoiceModes, tc.Mode) {
			return optErr(keyToolChoice, "unknown mode %q, want one of %s", tc.Mode, strings.Join(toolChoiceModes, ", "))
		}
		if tc.Mode == "function" && tc.Function == "" {
			return optErr(keyToolChoice, "function name is empty")
		}
		if tc.Mode != "function" && tc.Function != "" {
			return optErr(keyToolChoice, "function %q given with mode %q", tc.Function, tc.Mode)
		}
	}
	for _, m := range o.Modalities {
		if !slices.Contains(modalityValues, m) {
			return optErr(keyModalities, "unknown value %q, want one of %s", m, strings.Join(modalityValues, ", "))
		}
	}
	if w := o.WebSearchOptions; w != nil && w.SearchContextSize != "" && !slices.Contains(searchContextSizes, w.SearchContextSize) {
		return optErr(keyWebSearchOptions, "unknown search_context_size %q, want one of %s", w.SearchContextSize, strings.Join(searchContextSizes, ", "))
	}
	for _, k := range slices.Sorted(maps.Keys(o.Extra)) {
		if isTypedKey(k) {
			return optErr(k, "set in Extra; use the ModelOptions field")
		}
		if reservedKeys[k] {
			return optErr(k, "owned by the request, not a model option")
		}
	}
	return nil
}

func checkFloat(key string, p *float64, lo, hi float64) error {
	if p == nil {
		return nil
	}
	v := *p
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return optErr(key, "%v is not a finite number", v)
	}
	if v < lo || v > hi {
		return optErr(key, "%v is outside %v..%v", v, lo, hi)
	}
	return nil
}

func checkEnum(key string, p *string, values []string) error {
	if p == nil || slices.Contains(values, *p) {
		return nil
	}
	return optErr(key, "unknown value %q, want one of %s", *p, strings.Join(values, ", "))
}

// isTokenID reports whether s is a decimal token id (digits only, at most
// 18 of them so that it fits any integer type a provider parses it into).
func isTokenID(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isTypedKey reports whether key is the wire key of a typed field.
func isTypedKey(key string) bool {
	_, ok := parsers[key]
	return ok
}
