package pocketsphinx

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

type config struct {
	modelDir string
	dict     string
	grammar  string
	keywords []Keyword
	extra    []string
}

// Option configures [New].
type Option func(*config) error

// WithModelDir loads the model from dir (laid out as Debian's
// pocketsphinx-en-us: en-us/, cmudict-en-us.dict, en-us.lm.bin).
func WithModelDir(dir string) Option {
	return func(c *config) error {
		if dir == "" {
			return errors.New("pocketsphinx: model dir: empty")
		}
		c.modelDir = dir
		return nil
	}
}

// WithDictionary uses a pronunciation dictionary other than the model's.
func WithDictionary(path string) Option {
	return func(c *config) error {
		if path == "" {
			return errors.New("pocketsphinx: dictionary: empty path")
		}
		c.dict = path
		return nil
	}
}

// WithGrammar restricts recognition to a JSGF grammar, e.g.
//
//	#JSGF V1.0;
//	grammar lights;
//	public <cmd> = turn (on | off) the (kitchen | bedroom) lights;
//
// Every word must be in the dictionary.
func WithGrammar(jsgf string) Option {
	return func(c *config) error {
		if strings.TrimSpace(jsgf) == "" {
			return errors.New("pocketsphinx: grammar: empty")
		}
		c.grammar = jsgf
		return nil
	}
}

// Keyword is a phrase to spot and its detection threshold: smaller values
// (1e-40) find more and false-alarm more; larger (1e-5) the opposite.
// Zero means [DefaultKeywordThreshold].
type Keyword struct {
	Phrase    string
	Threshold float64
}

// DefaultKeywordThreshold suits phrases of two or three words inside longer
// sentences (1e-20 missed such phrases in flite's speech; 1e-30 found them
// without false alarms on the other phrases tested).
const DefaultKeywordThreshold = 1e-30

// WithKeywords spots the given phrases in continuous speech instead of
// transcribing everything. Each word must be in the dictionary.
func WithKeywords(kws ...Keyword) Option {
	return func(c *config) error {
		if len(kws) == 0 {
			return errors.New("pocketsphinx: keywords: none given")
		}
		out := make([]Keyword, 0, len(kws))
		for _, k := range kws {
			k, err := normalizeKeyword(k)
			if err != nil {
				return err
			}
			out = append(out, k)
		}
		c.keywords = out
		return nil
	}
}

// WithKeywordList is [WithKeywords] from text in pocketsphinx's keyword
// file format: one phrase per line, optionally followed by /threshold/;
// blank lines and lines starting with # are ignored.
//
//	kitchen lights /1e-20/
//	garage door
func WithKeywordList(text string) Option {
	return func(c *config) error {
		kws, err := ParseKeywords(text)
		if err != nil {
			return err
		}
		return WithKeywords(kws...)(c)
	}
}

// WithArgs passes raw pocketsphinx arguments ("-vad_threshold", "3.0"),
// for tuning this package does not expose.
func WithArgs(args ...string) Option {
	return func(c *config) error {
		if len(args)%2 != 0 {
			return fmt.Errorf("pocketsphinx: args: %d values, want name/value pairs", len(args))
		}
		for i := 0; i < len(args); i += 2 {
			if !strings.HasPrefix(args[i], "-") {
				return fmt.Errorf("pocketsphinx: args: %q is not a -name", args[i])
			}
			if strings.ContainsRune(args[i]+args[i+1], 0) {
				return errors.New("pocketsphinx: args: contains a NUL byte")
			}
		}
		c.extra = append(c.extra, args...)
		return nil
	}
}

// ParseKeywords reads a keyword list (see [WithKeywordList]).
func ParseKeywords(text string) ([]Keyword, error) {
	var out []Keyword
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, len(text)+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k := Keyword{Phrase: line}
		if strings.HasSuffix(line, "/") {
			i := strings.LastIndexByte(line[:len(line)-1], '/')
			if i < 0 {
				return nil, fmt.Errorf("pocketsphinx: keywords: line %d: unmatched '/'", n)
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(line[i+1:len(line)-1]), 64)
			if err != nil {
				return nil, fmt.Errorf("pocketsphinx: keywords: line %d: threshold: %w", n, err)
			}
			if !(v > 0) { // an explicit zero is an error, not "the default"
				return nil, fmt.Errorf("pocketsphinx: keywords: line %d: threshold %v outside (0, 1]", n, v)
			}
			k = Keyword{Phrase: strings.TrimSpace(line[:i]), Threshold: v}
		}
		k, err := normalizeKeyword(k)
		if err != nil {
			return nil, fmt.Errorf("pocketsphinx: keywords: line %d: %w", n, err)
		}
		out = append(out, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pocketsphinx: keywords: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("pocketsphinx: keywords: none given")
	}
	return out, nil
}

// normalizeKeyword lower-cases the phrase, collapses white space and checks
// what the C side would choke on.
func normalizeKeyword(k Keyword) (Keyword, error) {
	words := strings.Fields(strings.ToLower(k.Phrase))
	if len(words) == 0 {
		return k, errors.New("pocketsphinx: keyword: empty phrase")
	}
	for _, w := range words {
		for _, r := range w {
			if r == '/' || r == '#' || unicode.IsControl(r) {
				return k, fmt.Errorf("pocketsphinx: keyword %q: character %q not allowed", k.Phrase, r)
			}
		}
	}
	k.Phrase = strings.Join(words, " ")
	if k.Threshold == 0 {
		k.Threshold = DefaultKeywordThreshold
	}
	if !(k.Threshold > 0 && k.Threshold <= 1) || math.IsInf(k.Threshold, 0) {
		return k, fmt.Errorf("pocketsphinx: keyword %q: threshold %v outside (0, 1]", k.Phrase, k.Threshold)
	}
	return k, nil
}

// FormatKeywords writes keywords in pocketsphinx's keyword file format.
func FormatKeywords(kws []Keyword) string {
	var b strings.Builder
	for _, k := range kws {
		fmt.Fprintf(&b, "%s /%g/\n", k.Phrase, k.Threshold)
	}
	return b.String()
}
