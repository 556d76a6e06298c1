package inference

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/livekit-go/agents/session"
)

// The map form of ModelOptions: the reference's keys with JSON-shaped values,
// as configuration gives them.

// ParseModelOptions converts the map form (the reference's keys, as JSON
// configuration gives them: Python extra_kwargs, Node modelOptions) to
// ModelOptions. Numbers may be float64, float32, any integer type or
// json.Number; an integer option rejects a fractional value. A nil value
// leaves a listed option unset. Keys the reference does not list go to
// Extra unchanged. extra_body's keys are merged as if given at the top level
// (winning over them, as the OpenAI clients merge extra_body last; its null
// for a listed option unsets it);
// extra_headers and extra_query become ExtraHeaders and ExtraQuery. It
// checks types only; validation checks values.
func ParseModelOptions(m map[string]any) (ModelOptions, error) {
	var o ModelOptions
	if len(m) == 0 {
		return o, nil
	}
	if err := parseKeys(&o, m, false); err != nil {
		return ModelOptions{}, err
	}
	if v := m[keyExtraBody]; v != nil {
		body, ok := v.(map[string]any)
		if !ok {
			return ModelOptions{}, optErr(keyExtraBody, "want an object, got %s", typeName(v))
		}
		if err := parseKeys(&o, body, true); err != nil {
			return ModelOptions{}, err
		}
	}
	return o, nil
}

// parseKeys parses the keys of m into o; inBody says m is extra_body.
func parseKeys(o *ModelOptions, m map[string]any, inBody bool) error {
	// Sorted so that with several bad keys the error is always the same.
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		r := optionByKey[k]
		switch {
		case k == keyExtraBody && !inBody:
			continue // parsed after the top-level keys
		case inBody && (k == keyExtraBody || r != nil && r.wire == nil):
			return optErr(keyExtraBody, "%s inside extra_body: give it at the top level", k)
		case r == nil:
			if o.Extra == nil {
				o.Extra = make(map[string]any)
			}
			o.Extra[k] = v
			continue
		case v == nil:
			if inBody {
				// extra_body wins over the top level: its null is the
				// provider's default, which is what an unset option sends.
				r.clear(o)
			}
			continue
		}
		if err := r.parse(o, v); err != nil {
			reason := err.Error()
			if inBody {
				reason += " (in extra_body)"
			}
			return &OptionError{Param: k, Reason: reason}
		}
	}
	return nil
}

// Map returns the options in map form, keyed as the reference names them:
// floats as float64, integers as int (seed as int64), lists as []string,
// objects as map[string]any. ParseModelOptions(o.Map()) gives o back. Extra
// values are copied as they are.
func (o ModelOptions) Map() map[string]any {
	m := make(map[string]any)
	for i := range optionTable {
		if r := &optionTable[i]; r.isSet(&o) {
			m[r.key] = r.toMap(&o)
		}
	}
	for k, v := range o.Extra {
		if !isTypedKey(k) { // a colliding key fails validation; the field stands
			m[k] = cloneJSONValue(v)
		}
	}
	return m
}

// The parsers of the options whose map form is more than a scalar. An
// error's text is the reason only; ParseModelOptions adds the key.

func parseStop(o *ModelOptions, v any) error {
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
}

func parseLogitBias(v any) (map[string]int, error) {
	lb := map[string]int{}
	switch v := v.(type) {
	case map[string]int:
		maps.Copy(lb, v)
	case map[string]any:
		for k, e := range v {
			n, err := toInt(e)
			if err != nil {
				return nil, fmt.Errorf("token %s: %w", k, err)
			}
			lb[k] = n
		}
	default:
		return nil, fmt.Errorf("want an object of token id to integer, got %s", typeName(v))
	}
	return lb, nil
}

// parseStringMap parses an object of strings (metadata, extra_headers).
func parseStringMap(v any) (map[string]string, error) {
	md := map[string]string{}
	switch v := v.(type) {
	case map[string]string:
		maps.Copy(md, v)
	case map[string]any:
		for k, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("value of %q: want a string, got %s", k, typeName(e))
			}
			md[k] = s
		}
	default:
		return nil, fmt.Errorf("want an object of strings, got %s", typeName(v))
	}
	return md, nil
}

// parseQueryMap parses extra_query: strings, numbers and booleans, written
// as the Python and Node clients write them in a URL.
func parseQueryMap(v any) (map[string]string, error) {
	if m, ok := v.(map[string]string); ok {
		return maps.Clone(m), nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want an object, got %s", typeName(v))
	}
	q := make(map[string]string, len(obj))
	for k, e := range obj {
		switch e := e.(type) {
		case string:
			q[k] = e
		case bool:
			q[k] = strconv.FormatBool(e)
		case json.Number:
			q[k] = e.String()
		default:
			f, err := toFloat(e)
			if err != nil {
				return nil, fmt.Errorf("value of %q: want a string, number or boolean, got %s", k, typeName(e))
			}
			q[k] = strconv.FormatFloat(f, 'f', -1, 64)
		}
	}
	return q, nil
}

// parseToolChoice takes a mode string, {"type": T, T: {"name": ...}} for a
// named tool (function, custom), or the allowed_tools object. Which modes
// and types exist is validation's business (the schema's lists).
func parseToolChoice(o *ModelOptions, v any) error {
	switch v := v.(type) {
	case string:
		if isNamedToolChoice(&session.ToolChoice{Mode: v}) {
			// The bare type would need a name; only the object form carries one.
			return fmt.Errorf(`%q needs the object form {"type":%q,%q:{"name":...}}`, v, v, v)
		}
		o.ToolChoice, o.AllowedTools = &session.ToolChoice{Mode: v}, nil
		return nil
	case session.ToolChoice:
		o.ToolChoice, o.AllowedTools = &v, nil
		return nil
	case *AllowedTools:
		o.ToolChoice, o.AllowedTools = nil, v.clone()
		return nil
	case map[string]any:
		t, ok := v["type"].(string)
		if !ok || t == "" {
			return fmt.Errorf(`object form: want a "type", got %s`, typeName(v["type"]))
		}
		if t == toolChoiceAllowedTools {
			at, err := parseAllowedTools(v[t])
			if err != nil {
				return err
			}
			o.ToolChoice, o.AllowedTools = nil, at
			return nil
		}
		named, ok := v[t].(map[string]any)
		if !ok {
			return fmt.Errorf(`object form: want %q: {"name": ...}`, t)
		}
		name, ok := named["name"].(string)
		if !ok {
			return fmt.Errorf(`object form: want a string %s name, got %s`, t, typeName(named["name"]))
		}
		o.ToolChoice, o.AllowedTools = &session.ToolChoice{Mode: t, Function: name}, nil
		return nil
	default:
		return fmt.Errorf("want a mode (auto, required, none) or an object naming a tool, got %s", typeName(v))
	}
}

func parseAllowedTools(v any) (*AllowedTools, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf(`allowed_tools: want {"mode":...,"tools":[...]}, got %s`, typeName(v))
	}
	mode, ok := obj["mode"].(string)
	if !ok {
		return nil, fmt.Errorf("allowed_tools.mode: want a string, got %s", typeName(obj["mode"]))
	}
	list, ok := obj["tools"].([]any)
	if !ok {
		return nil, fmt.Errorf("allowed_tools.tools: want a list of tool objects, got %s", typeName(obj["tools"]))
	}
	at := &AllowedTools{Mode: mode, Tools: make([]map[string]any, len(list))}
	for i, e := range list {
		t, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("allowed_tools.tools[%d]: want an object, got %s", i, typeName(e))
		}
		at.Tools[i], _ = cloneJSONValue(t).(map[string]any)
	}
	return at, nil
}

func parsePrediction(o *ModelOptions, v any) error {
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
}

func parseWebSearchOptions(o *ModelOptions, v any) error {
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
}

func toString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %s", typeName(v))
	}
	return s, nil
}

func toBool(v any) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("want true or false, got %s", typeName(v))
	}
	return b, nil
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

func putPtr[T any](m map[string]any, key string, p *T) {
	if p != nil {
		m[key] = *p
	}
}
