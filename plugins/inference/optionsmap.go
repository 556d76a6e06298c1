package inference

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/livekit-go/agents/session"
)

// The map form of ModelOptions: the reference's keys with JSON-shaped values,
// as configuration gives them.

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
var parsers = map[string]func(o *ModelOptions, v any) error{
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
		if !isTypedKey(k) { // a colliding key fails Validate; the field stands
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
