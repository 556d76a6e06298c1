package inference

import (
	"maps"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/livekit-go/agents/session"
)

// Validation runs at two places in a request's chain (see the README's
// table). Before the model rules: what must hold whatever a rule then
// strips (checkKeys). After them, on what will be sent: the rules every
// model shares (checkValues), then the limits of the model's provider
// (providerLimits). So an option a model's rule removes is never refused
// (gpt-5-mini with temperature and top_p), and a range that is OpenAI's is
// not imposed on Gemini.

// Validate reports the first invalid option, as an *OptionError naming it,
// by the rules every model shares. It knows no model: options a model's
// rules would strip are checked too, and no provider's limits are; use
// ValidateFor to check what a model would be sent.
func (o ModelOptions) Validate() error {
	if err := o.checkKeys(); err != nil {
		return err
	}
	return o.checkValues()
}

// ValidateFor reports the first invalid option of what model would be sent:
// the model family's rules are applied first (as for a request without
// tools), then the rules every model shares and the provider's limits (the
// provider is the model string's prefix: "openai" of "openai/gpt-4.1").
func (o ModelOptions) ValidateFor(model string) error {
	if err := o.checkKeys(); err != nil {
		return err
	}
	sent := o.clone()
	applyModelRules(model, false, &sent)
	return sent.checkSent(model)
}

// checkSent checks the options as they will be sent to model.
func (o *ModelOptions) checkSent(model string) error {
	if err := o.checkValues(); err != nil {
		return err
	}
	if limits := providerLimits[modelProvider(model)]; limits != nil {
		f, err := openAIFacts()
		if err != nil {
			return err
		}
		return limits(o, f)
	}
	return nil
}

// checkKeys checks what holds before any rule runs: Extra may not shadow a
// typed option or a key the request owns, and extra headers and query keys
// must be writable.
func (o *ModelOptions) checkKeys() error {
	for _, k := range slices.Sorted(maps.Keys(o.Extra)) {
		switch {
		case isTypedKey(k):
			return optErr(k, "set in Extra; use the ModelOptions field")
		case reservedKeys[k]:
			return optErr(k, "owned by the request, not a model option")
		case k == keyExtraBody:
			return optErr(k, "set in Extra; put its keys in Extra or the ModelOptions fields")
		}
	}
	headers := slices.Sorted(maps.Keys(o.ExtraHeaders))
	for i, k := range headers {
		if !validHeaderName(k) {
			return optErr(keyExtraHeaders, "%q is not a valid header name", k)
		}
		for _, other := range headers[i+1:] {
			if strings.EqualFold(k, other) {
				return optErr(keyExtraHeaders, "%q and %q name one header", k, other)
			}
		}
		if !validHeaderValue(o.ExtraHeaders[k]) {
			return optErr(keyExtraHeaders, "value of %q holds a control character", k)
		}
	}
	for k := range o.ExtraQuery {
		if k == "" {
			return optErr(keyExtraQuery, "empty key")
		}
	}
	return nil
}

// checkValues checks the rules every model shares: the schema's enums, the
// bounds that hold by definition, and the pairs and dependencies.
func (o *ModelOptions) checkValues() error {
	f, err := openAIFacts()
	if err != nil {
		return err
	}
	if err := checkFloat(keyTemperature, o.Temperature, f.temperature.min, math.Inf(1)); err != nil {
		return err
	}
	if err := checkFloat(keyTopP, o.TopP, f.topP.min, f.topP.max); err != nil {
		return err
	}
	if o.Temperature != nil && o.TopP != nil {
		return optErr(keyTemperature, "set this or top_p, but not both")
	}
	if err := checkFloat(keyFrequencyPenalty, o.FrequencyPenalty, math.Inf(-1), math.Inf(1)); err != nil {
		return err
	}
	if err := checkFloat(keyPresencePenalty, o.PresencePenalty, math.Inf(-1), math.Inf(1)); err != nil {
		return err
	}
	if o.MaxTokens != nil && *o.MaxTokens < 1 {
		return optErr(keyMaxTokens, "%d is less than 1", *o.MaxTokens)
	}
	if o.MaxCompletionTokens != nil && *o.MaxCompletionTokens < 1 {
		return optErr(keyMaxCompletionTokens, "%d is less than 1", *o.MaxCompletionTokens)
	}
	if o.N != nil && float64(*o.N) < f.n.min {
		return optErr(keyN, "%d is less than %v", *o.N, f.n.min)
	}
	if o.TopLogprobs != nil {
		if o.Logprobs == nil || !*o.Logprobs {
			return optErr(keyTopLogprobs, "requires logprobs=true")
		}
		if float64(*o.TopLogprobs) < f.topLogprobs.min {
			return optErr(keyTopLogprobs, "%d is less than %v", *o.TopLogprobs, f.topLogprobs.min)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.LogitBias)) {
		if !isTokenID(k) {
			return optErr(keyLogitBias, "key %q is not a token id", k)
		}
	}
	if o.Stop != nil && o.Stop.isList && len(o.Stop.seqs) == 0 {
		return optErr(keyStop, "empty list")
	}
	if err := checkEnum(keyReasoningEffort, o.ReasoningEffort, f.reasoningEfforts); err != nil {
		return err
	}
	if err := checkEnum(keyServiceTier, o.ServiceTier, f.serviceTiers); err != nil {
		return err
	}
	if err := checkEnum(keyVerbosity, o.Verbosity, f.verbosities); err != nil {
		return err
	}
	if err := checkToolChoice(o.ToolChoice, o.AllowedTools, f); err != nil {
		return err
	}
	for _, m := range o.Modalities {
		if !slices.Contains(f.modalities, m) {
			return optErr(keyModalities, "unknown value %q, want one of %s", m, strings.Join(f.modalities, ", "))
		}
	}
	if w := o.WebSearchOptions; w != nil && w.SearchContextSize != "" && !slices.Contains(f.searchContextSizes, w.SearchContextSize) {
		return optErr(keyWebSearchOptions, "unknown search_context_size %q, want one of %s", w.SearchContextSize, strings.Join(f.searchContextSizes, ", "))
	}
	return nil
}

func checkToolChoice(tc *session.ToolChoice, at *AllowedTools, f *schemaFacts) error {
	if tc != nil && at != nil {
		return optErr(keyToolChoice, "set as %q and as allowed_tools; set one", tc.Mode)
	}
	if at != nil && !slices.Contains(f.allowedToolsModes, at.Mode) {
		return optErr(keyToolChoice, "unknown allowed_tools mode %q, want one of %s", at.Mode, strings.Join(f.allowedToolsModes, ", "))
	}
	if tc == nil {
		return nil
	}
	switch {
	case slices.Contains(f.namedToolChoiceTypes, tc.Mode):
		if tc.Function == "" {
			return optErr(keyToolChoice, "%s name is empty", tc.Mode)
		}
	case slices.Contains(f.toolChoiceModes, tc.Mode):
		if tc.Function != "" {
			return optErr(keyToolChoice, "function %q given with mode %q", tc.Function, tc.Mode)
		}
	default:
		return optErr(keyToolChoice, "unknown mode %q, want one of %s, or a named %s",
			tc.Mode, strings.Join(f.toolChoiceModes, ", "), strings.Join(f.namedToolChoiceTypes, " or "))
	}
	return nil
}

// isNamedToolChoice reports whether tc names one tool (type function or
// custom), which the wire writes as {"type": T, T: {"name": ...}}.
func isNamedToolChoice(tc *session.ToolChoice) bool {
	if tc == nil {
		return false
	}
	if tc.Function != "" {
		return true
	}
	f, err := openAIFacts()
	return err == nil && slices.Contains(f.namedToolChoiceTypes, tc.Mode)
}

// providerLimits are the limits that belong to one provider's models, by
// the model string's prefix. The parameter reference says ranges vary by
// model; OpenAI's are its schema's.
var providerLimits = map[string]func(o *ModelOptions, f *schemaFacts) error{
	"openai": openAILimits,
}

func openAILimits(o *ModelOptions, f *schemaFacts) error {
	for _, c := range []struct {
		key string
		v   *float64
		b   bounds
	}{
		{keyTemperature, o.Temperature, f.temperature},
		{keyFrequencyPenalty, o.FrequencyPenalty, f.frequencyPenalty},
		{keyPresencePenalty, o.PresencePenalty, f.presencePenalty},
	} {
		if err := checkFloat(c.key, c.v, c.b.min, c.b.max); err != nil {
			return err
		}
	}
	if o.TopLogprobs != nil && float64(*o.TopLogprobs) > f.topLogprobs.max {
		return optErr(keyTopLogprobs, "%d is outside %v", *o.TopLogprobs, f.topLogprobs)
	}
	if o.N != nil && float64(*o.N) > f.n.max {
		return optErr(keyN, "%d is outside %v", *o.N, f.n)
	}
	if o.Stop != nil && len(o.Stop.seqs) > f.stopMaxItems {
		return optErr(keyStop, "%d sequences, at most %d allowed", len(o.Stop.seqs), f.stopMaxItems)
	}
	// The schema says these in prose only.
	for _, k := range slices.Sorted(maps.Keys(o.LogitBias)) {
		if v := o.LogitBias[k]; v < -100 || v > 100 {
			return optErr(keyLogitBias, "token %s: %d is outside -100..100", k, v)
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
	return nil
}

// modelProvider is the provider prefix of a model string, lower-cased:
// "openai" of "openai/gpt-4.1-mini"; "" without one.
func modelProvider(model string) string {
	p, _, ok := strings.Cut(model, "/")
	if !ok {
		return ""
	}
	return strings.ToLower(p)
}

// checkFloat checks that a set value is finite and within lo..hi (either
// may be infinite: no bound on that side).
func checkFloat(key string, p *float64, lo, hi float64) error {
	if p == nil {
		return nil
	}
	v := *p
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return optErr(key, "%v is not a finite number", v)
	}
	switch {
	case v >= lo && v <= hi:
		return nil
	case math.IsInf(hi, 1):
		return optErr(key, "%v is less than %v", v, lo)
	case math.IsInf(lo, -1):
		return optErr(key, "%v is more than %v", v, hi)
	default:
		return optErr(key, "%v is outside %v..%v", v, lo, hi)
	}
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

// validHeaderName reports whether s is an HTTP header field name (an
// RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s holds no control character but tab,
// as net/http requires.
func validHeaderValue(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
