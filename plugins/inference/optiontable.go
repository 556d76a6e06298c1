package inference

import (
	"maps"
	"slices"
	"strings"

	"github.com/livekit-go/agents/session"
)

// optionRow is everything the package does with one typed model option,
// by its wire key: parse its map form, copy it, merge a per-call value over
// a persistent one, strip it (model rules), give its map form back, and
// encode it. optionTable holds one row per option, in the order the options
// go on the wire, so a new parameter is one row plus its ModelOptions field
// (and, when it has value rules, its checks in validate.go).
type optionRow struct {
	key string
	// pair is the other option of an exclusive pair (temperature and
	// top_p; max_tokens and max_completion_tokens): a per-call value of
	// this one replaces a persistent value of the other.
	pair  string
	isSet func(o *ModelOptions) bool
	clear func(o *ModelOptions)
	// copy sets dst's option to a deep copy of src's.
	copy func(dst, src *ModelOptions)
	// merge lays src's option over dst's; nil means copy (the per-call
	// value replaces the persistent one whole).
	merge func(dst, src *ModelOptions)
	// parse sets the option from its map form (never nil).
	parse func(o *ModelOptions, v any) error
	// toMap returns the option's map form.
	toMap func(o *ModelOptions) any
	// wire returns the value encoded under key in the body; nil for an
	// option that is not a body key (extra_headers, extra_query).
	wire func(o *ModelOptions) any
}

// The wire keys of the typed options.
const (
	keyToolChoice          = "tool_choice"
	keyParallelToolCalls   = "parallel_tool_calls"
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
	keyExtraHeaders        = "extra_headers"
	keyExtraQuery          = "extra_query"
	// keyExtraBody is not an option of its own: its keys are merged into
	// the body as if given at the top level (ParseModelOptions).
	keyExtraBody = "extra_body"
)

var optionTable = []optionRow{
	{
		key:   keyToolChoice,
		isSet: func(o *ModelOptions) bool { return o.ToolChoice != nil || o.AllowedTools != nil },
		clear: func(o *ModelOptions) { o.ToolChoice, o.AllowedTools = nil, nil },
		// Both forms are the one tool_choice: a per-call choice of either
		// form replaces a persistent one of the other.
		copy: func(dst, src *ModelOptions) {
			dst.ToolChoice, dst.AllowedTools = clonePtr(src.ToolChoice), src.AllowedTools.clone()
		},
		parse: parseToolChoice,
		toMap: func(o *ModelOptions) any { return toolChoiceMap(o.ToolChoice, o.AllowedTools) },
		wire:  func(o *ModelOptions) any { return toolChoiceWire{o.ToolChoice, o.AllowedTools} },
	},
	scalar(keyParallelToolCalls, func(o *ModelOptions) **bool { return &o.ParallelToolCalls }, toBool),
	paired(keyTopP, scalar(keyTemperature, func(o *ModelOptions) **float64 { return &o.Temperature }, toFloat)),
	paired(keyTemperature, scalar(keyTopP, func(o *ModelOptions) **float64 { return &o.TopP }, toFloat)),
	paired(keyMaxCompletionTokens, scalar(keyMaxTokens, func(o *ModelOptions) **int { return &o.MaxTokens }, toInt)),
	paired(keyMaxTokens, scalar(keyMaxCompletionTokens, func(o *ModelOptions) **int { return &o.MaxCompletionTokens }, toInt)),
	scalar(keyReasoningEffort, func(o *ModelOptions) **string { return &o.ReasoningEffort }, toString),
	scalar(keyFrequencyPenalty, func(o *ModelOptions) **float64 { return &o.FrequencyPenalty }, toFloat),
	scalar(keyPresencePenalty, func(o *ModelOptions) **float64 { return &o.PresencePenalty }, toFloat),
	scalar(keySeed, func(o *ModelOptions) **int64 { return &o.Seed }, toInt64),
	{
		key:   keyStop,
		isSet: func(o *ModelOptions) bool { return o.Stop != nil },
		clear: func(o *ModelOptions) { o.Stop = nil },
		copy:  func(dst, src *ModelOptions) { dst.Stop = src.Stop.clone() },
		parse: parseStop,
		toMap: func(o *ModelOptions) any {
			if o.Stop.isList {
				return slices.Clone(o.Stop.seqs)
			}
			return o.Stop.single
		},
		wire: func(o *ModelOptions) any { return o.Stop },
	},
	scalar(keyN, func(o *ModelOptions) **int { return &o.N }, toInt),
	scalar(keyLogprobs, func(o *ModelOptions) **bool { return &o.Logprobs }, toBool),
	scalar(keyTopLogprobs, func(o *ModelOptions) **int { return &o.TopLogprobs }, toInt),
	mapRow(keyLogitBias, func(o *ModelOptions) *map[string]int { return &o.LogitBias }, parseLogitBias, false),
	scalar(keyUser, func(o *ModelOptions) **string { return &o.User }, toString),
	scalar(keyServiceTier, func(o *ModelOptions) **string { return &o.ServiceTier }, toString),
	mapRow(keyMetadata, func(o *ModelOptions) *map[string]string { return &o.Metadata }, parseStringMap, false),
	scalar(keyStore, func(o *ModelOptions) **bool { return &o.Store }, toBool),
	{
		key:   keyPrediction,
		isSet: func(o *ModelOptions) bool { return o.Prediction != nil },
		clear: func(o *ModelOptions) { o.Prediction = nil },
		copy:  func(dst, src *ModelOptions) { dst.Prediction = src.Prediction.clone() },
		parse: parsePrediction,
		toMap: func(o *ModelOptions) any { return o.Prediction.toMap() },
		wire:  func(o *ModelOptions) any { return o.Prediction },
	},
	{
		key:   keyModalities,
		isSet: func(o *ModelOptions) bool { return o.Modalities != nil },
		clear: func(o *ModelOptions) { o.Modalities = nil },
		copy:  func(dst, src *ModelOptions) { dst.Modalities = slices.Clone(src.Modalities) },
		parse: func(o *ModelOptions, v any) (err error) { o.Modalities, err = toStrings(v); return err },
		toMap: func(o *ModelOptions) any { return slices.Clone(o.Modalities) },
		wire:  func(o *ModelOptions) any { return o.Modalities },
	},
	{
		key:   keyWebSearchOptions,
		isSet: func(o *ModelOptions) bool { return o.WebSearchOptions != nil },
		clear: func(o *ModelOptions) { o.WebSearchOptions = nil },
		copy:  func(dst, src *ModelOptions) { dst.WebSearchOptions = src.WebSearchOptions.clone() },
		parse: parseWebSearchOptions,
		toMap: func(o *ModelOptions) any { return o.WebSearchOptions.toMap() },
		wire:  func(o *ModelOptions) any { return o.WebSearchOptions },
	},
	scalar(keyVerbosity, func(o *ModelOptions) **string { return &o.Verbosity }, toString),
	scalar(keyPromptCacheKey, func(o *ModelOptions) **string { return &o.PromptCacheKey }, toString),
	scalar(keySafetyIdentifier, func(o *ModelOptions) **string { return &o.SafetyIdentifier }, toString),
	notInBody(headerRow(mapRow(keyExtraHeaders, func(o *ModelOptions) *SecretMap { return &o.ExtraHeaders }, parseStringMap, true))),
	notInBody(mapRow(keyExtraQuery, func(o *ModelOptions) *SecretMap { return &o.ExtraQuery }, parseQueryMap, true)),
}

// optionByKey finds a row by its wire key.
var optionByKey = func() map[string]*optionRow {
	m := make(map[string]*optionRow, len(optionTable))
	for i := range optionTable {
		m[optionTable[i].key] = &optionTable[i]
	}
	return m
}()

// isTypedKey reports whether key is the wire key of a typed option.
func isTypedKey(key string) bool {
	_, ok := optionByKey[key]
	return ok
}

// scalar is the row of an option held as *T, parsed by parse.
func scalar[T any](key string, field func(*ModelOptions) **T, parse func(any) (T, error)) optionRow {
	return optionRow{
		key:   key,
		isSet: func(o *ModelOptions) bool { return *field(o) != nil },
		clear: func(o *ModelOptions) { *field(o) = nil },
		copy:  func(dst, src *ModelOptions) { *field(dst) = clonePtr(*field(src)) },
		parse: func(o *ModelOptions, v any) error {
			x, err := parse(v)
			if err != nil {
				return err
			}
			*field(o) = &x
			return nil
		},
		toMap: func(o *ModelOptions) any { return **field(o) },
		wire:  func(o *ModelOptions) any { return *field(o) },
	}
}

// mapRow is the row of an option held as a map. With byKey a per-call map
// is laid over the persistent one key by key; without, it replaces it.
func mapRow[M ~map[string]V, V any](key string, field func(*ModelOptions) *M, parse func(any) (map[string]V, error), byKey bool) optionRow {
	r := optionRow{
		key:   key,
		isSet: func(o *ModelOptions) bool { return *field(o) != nil },
		clear: func(o *ModelOptions) { *field(o) = nil },
		copy:  func(dst, src *ModelOptions) { *field(dst) = maps.Clone(*field(src)) },
		parse: func(o *ModelOptions, v any) error {
			m, err := parse(v)
			*field(o) = M(m)
			return err
		},
		toMap: func(o *ModelOptions) any {
			m := make(map[string]any, len(*field(o)))
			for k, v := range *field(o) {
				m[k] = v
			}
			return m
		},
		wire: func(o *ModelOptions) any { return *field(o) },
	}
	if byKey {
		r.merge = func(dst, src *ModelOptions) {
			if *field(dst) == nil {
				*field(dst) = make(M, len(*field(src)))
			}
			maps.Copy(*field(dst), *field(src))
		}
	}
	return r
}

// headerRow makes extra_headers merge by header name, which is
// case-insensitive: a per-call X-Trace-Id replaces a persistent x-trace-id
// (as two keys, both would go on the request in map order).
func headerRow(r optionRow) optionRow {
	r.merge = func(dst, src *ModelOptions) {
		if dst.ExtraHeaders == nil {
			dst.ExtraHeaders = make(SecretMap, len(src.ExtraHeaders))
		}
		for k, v := range src.ExtraHeaders {
			for old := range dst.ExtraHeaders {
				if old != k && strings.EqualFold(old, k) {
					delete(dst.ExtraHeaders, old)
				}
			}
			dst.ExtraHeaders[k] = v
		}
	}
	return r
}

func paired(pair string, r optionRow) optionRow {
	r.pair = pair
	return r
}

func notInBody(r optionRow) optionRow {
	r.wire = nil
	return r
}

// clone returns a deep copy: changing the copy leaves o as it was.
func (o ModelOptions) clone() ModelOptions {
	var c ModelOptions
	for i := range optionTable {
		if r := &optionTable[i]; r.isSet(&o) {
			r.copy(&c, &o)
		}
	}
	if o.Extra != nil {
		c.Extra = make(map[string]any, len(o.Extra))
		for k, v := range o.Extra {
			c.Extra[k] = cloneJSONValue(v)
		}
	}
	return c
}

// Merge returns o with every option that call sets laid over it (a
// per-call option wins over a persistent one). The per-call side of an
// exclusive pair (temperature/top_p, max_tokens/max_completion_tokens, and
// the two forms of tool_choice) also removes the persistent other side.
// Extra, ExtraHeaders (by header name, ignoring case) and ExtraQuery are
// merged key by key, call's keys winning; other maps are replaced whole. The result shares no memory with
// o or call. A nil o merges call with nothing.
func (o *ModelOptions) Merge(call ModelOptions) ModelOptions {
	var m ModelOptions
	if o != nil {
		m = o.clone()
	}
	for i := range optionTable {
		r := &optionTable[i]
		if !r.isSet(&call) {
			continue
		}
		if r.merge != nil {
			r.merge(&m, &call)
		} else {
			r.copy(&m, &call)
		}
		if p := optionByKey[r.pair]; p != nil && !p.isSet(&call) {
			p.clear(&m)
		}
	}
	if call.Extra != nil {
		if m.Extra == nil {
			m.Extra = make(map[string]any, len(call.Extra))
		}
		for k, v := range call.Extra {
			m.Extra[k] = cloneJSONValue(v)
		}
	}
	return m
}

// toolChoiceMap is the map form of tool_choice.
func toolChoiceMap(tc *session.ToolChoice, at *AllowedTools) any {
	if at != nil {
		tools := make([]any, len(at.Tools))
		for i, t := range at.Tools {
			tools[i] = cloneJSONValue(map[string]any(t))
		}
		return map[string]any{"type": toolChoiceAllowedTools, toolChoiceAllowedTools: map[string]any{"mode": at.Mode, "tools": tools}}
	}
	if isNamedToolChoice(tc) {
		return map[string]any{"type": tc.Mode, tc.Mode: map[string]any{"name": tc.Function}}
	}
	return tc.Mode
}
