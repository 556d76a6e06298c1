package inference

import (
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Model strings, languages and the provider options of STT and TTS.

// splitModel splits "provider/model:suffix" at the last colon; the suffix is
// the STT language or the TTS voice. ok reports whether there was a colon.
func splitModel(s string) (model, suffix string, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// languageNames maps the language names users write to their codes.
var languageNames = map[string]string{
	"english": "en", "spanish": "es", "french": "fr", "german": "de", "italian": "it",
	"portuguese": "pt", "dutch": "nl", "japanese": "ja", "chinese": "zh", "korean": "ko",
	"hindi": "hi", "russian": "ru", "arabic": "ar", "turkish": "tr", "polish": "pl",
	"swedish": "sv", "danish": "da", "norwegian": "no", "finnish": "fi", "ukrainian": "uk",
}

// normalizeLanguage writes a language code as BCP-47 does: "en_us" and
// "EN-us" become "en-US", "english" becomes "en", "zh-hant-tw" becomes
// "zh-Hant-TW"; "multi" and "" stay as they are.
func normalizeLanguage(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	low := strings.ToLower(strings.ReplaceAll(s, "_", "-"))
	if code, ok := languageNames[low]; ok {
		return code
	}
	parts := strings.Split(low, "-")
	for i, p := range parts {
		if i == 0 {
			continue
		}
		switch {
		case len(p) == 2 || (len(p) == 3 && p[0] >= '0' && p[0] <= '9'):
			parts[i] = strings.ToUpper(p) // region
		case len(p) == 4:
			parts[i] = strings.ToUpper(p[:1]) + p[1:] // script
		}
	}
	return strings.Join(parts, "-")
}

// STTModelOptions are provider options of the LiveKit Inference STT models
// (Python extra_kwargs, Node modelOptions). They are sent as the session's
// settings.extra. A nil field is unset and not sent; a set one is sent even
// when zero or false. Each field names the providers that take it; the
// gateway ignores or rejects what a provider does not take.
//
// The same options can be given as a map keyed by their wire names
// ([ParseSTTModelOptions], [STTModelOptions.Map]); keys not listed here go
// to Extra and are sent unchanged.
type STTModelOptions struct {
	// Keyterm biases recognition towards these terms ("keyterm": Deepgram,
	// Cartesia). See also [WithSTTKeyterms], which picks the provider's key.
	Keyterm []string
	// KeytermsPrompt is AssemblyAI's list of terms ("keyterms_prompt").
	KeytermsPrompt []string
	// Endpointing is the silence in milliseconds that ends an utterance
	// ("endpointing": Deepgram Nova, xAI); at least 0.
	Endpointing *int
	// InterimResults turns interim transcripts on or off
	// ("interim_results": Deepgram Nova, xAI).
	InterimResults *bool
	// Punctuate ("punctuate") and SmartFormat ("smart_format"): Deepgram Nova.
	Punctuate   *bool
	SmartFormat *bool
	// FillerWords keeps "um" and "uh" ("filler_words": Deepgram Nova).
	FillerWords *bool
	// Diarize labels speakers ("diarize": Deepgram, xAI).
	Diarize *bool
	// SpeakerLabels labels speakers ("speaker_labels": AssemblyAI).
	SpeakerLabels *bool
	// EagerEOTThreshold, in 0.3..0.9, turns on preflight transcripts
	// ("eager_eot_threshold": Deepgram Flux).
	EagerEOTThreshold *float64
	// EOTThreshold, in 0.5..0.9, is the end-of-turn confidence
	// ("eot_threshold": Deepgram Flux).
	EOTThreshold *float64
	// EOTTimeoutMs ends a turn after this much silence in milliseconds
	// ("eot_timeout_ms": Deepgram Flux); at least 0.
	EOTTimeoutMs *int
	// FormatTurns formats final transcripts ("format_turns": AssemblyAI).
	FormatTurns *bool
	// EndOfTurnConfidenceThreshold, in 0..1
	// ("end_of_turn_confidence_threshold": AssemblyAI, Inworld).
	EndOfTurnConfidenceThreshold *float64
	// Extra holds keys not listed above; they are sent unchanged. A key
	// that names a typed field is rejected by Validate.
	Extra map[string]any
}

// Wire keys of the STT typed fields.
const (
	keyKeyterm           = "keyterm"
	keyKeytermsPrompt    = "keyterms_prompt"
	keyEndpointing       = "endpointing"
	keyInterimResults    = "interim_results"
	keyPunctuate         = "punctuate"
	keySmartFormat       = "smart_format"
	keyFillerWords       = "filler_words"
	keyDiarize           = "diarize"
	keySpeakerLabels     = "speaker_labels"
	keyEagerEOTThreshold = "eager_eot_threshold"
	keyEOTThreshold      = "eot_threshold"
	keyEOTTimeoutMs      = "eot_timeout_ms"
	keyFormatTurns       = "format_turns"
	keyEOTConfidence     = "end_of_turn_confidence_threshold"
	keyAdditionalVocab   = "additional_vocab"
)

type sttField struct {
	key   string
	parse func(o *STTModelOptions, v any) error
	put   func(o STTModelOptions, m map[string]any)
}

func sttBool(key string, f func(*STTModelOptions) **bool) sttField {
	return sttField{key, func(o *STTModelOptions, v any) error {
		b, ok := v.(bool)
		if !ok {
			return optErr(key, "want true or false, got %s", typeName(v))
		}
		*f(o) = &b
		return nil
	}, func(o STTModelOptions, m map[string]any) { putPtr(m, key, *f(&o)) }}
}

func sttInt(key string, f func(*STTModelOptions) **int) sttField {
	return sttField{key, func(o *STTModelOptions, v any) error {
		n, err := toInt(v)
		if err != nil {
			return optErr(key, "%v", err)
		}
		*f(o) = &n
		return nil
	}, func(o STTModelOptions, m map[string]any) { putPtr(m, key, *f(&o)) }}
}

func sttFloat(key string, f func(*STTModelOptions) **float64) sttField {
	return sttField{key, func(o *STTModelOptions, v any) error {
		x, err := toFloat(v)
		if err != nil {
			return optErr(key, "%v", err)
		}
		*f(o) = &x
		return nil
	}, func(o STTModelOptions, m map[string]any) { putPtr(m, key, *f(&o)) }}
}

func sttStrings(key string, f func(*STTModelOptions) *[]string) sttField {
	return sttField{key, func(o *STTModelOptions, v any) error {
		if s, ok := v.(string); ok { // Deepgram takes a bare term too
			*f(o) = []string{s}
			return nil
		}
		s, err := toStrings(v)
		if err != nil {
			return optErr(key, "want a string or a list of strings: %v", err)
		}
		*f(o) = s
		return nil
	}, func(o STTModelOptions, m map[string]any) {
		if s := *f(&o); s != nil {
			m[key] = slices.Clone(s)
		}
	}}
}

var sttFields = []sttField{
	sttStrings(keyKeyterm, func(o *STTModelOptions) *[]string { return &o.Keyterm }),
	sttStrings(keyKeytermsPrompt, func(o *STTModelOptions) *[]string { return &o.KeytermsPrompt }),
	sttInt(keyEndpointing, func(o *STTModelOptions) **int { return &o.Endpointing }),
	sttBool(keyInterimResults, func(o *STTModelOptions) **bool { return &o.InterimResults }),
	sttBool(keyPunctuate, func(o *STTModelOptions) **bool { return &o.Punctuate }),
	sttBool(keySmartFormat, func(o *STTModelOptions) **bool { return &o.SmartFormat }),
	sttBool(keyFillerWords, func(o *STTModelOptions) **bool { return &o.FillerWords }),
	sttBool(keyDiarize, func(o *STTModelOptions) **bool { return &o.Diarize }),
	sttBool(keySpeakerLabels, func(o *STTModelOptions) **bool { return &o.SpeakerLabels }),
	sttFloat(keyEagerEOTThreshold, func(o *STTModelOptions) **float64 { return &o.EagerEOTThreshold }),
	sttFloat(keyEOTThreshold, func(o *STTModelOptions) **float64 { return &o.EOTThreshold }),
	sttInt(keyEOTTimeoutMs, func(o *STTModelOptions) **int { return &o.EOTTimeoutMs }),
	sttBool(keyFormatTurns, func(o *STTModelOptions) **bool { return &o.FormatTurns }),
	sttFloat(keyEOTConfidence, func(o *STTModelOptions) **float64 { return &o.EndOfTurnConfidenceThreshold }),
}

// ParseSTTModelOptions converts the map form (wire keys, JSON-shaped values)
// to STTModelOptions. Numbers may be any Go number type or json.Number; a
// nil value leaves a listed option unset; keys not listed go to Extra. It
// checks types only; Validate checks values.
func ParseSTTModelOptions(m map[string]any) (STTModelOptions, error) {
	var o STTModelOptions
	byKey := make(map[string]sttField, len(sttFields))
	for _, f := range sttFields {
		byKey[f.key] = f
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		f, ok := byKey[k]
		if !ok {
			if o.Extra == nil {
				o.Extra = make(map[string]any)
			}
			o.Extra[k] = cloneJSONValue(v)
			continue
		}
		if v == nil {
			continue
		}
		if err := f.parse(&o, v); err != nil {
			return STTModelOptions{}, err
		}
	}
	return o, nil
}

// Map returns the options in map form, keyed by their wire names;
// ParseSTTModelOptions(o.Map()) gives o back.
func (o STTModelOptions) Map() map[string]any {
	m := make(map[string]any)
	for k, v := range o.Extra {
		m[k] = cloneJSONValue(v)
	}
	for _, f := range sttFields {
		f.put(o, m)
	}
	return m
}

// Validate checks the values; its error is an [*OptionError] naming the
// wire key.
func (o STTModelOptions) Validate() error {
	for k := range o.Extra {
		for _, f := range sttFields {
			if f.key == k {
				return optErr(k, "set in Extra and as a typed field: use the field")
			}
		}
	}
	if err := rangeCheck(keyEagerEOTThreshold, o.EagerEOTThreshold, 0.3, 0.9); err != nil {
		return err
	}
	if err := rangeCheck(keyEOTThreshold, o.EOTThreshold, 0.5, 0.9); err != nil {
		return err
	}
	if err := rangeCheck(keyEOTConfidence, o.EndOfTurnConfidenceThreshold, 0, 1); err != nil {
		return err
	}
	if o.Endpointing != nil && *o.Endpointing < 0 {
		return optErr(keyEndpointing, "%d is negative", *o.Endpointing)
	}
	if o.EOTTimeoutMs != nil && *o.EOTTimeoutMs < 0 {
		return optErr(keyEOTTimeoutMs, "%d is negative", *o.EOTTimeoutMs)
	}
	for _, t := range slices.Concat(o.Keyterm, o.KeytermsPrompt) {
		if strings.TrimSpace(t) == "" {
			return optErr(keyKeyterm, "empty term")
		}
	}
	return nil
}

func (o STTModelOptions) clone() STTModelOptions {
	c, _ := ParseSTTModelOptions(o.Map()) // Map's values always parse
	return c
}

func rangeCheck(key string, p *float64, lo, hi float64) error {
	if p != nil && (*p < lo || *p > hi) {
		return optErr(key, "%v is outside %v..%v", *p, lo, hi)
	}
	return nil
}

// sttExtra is the settings.extra of model: the options in map form with the
// keyterms merged in under the provider's key (none for a provider without
// keyterm prompting, where the terms are dropped).
func sttExtra(model string, o STTModelOptions, keyterms []string) map[string]any {
	m := o.Map()
	if len(keyterms) == 0 {
		return m
	}
	provider, _, _ := strings.Cut(model, "/")
	switch {
	case model == "speechmatics/linden-1":
	case provider == "speechmatics":
		// Keep the entries given (they may carry sounds_like), add the new.
		var vocab []any
		seen := map[string]bool{}
		if list, ok := m[keyAdditionalVocab].([]any); ok {
			for _, e := range list {
				vocab = append(vocab, e)
				if em, ok := e.(map[string]any); ok {
					if c, ok := em["content"].(string); ok {
						seen[c] = true
					}
				}
			}
		}
		for _, t := range keyterms {
			if !seen[t] {
				seen[t] = true
				vocab = append(vocab, map[string]any{"content": t})
			}
		}
		m[keyAdditionalVocab] = vocab
	case provider == "deepgram" || provider == "assemblyai":
		key := keyKeyterm
		if provider == "assemblyai" {
			key = keyKeytermsPrompt
		}
		existing, _ := m[key].([]string)
		m[key] = dedupe(slices.Concat(existing, keyterms))
	}
	return m
}

func dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := s[:0:0]
	for _, t := range s {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// TTSModelOptions are provider options of the LiveKit Inference TTS models,
// sent as extra in session.create and in every input_transcript. A nil field
// is unset and not sent. Each field names the providers that take it.
//
// The same options can be given as a map keyed by their wire names
// ([ParseTTSModelOptions], [TTSModelOptions.Map]); keys not listed here go
// to Extra and are sent unchanged.
type TTSModelOptions struct {
	// Speed is a speed multiplier ("speed": Cartesia, ElevenLabs). Cartesia
	// also takes a name: see SpeedName. Positive.
	Speed *float64
	// SpeedName is "slow", "normal" or "fast" (Cartesia's "speed" as a
	// string). At most one of Speed and SpeedName is set.
	SpeedName *string
	// Emotion ("emotion": Cartesia).
	Emotion *string
	// Volume ("volume": Cartesia).
	Volume *float64
	// AddTimestamps asks Cartesia for word alignment ("add_timestamps").
	AddTimestamps *bool
	// SyncAlignment asks ElevenLabs for alignment ("sync_alignment").
	SyncAlignment *bool
	// Stability, SimilarityBoost and Style are ElevenLabs voice settings
	// ("stability", "similarity_boost", "style"), each in 0..1.
	Stability       *float64
	SimilarityBoost *float64
	Style           *float64
	// SpeakingRate is Inworld's rate, above 0.5 and at most 1.5
	// ("speaking_rate").
	SpeakingRate *float64
	// Temperature is Inworld's sampling temperature, 0..2 ("temperature").
	Temperature *float64
	// TimestampType is Inworld's "WORD" or "CHARACTER" alignment
	// ("timestamp_type").
	TimestampType *string
	// Extra holds keys not listed above; they are sent unchanged. A key
	// that names a typed field is rejected by Validate.
	Extra map[string]any
}

// Wire keys of the TTS typed fields.
const (
	keySpeed           = "speed"
	keyEmotion         = "emotion"
	keyVolume          = "volume"
	keyAddTimestamps   = "add_timestamps"
	keySyncAlignment   = "sync_alignment"
	keyStability       = "stability"
	keySimilarityBoost = "similarity_boost"
	keyStyle           = "style"
	keySpeakingRate    = "speaking_rate"
	keyTTSTemperature  = "temperature"
	keyTimestampType   = "timestamp_type"
)

var ttsKeys = []string{keySpeed, keyEmotion, keyVolume, keyAddTimestamps, keySyncAlignment,
	keyStability, keySimilarityBoost, keyStyle, keySpeakingRate, keyTTSTemperature, keyTimestampType}

// ParseTTSModelOptions converts the map form (wire keys, JSON-shaped values)
// to TTSModelOptions; "speed" may be a number or a name. Keys not listed go
// to Extra. It checks types only; Validate checks values.
func ParseTTSModelOptions(m map[string]any) (TTSModelOptions, error) {
	var o TTSModelOptions
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		if !slices.Contains(ttsKeys, k) {
			if o.Extra == nil {
				o.Extra = make(map[string]any)
			}
			o.Extra[k] = cloneJSONValue(v)
			continue
		}
		if v == nil {
			continue
		}
		var err error
		switch k {
		case keySpeed:
			if s, ok := v.(string); ok {
				o.SpeedName = &s
			} else {
				o.Speed, err = floatOpt(k, v)
			}
		case keyVolume:
			o.Volume, err = floatOpt(k, v)
		case keyStability:
			o.Stability, err = floatOpt(k, v)
		case keySimilarityBoost:
			o.SimilarityBoost, err = floatOpt(k, v)
		case keyStyle:
			o.Style, err = floatOpt(k, v)
		case keySpeakingRate:
			o.SpeakingRate, err = floatOpt(k, v)
		case keyTTSTemperature:
			o.Temperature, err = floatOpt(k, v)
		case keyEmotion:
			o.Emotion, err = stringOpt(k, v)
		case keyTimestampType:
			o.TimestampType, err = stringOpt(k, v)
		case keyAddTimestamps:
			o.AddTimestamps, err = boolOpt(k, v)
		case keySyncAlignment:
			o.SyncAlignment, err = boolOpt(k, v)
		}
		if err != nil {
			return TTSModelOptions{}, err
		}
	}
	return o, nil
}

func floatOpt(key string, v any) (*float64, error) {
	f, err := toFloat(v)
	if err != nil {
		return nil, optErr(key, "%v", err)
	}
	return &f, nil
}

func stringOpt(key string, v any) (*string, error) {
	s, ok := v.(string)
	if !ok {
		return nil, optErr(key, "want a string, got %s", typeName(v))
	}
	return &s, nil
}

func boolOpt(key string, v any) (*bool, error) {
	b, ok := v.(bool)
	if !ok {
		return nil, optErr(key, "want true or false, got %s", typeName(v))
	}
	return &b, nil
}

// Map returns the options in map form, keyed by their wire names;
// ParseTTSModelOptions(o.Map()) gives o back.
func (o TTSModelOptions) Map() map[string]any {
	m := make(map[string]any)
	for k, v := range o.Extra {
		m[k] = cloneJSONValue(v)
	}
	putPtr(m, keySpeed, o.Speed)
	putPtr(m, keySpeed, o.SpeedName)
	putPtr(m, keyEmotion, o.Emotion)
	putPtr(m, keyVolume, o.Volume)
	putPtr(m, keyAddTimestamps, o.AddTimestamps)
	putPtr(m, keySyncAlignment, o.SyncAlignment)
	putPtr(m, keyStability, o.Stability)
	putPtr(m, keySimilarityBoost, o.SimilarityBoost)
	putPtr(m, keyStyle, o.Style)
	putPtr(m, keySpeakingRate, o.SpeakingRate)
	putPtr(m, keyTTSTemperature, o.Temperature)
	putPtr(m, keyTimestampType, o.TimestampType)
	return m
}

// Validate checks the values; its error is an [*OptionError] naming the
// wire key.
func (o TTSModelOptions) Validate() error {
	for k := range o.Extra {
		if slices.Contains(ttsKeys, k) {
			return optErr(k, "set in Extra and as a typed field: use the field")
		}
	}
	if o.Speed != nil && o.SpeedName != nil {
		return optErr(keySpeed, "set as a number and as a name: set one")
	}
	if o.Speed != nil && *o.Speed <= 0 {
		return optErr(keySpeed, "%v is not positive", *o.Speed)
	}
	if o.SpeedName != nil && !slices.Contains([]string{"slow", "normal", "fast"}, *o.SpeedName) {
		return optErr(keySpeed, "%q: want slow, normal or fast", *o.SpeedName)
	}
	for _, c := range []struct {
		key    string
		p      *float64
		lo, hi float64
	}{{keyStability, o.Stability, 0, 1}, {keySimilarityBoost, o.SimilarityBoost, 0, 1}, {keyStyle, o.Style, 0, 1},
		{keyTTSTemperature, o.Temperature, 0, 2}} {
		if err := rangeCheck(c.key, c.p, c.lo, c.hi); err != nil {
			return err
		}
	}
	if r := o.SpeakingRate; r != nil && (*r <= 0.5 || *r > 1.5) {
		return optErr(keySpeakingRate, "%v is outside (0.5, 1.5]", *r)
	}
	if t := o.TimestampType; t != nil && !slices.Contains([]string{"TIMESTAMP_TYPE_UNSPECIFIED", "WORD", "CHARACTER"}, *t) {
		return optErr(keyTimestampType, "%q: want WORD or CHARACTER", *t)
	}
	return nil
}

func (o TTSModelOptions) clone() TTSModelOptions {
	c, _ := ParseTTSModelOptions(o.Map()) // Map's values always parse
	return c
}

// ttsTokenCap is the longest text one input_transcript carries for the
// provider (the references' per-token caps); 0 is no cap.
func ttsTokenCap(model string) int {
	provider, _, _ := strings.Cut(model, "/")
	switch provider {
	case "cartesia":
		return 400
	case "inworld":
		return 900
	case "xai":
		return 1000
	}
	return 0
}

// splitText cuts s into pieces of at most limit bytes, at spaces where it
// can and never inside a UTF-8 sequence.
func splitText(s string, limit int) []string {
	if limit <= 0 || len(s) <= limit {
		return []string{s}
	}
	var out []string
	for len(s) > limit {
		cut := strings.LastIndexByte(s[:limit+1], ' ')
		if cut <= 0 {
			cut = limit
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			if cut == 0 {
				_, cut = utf8.DecodeRuneInString(s)
			}
		}
		out = append(out, s[:cut])
		s = strings.TrimLeft(s[cut:], " ")
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}
