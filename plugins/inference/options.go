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
		return json.Marshal(s.seqs)
	}
	return json.Marshal(s.single)
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
		return json.Marshal(wire{"content", p.Content})
	}
	parts := make([]part, len(p.Parts))
	for i, t := range p.Parts {
		parts[i] = part{"text", t}
	}
	return json.Marshal(wire{"content", parts})
}

// WebSearchOptions configures web search.
type WebSearchOptions struct {
	// SearchContextSize is "low", "medium" or "high"; empty is unset.
	SearchContextSize string `json:"search_context_size,omitzero"`
	// UserLocation, when set, is sent as an approximate location.
	UserLocation *WebSearchLocation `json:"-"`
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
	return json.Marshal(v)
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

// The wire keys of the typed fields, in the order the body carries them.
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
		if _, typed := parsers[k]; typed {
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

// ParseModelOptions converts the map form (the reference's keys, as JSON
// configuration gives them: Python extra_kwargs, Node modelOptions) to
// ModelOptions. Numbers may be float64, float32, any integer type or
// json.Number; an integer option rejects a fractional value. A nil value
// leaves a listed option unset. Keys the reference does not list go to
// Extra unchanged. It checks types only; Validate checks values.
func ParseModelOptions(m map[string]any) (ModelOptions, error) {
	var o ModelOptions
	if len(m) == 0 {
		return o, nil
	}
	// Sorted so that with several bad keys the error is always the same.
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		p, ok := parsers[k]
		if !ok {
			if o.Extra == nil {
				o.Extra = make(map[string]any)
			}
			o.Extra[k] = v
			continue
		}
		if v == nil {
			continue
		}
		if err := p(&o, v); err != nil {
			return ModelOptions{}, &OptionError{Param: k, Reason: err.Error()}
		}
	}
	return o, nil
}

// parsers converts the map form of each listed key into its typed field.
// An error's text is the reason only; ParseModelOptions adds the key.
var parsers map[string]func(o *ModelOptions, v any) error

func init() {
	parsers = map[string]func(o *ModelOptions, v any) error{
		keyTemperature:         floatParser(func(o *ModelOptions) **float64 { return &o.Temperature }),
		keyTopP:                floatParser(func(o *ModelOptions) **float64 { return &o.TopP }),
		keyFrequencyPenalty:    floatParser(func(o *ModelOptions) **float64 { return &o.FrequencyPenalty }),
		keyPresencePenalty:     floatParser(func(o *ModelOptions) **float64 { return &o.PresencePenalty }),
		keyMaxTokens:           intParser(func(o *ModelOptions) **int { return &o.MaxTokens }),
		keyMaxCompletionTokens: intParser(func(o *ModelOptions) **int { return &o.MaxCompletionTokens }),
		keyN:                   intParser(func(o *ModelOptions) **int { return &o.N }),
		keyTopLogprobs:         intParser(func(o *ModelOptions) **int { return &o.TopLogprobs }),
		keySeed: func(o *ModelOptions, v any) error {
			n, err := toInt64(v)
			if err != nil {
				return err
			}
			o.Seed = &n
			return nil
		},
		keyReasoningEffort:  stringParser(func(o *ModelOptions) **string { return &o.ReasoningEffort }),
		keyUser:             stringParser(func(o *ModelOptions) **string { return &o.User }),
		keyServiceTier:      stringParser(func(o *ModelOptions) **string { return &o.ServiceTier }),
		keyVerbosity:        stringParser(func(o *ModelOptions) **string { return &o.Verbosity }),
		keyPromptCacheKey:   stringParser(func(o *ModelOptions) **string { return &o.PromptCacheKey }),
		keySafetyIdentifier: stringParser(func(o *ModelOptions) **string { return &o.SafetyIdentifier }),
		keyLogprobs:         boolParser(func(o *ModelOptions) **bool { return &o.Logprobs }),
		keyStore:            boolParser(func(o *ModelOptions) **bool { return &o.Store }),
		keyParallelToolCalls: boolParser(func(o *ModelOptions) **bool {
			return &o.ParallelToolCalls
		}),
		keyStop: func(o *ModelOptions, v any) error {
			if s, ok := v.(string); ok {
				o.Stop = StopString(s)
				return nil
			}
			seqs, err := toStrings(v)
			if err != nil {
				return fmt.Errorf("want a string or a list of strings: %w", err)
			}
			o.Stop = &Stop{seqs: seqs, isList: true}
			return nil
		},
		keyModalities: func(o *ModelOptions, v any) error {
			s, err := toStrings(v)
			if err != nil {
				return err
			}
			o.Modalities = s
			return nil
		},
		keyLogitBias: func(o *ModelOptions, v any) error {
			lb := map[string]int{}
			switch v := v.(type) {
			case map[string]int:
				maps.Copy(lb, v)
			case map[string]any:
				for k, e := range v {
					n, err := toInt(e)
					if err != nil {
						return fmt.Errorf("token %s: %w", k, err)
					}
					lb[k] = n
				}
			default:
				return fmt.Errorf("want an object of token id to integer, got %s", typeName(v))
			}
			o.LogitBias = lb
			return nil
		},
		keyMetadata: func(o *ModelOptions, v any) error {
			md := map[string]string{}
			switch v := v.(type) {
			case map[string]string:
				maps.Copy(md, v)
			case map[string]any:
				for k, e := range v {
					s, ok := e.(string)
					if !ok {
						return fmt.Errorf("value of %q: want a string, got %s", k, typeName(e))
					}
					md[k] = s
				}
			default:
				return fmt.Errorf("want an object of strings, got %s", typeName(v))
			}
			o.Metadata = md
			return nil
		},
		keyToolChoice: func(o *ModelOptions, v any) error {
			switch v := v.(type) {
			case string:
				if v == "function" {
					// The bare mode would need a name; only the object form carries one.
					return fmt.Errorf(`"function" needs the object form {"type":"function","function":{"name":...}}`)
				}
				o.ToolChoice = &session.ToolChoice{Mode: v}
				return nil
			case session.ToolChoice:
				o.ToolChoice = &v
				return nil
			case map[string]any:
				if t, _ := v["type"].(string); t != "function" {
					return fmt.Errorf(`object form: want "type": "function", got %v`, v["type"])
				}
				fn, ok := v["function"].(map[string]any)
				if !ok {
					return fmt.Errorf(`object form: want "function": {"name": ...}`)
				}
				name, ok := fn["name"].(string)
				if !ok {
					return fmt.Errorf(`object form: want a string function name, got %s`, typeName(fn["name"]))
				}
				o.ToolChoice = &session.ToolChoice{Mode: "function", Function: name}
				return nil
			default:
				return fmt.Errorf("want auto, required, none or a named function, got %s", typeName(v))
			}
		},
		keyPrediction: func(o *ModelOptions, v any) error {
			obj, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf(`want {"type":"content","content":...}, got %s`, typeName(v))
			}
			if t, ok := obj["type"]; ok && t != "content" {
				return fmt.Errorf(`type %v: want "content"`, t)
			}
			switch c := obj["content"].(type) {
			case string:
				o.Prediction = &Prediction{Content: c}
			case []any:
				parts := make([]string, 0, len(c))
				for i, e := range c {
					p, _ := e.(map[string]any)
					text, ok := p["text"].(string)
					if !ok || (p["type"] != nil && p["type"] != "text") {
						return fmt.Errorf(`content[%d]: want {"type":"text","text":...}`, i)
					}
					parts = append(parts, text)
				}
				o.Prediction = &Prediction{Parts: parts}
			default:
				return fmt.Errorf("content: want a string or a list of text parts, got %s", typeName(obj["content"]))
			}
			return nil
		},
		keyWebSearchOptions: func(o *ModelOptions, v any) error {
			obj, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("want an object, got %s", typeName(v))
			}
			w := &WebSearchOptions{}
			if s, ok := obj["search_context_size"]; ok && s != nil {
				if w.SearchContextSize, ok = s.(string); !ok {
					return fmt.Errorf("search_context_size: want a string, got %s", typeName(s))
				}
			}
			if ul, ok := obj["user_location"]; ok && ul != nil {
				u, ok := ul.(map[string]any)
				if !ok {
					return fmt.Errorf("user_location: want an object, got %s", typeName(ul))
				}
				if t, ok := u["type"]; ok && t != "approximate" {
					return fmt.Errorf(`user_location: type %v: want "approximate"`, t)
				}
				loc := &WebSearchLocation{}
				if a, ok := u["approximate"]; ok && a != nil {
					am, ok := a.(map[string]any)
					if !ok {
						return fmt.Errorf("user_location.approximate: want an object, got %s", typeName(a))
					}
					for _, f := range []struct {
						key string
						dst *string
					}{{"city", &loc.City}, {"country", &loc.Country}, {"region", &loc.Region}, {"timezone", &loc.Timezone}} {
						if s, ok := am[f.key]; ok && s != nil {
							if *f.dst, ok = s.(string); !ok {
								return fmt.Errorf("user_location.approximate.%s: want a string, got %s", f.key, typeName(s))
							}
						}
					}
				}
				w.UserLocation = loc
			}
			o.WebSearchOptions = w
			return nil
		},
	}
}

func floatParser(field func(*ModelOptions) **float64) func(*ModelOptions, any) error {
	return func(o *ModelOptions, v any) error {
		f, err := toFloat(v)
		if err != nil {
			return err
		}
		*field(o) = &f
		return nil
	}
}

func intParser(field func(*ModelOptions) **int) func(*ModelOptions, any) error {
	return func(o *ModelOptions, v any) error {
		n, err := toInt(v)
		if err != nil {
			return err
		}
		*field(o) = &n
		return nil
	}
}

func stringParser(field func(*ModelOptions) **string) func(*ModelOptions, any) error {
	return func(o *ModelOptions, v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string, got %s", typeName(v))
		}
		*field(o) = &s
		return nil
	}
}

func boolParser(field func(*ModelOptions) **bool) func(*ModelOptions, any) error {
	return func(o *ModelOptions, v any) error {
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("want true or false, got %s", typeName(v))
		}
		*field(o) = &b
		return nil
	}
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case float64, float32, json.Number, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "a number"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func toFloat(v any) (float64, error) {
	var f float64
	switch v := v.(type) {
	case float64:
		f = v
	case float32:
		f = float64(v)
	case json.Number:
		var err error
		if f, err = v.Float64(); err != nil {
			return 0, fmt.Errorf("%q is not a number", string(v))
		}
	case int:
		f = float64(v)
	case int8:
		f = float64(v)
	case int16:
		f = float64(v)
	case int32:
		f = float64(v)
	case int64:
		f = float64(v)
	case uint:
		f = float64(v)
	case uint8:
		f = float64(v)
	case uint16:
		f = float64(v)
	case uint32:
		f = float64(v)
	case uint64:
		f = float64(v)
	default:
		return 0, fmt.Errorf("want a number, got %s", typeName(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v is not a finite number", f)
	}
	return f, nil
}

func toInt(v any) (int, error) {
	n, err := toInt64(v)
	if err != nil {
		return 0, err
	}
	if n < math.MinInt || n > math.MaxInt { // only on 32-bit platforms
		return 0, fmt.Errorf("%d does not fit an int", n)
	}
	return int(n), nil
}

func toInt64(v any) (int64, error) {
	switch v := v.(type) {
	case int:
		return int64(v), nil
	case int8:
		return int64(v), nil
	case int16:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case int64:
		return v, nil
	case uint:
		if uint64(v) > math.MaxInt64 {
			return 0, fmt.Errorf("%d is too large", v)
		}
		return int64(v), nil
	case uint8:
		return int64(v), nil
	case uint16:
		return int64(v), nil
	case uint32:
		return int64(v), nil
	case uint64:
		if v > math.MaxInt64 {
			return 0, fmt.Errorf("%d is too large", v)
		}
		return int64(v), nil
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n, nil
		}
		// "3.0" and "1e3" are integers written as floats.
		f, err := v.Float64()
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", string(v))
		}
		return floatToInt64(f)
	case float64:
		return floatToInt64(v)
	case float32:
		return floatToInt64(float64(v))
	default:
		return 0, fmt.Errorf("want an integer, got %s", typeName(v))
	}
}

func floatToInt64(f float64) (int64, error) {
	if f != math.Trunc(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v is not an integer", f)
	}
	// 2^63 is exactly representable; int64 holds [-2^63, 2^63).
	if f < -(1<<63) || f >= 1<<63 {
		return 0, fmt.Errorf("%v is out of range", f)
	}
	return int64(f), nil
}

func toStrings(v any) ([]string, error) {
	switch v := v.(type) {
	case []string:
		return slices.Clone(v), nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("item %d: want a string, got %s", i, typeName(e))
			}
			out[i] = s
		}
		return out, nil
	default:
		return nil, fmt.Errorf("want a list of strings, got %s", typeName(v))
	}
}

// Map returns the options in map form, keyed as the reference names them:
// floats as float64, integers as int (seed as int64), lists as []string,
// objects as map[string]any. ParseModelOptions(o.Map()) gives o back. Extra
// values are copied as they are.
func (o ModelOptions) Map() map[string]any {
	m := make(map[string]any)
	putPtr(m, keyTemperature, o.Temperature)
	putPtr(m, keyTopP, o.TopP)
	putPtr(m, keyMaxTokens, o.MaxTokens)
	putPtr(m, keyMaxCompletionTokens, o.MaxCompletionTokens)
	putPtr(m, keyReasoningEffort, o.ReasoningEffort)
	putPtr(m, keyFrequencyPenalty, o.FrequencyPenalty)
	putPtr(m, keyPresencePenalty, o.PresencePenalty)
	putPtr(m, keySeed, o.Seed)
	if o.Stop != nil {
		if o.Stop.isList {
			m[keyStop] = slices.Clone(o.Stop.seqs)
		} else {
			m[keyStop] = o.Stop.single
		}
	}
	putPtr(m, keyN, o.N)
	putPtr(m, keyLogprobs, o.Logprobs)
	putPtr(m, keyTopLogprobs, o.TopLogprobs)
	if o.LogitBias != nil {
		lb := make(map[string]any, len(o.LogitBias))
		for k, v := range o.LogitBias {
			lb[k] = v
		}
		m[keyLogitBias] = lb
	}
	putPtr(m, keyParallelToolCalls, o.ParallelToolCalls)
	if tc := o.ToolChoice; tc != nil {
		if tc.Mode == "function" {
			m[keyToolChoice] = map[string]any{"type": "function", "function": map[string]any{"name": tc.Function}}
		} else {
			m[keyToolChoice] = tc.Mode
		}
	}
	putPtr(m, keyUser, o.User)
	putPtr(m, keyServiceTier, o.ServiceTier)
	if o.Metadata != nil {
		md := make(map[string]any, len(o.Metadata))
		for k, v := range o.Metadata {
			md[k] = v
		}
		m[keyMetadata] = md
	}
	putPtr(m, keyStore, o.Store)
	if p := o.Prediction; p != nil {
		if len(p.Parts) == 0 {
			m[keyPrediction] = map[string]any{"type": "content", "content": p.Content}
		} else {
			parts := make([]any, len(p.Parts))
			for i, t := range p.Parts {
				parts[i] = map[string]any{"type": "text", "text": t}
			}
			m[keyPrediction] = map[string]any{"type": "content", "content": parts}
		}
	}
	if o.Modalities != nil {
		m[keyModalities] = slices.Clone(o.Modalities)
	}
	if w := o.WebSearchOptions; w != nil {
		wm := map[string]any{}
		if w.SearchContextSize != "" {
			wm["search_context_size"] = w.SearchContextSize
		}
		if l := w.UserLocation; l != nil {
			am := map[string]any{}
			for _, f := range []struct{ k, v string }{{"city", l.City}, {"country", l.Country}, {"region", l.Region}, {"timezone", l.Timezone}} {
				if f.v != "" {
					am[f.k] = f.v
				}
			}
			wm["user_location"] = map[string]any{"type": "approximate", "approximate": am}
		}
		m[keyWebSearchOptions] = wm
	}
	putPtr(m, keyVerbosity, o.Verbosity)
	putPtr(m, keyPromptCacheKey, o.PromptCacheKey)
	putPtr(m, keySafetyIdentifier, o.SafetyIdentifier)
	for k, v := range o.Extra {
		if _, typed := parsers[k]; !typed { // a colliding key fails Validate; the field stands
			m[k] = cloneJSONValue(v)
		}
	}
	return m
}

func putPtr[T any](m map[string]any, key string, p *T) {
	if p != nil {
		m[key] = *p
	}
}
