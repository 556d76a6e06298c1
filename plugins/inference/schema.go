package inference

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// openAPIDocument is the official OpenAI OpenAPI document for Chat
// Completions (openapi/README.md says where it comes from). The enum values
// the options accept and OpenAI's numeric limits are read from it, so that
// a newer schema changes them without a code change.
//
//go:embed openapi/chat-completions.openapi.json
var openAPIDocument []byte

// schemaFacts is what validation takes from the schema.
type schemaFacts struct {
	reasoningEfforts   []string
	serviceTiers       []string
	verbosities        []string
	modalities         []string
	searchContextSizes []string
	// toolChoiceModes are the string forms of tool_choice (none, auto,
	// required).
	toolChoiceModes []string
	// namedToolChoiceTypes are the object forms that name one tool:
	// {"type": T, T: {"name": ...}} (function, custom).
	namedToolChoiceTypes []string
	// allowedToolsModes are the modes of {"type":"allowed_tools",...}.
	allowedToolsModes []string

	// OpenAI's limits. Other providers take other ranges ("the range of
	// valid values can vary by model"), so only the bounds that hold by
	// definition (top_p is a probability mass; temperature, top_logprobs
	// and n have no meaning below their minimum) apply to every model.
	temperature      bounds
	topP             bounds
	frequencyPenalty bounds
	presencePenalty  bounds
	topLogprobs      bounds
	n                bounds
	stopMaxItems     int
}

// bounds is a schema's minimum and maximum of a number.
type bounds struct{ min, max float64 }

// String writes the bounds as the errors show them: "0..2".
func (b bounds) String() string { return fmt.Sprintf("%v..%v", b.min, b.max) }

// openAIFacts reads the embedded schema once.
var openAIFacts = sync.OnceValues(func() (*schemaFacts, error) {
	f, err := readSchemaFacts(openAPIDocument)
	if err != nil {
		return nil, fmt.Errorf("inference: embedded OpenAI schema: %w", err)
	}
	return f, nil
})

// readSchemaFacts reads the facts from an OpenAPI document.
func readSchemaFacts(doc []byte) (*schemaFacts, error) {
	var root map[string]any
	if err := json.Unmarshal(doc, &root); err != nil {
		return nil, err
	}
	sr := schemaReader{root: root}
	f := &schemaFacts{
		reasoningEfforts:   sr.enum(sr.named("ReasoningEffort")),
		serviceTiers:       sr.enum(sr.named("ServiceTier")),
		verbosities:        sr.enum(sr.named("Verbosity")),
		modalities:         sr.enum(sr.named("ResponseModalities")),
		searchContextSizes: sr.enum(sr.named("WebSearchContextSize")),
		allowedToolsModes:  sr.enum(sr.get(sr.named("ChatCompletionAllowedTools"), "properties", "mode")),
	}
	// tool_choice: a string enum, and objects told apart by their "type".
	for _, branch := range sr.list(sr.named("ChatCompletionToolChoiceOption"), "oneOf") {
		b := sr.deref(branch)
		if _, ok := b["enum"]; ok {
			f.toolChoiceModes = sr.enum(b)
			continue
		}
		for _, t := range sr.enum(sr.get(b, "properties", "type")) {
			if sr.get(b, "properties", t, "properties", "name") != nil {
				f.namedToolChoiceTypes = append(f.namedToolChoiceTypes, t)
			}
		}
	}
	props := sr.properties(sr.named("CreateChatCompletionRequest"))
	f.temperature = sr.bounds(props["temperature"])
	f.topP = sr.bounds(props["top_p"])
	f.frequencyPenalty = sr.bounds(props["frequency_penalty"])
	f.presencePenalty = sr.bounds(props["presence_penalty"])
	f.topLogprobs = sr.bounds(props["top_logprobs"])
	f.n = sr.bounds(props["n"])
	if stop := sr.find(sr.deref(props["stop"]), "maxItems"); stop != nil {
		if v, ok := stop["maxItems"].(float64); ok {
			f.stopMaxItems = int(v)
		}
	}
	if sr.err != nil {
		return nil, sr.err
	}
	for name, list := range map[string][]string{
		"reasoning_effort": f.reasoningEfforts, "service_tier": f.serviceTiers, "verbosity": f.verbosities,
		"modalities": f.modalities, "search_context_size": f.searchContextSizes, "tool_choice modes": f.toolChoiceModes,
		"tool_choice types": f.namedToolChoiceTypes, "allowed_tools modes": f.allowedToolsModes,
	} {
		if len(list) == 0 {
			return nil, fmt.Errorf("no values for %s", name)
		}
	}
	if f.stopMaxItems == 0 {
		return nil, fmt.Errorf("no maxItems for stop")
	}
	return f, nil
}

// schemaReader walks the decoded document; the first thing it cannot find
// is kept in err and every later step returns nothing.
type schemaReader struct {
	root map[string]any
	err  error
}

func (r *schemaReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

// named returns #/components/schemas/<name>.
func (r *schemaReader) named(name string) map[string]any {
	s, _ := r.get(r.root, "components", "schemas", name).(map[string]any)
	if s == nil {
		r.fail("no schema %s", name)
	}
	return s
}

// get follows keys from n; nil when one is missing.
func (r *schemaReader) get(n any, keys ...string) any {
	for _, k := range keys {
		m, _ := n.(map[string]any)
		if m == nil {
			return nil
		}
		n = m[k]
	}
	return n
}

func (r *schemaReader) list(n any, key string) []any {
	l, _ := r.get(n, key).([]any)
	return l
}

// deref resolves a {"$ref": "#/components/schemas/X"} node.
func (r *schemaReader) deref(n any) map[string]any {
	m, _ := n.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/components/schemas/")
		if !found {
			r.fail("unsupported $ref %q", ref)
			return nil
		}
		return r.named(name)
	}
	return m
}

// find returns the first node, depth first through anyOf, oneOf, allOf,
// items and $ref, that has key.
func (r *schemaReader) find(n map[string]any, key string) map[string]any {
	if n == nil {
		return nil
	}
	if _, ok := n[key]; ok {
		return n
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		for _, b := range r.list(n, k) {
			if f := r.find(r.deref(b), key); f != nil {
				return f
			}
		}
	}
	if items, ok := n["items"]; ok {
		return r.find(r.deref(items), key)
	}
	return nil
}

// enum returns the string enum of a schema (or of the first branch that
// has one).
func (r *schemaReader) enum(n any) []string {
	e := r.find(r.deref(n), "enum")
	if e == nil {
		r.fail("no enum in %v", n)
		return nil
	}
	var out []string
	for _, v := range r.list(e, "enum") {
		if s, ok := v.(string); ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// bounds returns the minimum and maximum of a number schema.
func (r *schemaReader) bounds(n any) bounds {
	b := r.find(r.deref(n), "maximum")
	lo, ok1 := r.get(b, "minimum").(float64)
	hi, ok2 := r.get(b, "maximum").(float64)
	if !ok1 || !ok2 {
		r.fail("no minimum and maximum in %v", n)
	}
	return bounds{lo, hi}
}

// properties merges the properties of a schema and of everything it
// extends through allOf; the later (more specific) one wins.
func (r *schemaReader) properties(n map[string]any) map[string]any {
	out := map[string]any{}
	for _, b := range r.list(n, "allOf") {
		for k, v := range r.properties(r.deref(b)) {
			out[k] = v
		}
	}
	if p, ok := n["properties"].(map[string]any); ok {
		for k, v := range p {
			out[k] = v
		}
	}
	return out
}
