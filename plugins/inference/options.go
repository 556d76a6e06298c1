package inference

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/livekit-go/agents/session"
)

// ModelOptions are the Chat Completion options of the LiveKit Inference
// parameter reference. A nil field is unset and is not sent; a set field is
// sent even when it holds zero or false. Go 1.26's new(expr) makes a
// pointer: ModelOptions{Temperature: new(0.7)}. A nil map or slice is unset;
// an empty non-nil one is set and sent empty.
//
// The same options can be given as a map keyed as the reference names them
// (ParseModelOptions, Map). A request applies the model family's rules
// first (they strip what the model does not take) and then validates what
// will be sent; ValidateFor does the same for a model, Validate checks what
// holds for every model.
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
	// LogitBias maps token ids (decimal integers) to a bias (-100..100 for
	// OpenAI models).
	LogitBias         map[string]int
	ParallelToolCalls *bool
	// ToolChoice is a mode (auto, required, none) or one named tool: Mode
	// "function" (or "custom", for a custom tool) with its name in
	// Function. The schema's lists decide what is accepted.
	ToolChoice *session.ToolChoice
	// User is deprecated by the API in favour of SafetyIdentifier and
	// PromptCacheKey. It is still sent; the first request that sets it logs
	// one warning per process.
	User        *string
	ServiceTier *string
	// Metadata holds, for OpenAI models, at most 16 pairs, keys up to 64
	// characters, values up to 512.
	Metadata         map[string]string
	Store            *bool
	Prediction       *Prediction
	Modalities       []string
	WebSearchOptions *WebSearchOptions
	Verbosity        *string
	PromptCacheKey   *string
	SafetyIdentifier *string
	// AllowedTools is tool_choice in its allowed_tools form. It and
	// ToolChoice are one option on the wire: set one of them.
	AllowedTools *AllowedTools
	// Extra holds keys the reference does not list (a provider's own, such
	// as top_k); they go into the body unchanged, after the typed fields.
	// The map form's extra_body (the Python and Node clients' way to add
	// body keys) is merged here, its typed keys into their fields. An Extra
	// key that names a typed field or a key the request itself owns (model,
	// messages, tools, stream, stream_options) is rejected by Validate
	// rather than silently overriding it.
	Extra map[string]any
	// ExtraHeaders are sent as HTTP headers with the request (the map
	// form's extra_headers). The gateway's own headers (Authorization,
	// User-Agent, X-LiveKit-*) win over them, as in the Python client.
	// Their values never print (SecretMap).
	ExtraHeaders SecretMap
	// ExtraQuery is added to the request URL's query (extra_query). Its
	// values never print, nor appear in errors (SecretMap).
	ExtraQuery SecretMap
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

func (p *Prediction) clone() *Prediction {
	if p == nil {
		return nil
	}
	c := *p
	c.Parts = slices.Clone(p.Parts)
	return &c
}

func (p *Prediction) toMap() map[string]any {
	if len(p.Parts) == 0 {
		return map[string]any{"type": "content", "content": p.Content}
	}
	parts := make([]any, len(p.Parts))
	for i, t := range p.Parts {
		parts[i] = map[string]any{"type": "text", "text": t}
	}
	return map[string]any{"type": "content", "content": parts}
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

func (w *WebSearchOptions) toMap() map[string]any {
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
	return wm
}

// toolChoiceAllowedTools is the type of tool_choice's allowed_tools form.
const toolChoiceAllowedTools = "allowed_tools"

// AllowedTools is the tool_choice that limits the model to some of the
// request's tools:
// {"type":"allowed_tools","allowed_tools":{"mode":...,"tools":[...]}}.
type AllowedTools struct {
	// Mode is "auto" (the model may call one of Tools, or answer) or
	// "required" (it must call one of them); the schema's list decides.
	Mode string
	// Tools are the allowed tools as the API names them, e.g.
	// {"type":"function","function":{"name":"get_weather"}}.
	Tools []map[string]any
}

// AllowedFunctions returns the allowed_tools choice of the named function
// tools.
func AllowedFunctions(mode string, names ...string) *AllowedTools {
	at := &AllowedTools{Mode: mode, Tools: make([]map[string]any, len(names))}
	for i, n := range names {
		at.Tools[i] = map[string]any{"type": "function", "function": map[string]any{"name": n}}
	}
	return at
}

func (a *AllowedTools) clone() *AllowedTools {
	if a == nil {
		return nil
	}
	c := &AllowedTools{Mode: a.Mode}
	if a.Tools != nil {
		c.Tools = make([]map[string]any, len(a.Tools))
		for i, t := range a.Tools {
			c.Tools[i], _ = cloneJSONValue(map[string]any(t)).(map[string]any)
		}
	}
	return c
}

// MarshalJSON writes the allowed_tools form of tool_choice.
func (a AllowedTools) MarshalJSON() ([]byte, error) {
	type inner struct {
		Mode  string           `json:"mode"`
		Tools []map[string]any `json:"tools"`
	}
	type wire struct {
		Type         string `json:"type"`
		AllowedTools inner  `json:"allowed_tools"`
	}
	tools := a.Tools
	if tools == nil {
		tools = []map[string]any{}
	}
	return marshalNoEscape(wire{toolChoiceAllowedTools, inner{a.Mode, tools}})
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

// reservedKeys are body keys the request itself owns; options may not set
// them.
var reservedKeys = map[string]bool{
	"model": true, "messages": true, "tools": true, "stream": true, "stream_options": true,
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
