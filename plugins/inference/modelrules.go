package inference

import (
	"strings"
)

// modelRule says what a model family does not take. Rules are matched by
// prefix against the model name without its provider ("gpt-5-mini" of
// "openai/gpt-5-mini"); every matching rule applies, in table order.
type modelRule struct {
	// family names the rule in tests and docs.
	family   string
	prefixes []string
	// onlyWithTools applies the rule only to requests that carry tools.
	onlyWithTools bool
	// strip lists the wire keys of the options removed.
	strip []string
	// maxTokensToCompletion moves max_tokens to max_completion_tokens, the
	// only one newer models accept; a set max_completion_tokens wins.
	maxTokensToCompletion bool
}

// modelRules is the table of model families. To support a new family, add a
// row (and a golden body in testdata/requests).
var modelRules = []modelRule{
	{
		// OpenAI reasoning models reject sampling options and max_tokens.
		family:                "openai-reasoning",
		prefixes:              []string{"o1", "o3", "o4", "gpt-5"},
		strip:                 []string{keyTemperature, keyTopP, keyPresencePenalty, keyFrequencyPenalty, keyLogitBias, keyLogprobs, keyTopLogprobs, keyN},
		maxTokensToCompletion: true,
	},
	{
		// xAI reasoning models reject penalties and stop sequences.
		family:   "xai-reasoning",
		prefixes: []string{"grok-4-1-fast-reasoning", "grok-4.20-0309-reasoning", "grok-4.20-multi-agent"},
		strip:    []string{keyPresencePenalty, keyFrequencyPenalty, keyStop},
	},
	{
		// gpt-5.2 and gpt-5.4 reject reasoning_effort together with tools.
		family:        "gpt-5.2/5.4-tools",
		prefixes:      []string{"gpt-5.2", "gpt-5.4"},
		onlyWithTools: true,
		strip:         []string{keyReasoningEffort},
	},
}

// modelName is the part of a model string the rules match: what follows the
// last "/" (the provider), lower-cased.
func modelName(model string) string {
	if i := strings.LastIndexByte(model, '/'); i >= 0 {
		model = model[i+1:]
	}
	return strings.ToLower(model) // no allocation when already lower-case
}

// applyModelRules strips or translates the options model does not take and
// returns what it changed, as wire keys ("temperature",
// "max_tokens->max_completion_tokens"), for the debug log. It returns nil
// when nothing changed.
func applyModelRules(model string, hasTools bool, o *ModelOptions) (stripped []string) {
	name := modelName(model)
	for i := range modelRules {
		r := &modelRules[i]
		if r.onlyWithTools && !hasTools || !hasAnyPrefix(name, r.prefixes) {
			continue
		}
		for _, key := range r.strip {
			if opt := optionByKey[key]; opt != nil && opt.isSet(o) {
				opt.clear(o)
				stripped = append(stripped, key)
			}
		}
		if r.maxTokensToCompletion && o.MaxTokens != nil {
			if o.MaxCompletionTokens == nil {
				o.MaxCompletionTokens = o.MaxTokens
				stripped = append(stripped, keyMaxTokens+"->"+keyMaxCompletionTokens)
			} else {
				stripped = append(stripped, keyMaxTokens)
			}
			o.MaxTokens = nil
		}
	}
	return stripped
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
