package session

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestSentenceSplitter(t *testing.T) {
	tests := []struct {
		name   string
		deltas []string
		want   [][]string // sentences released after each delta
		rest   string
	}{
		{"released on terminator", []string{"Hello", " there.", " How", " are you?"}, [][]string{nil, {"Hello there."}, nil, {"How are you?"}}, ""},
		{"decimal waits", []string{"It is 3.", "5 degrees. Ok"}, [][]string{nil, {"It is 3.5 degrees."}}, "Ok"},
		{"abbreviation waits", []string{"Ask Dr.", " Who. Then"}, [][]string{nil, {"Ask Dr. Who."}}, "Then"},
		{"quotes stay", []string{`He said "hi!" and left.`}, [][]string{{`He said "hi!"`, "and left."}}, ""},
		{"cjk", []string{"你好。再见"}, [][]string{{"你好。"}}, "再见"},
		{"newline", []string{"one\ntwo"}, [][]string{{"one"}}, "two"},
		{"no terminator", []string{"abc", "def"}, [][]string{nil, nil}, "abcdef"},
		{"terminator split across deltas", []string{"你好\xe3\x80", "\x82再见"}, [][]string{nil, {"你好。"}}, "再见"},
		{"quote split across deltas", []string{"He said “hi!\xe2\x80", "\x9d then"}, [][]string{nil, {"He said “hi!”"}}, "then"},
		{
			"long clause cut at its last comma",
			[]string{strings.Repeat("word ", 20) + "and then, " + strings.Repeat("more ", 30)},
			[][]string{{strings.Repeat("word ", 20) + "and then,"}},
			strings.TrimSpace(strings.Repeat("more ", 30)),
		},
		{
			"long clause without a comma cut at a space",
			[]string{strings.Repeat("word ", 50)},
			[][]string{{strings.TrimSpace(strings.Repeat("word ", 40))}},
			strings.TrimSpace(strings.Repeat("word ", 10)),
		},
		{
			"one long word cut where it is",
			[]string{strings.Repeat("x", 250)},
			[][]string{{strings.Repeat("x", maxSentence+1)}},
			strings.Repeat("x", 250-maxSentence-1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sentenceSplitter
			for i, d := range tt.deltas {
				got := s.push(d)
				if diff := cmp.Diff(got, tt.want[i]); diff != "" {
					t.Errorf("push(%q) (-got +want):\n%s", d, diff)
				}
			}
			if got := s.flush(); got != tt.rest {
				t.Errorf("flush() = %q, want %q", got, tt.rest)
			}
		})
	}
}

func FuzzSentenceSplitter(f *testing.F) {
	f.Add("Hello there. How are you?", 3)
	f.Add("It is 3.5 degrees… ok!", 7)
	f.Fuzz(func(t *testing.T, text string, cut int) {
		if !utf8.ValidString(text) {
			t.Skip("model text is valid UTF-8 (it comes decoded from JSON)")
		}
		if cut < 1 {
			cut = 1
		}
		var s sentenceSplitter
		var got []string
		for i := 0; i < len(text); i += cut {
			got = append(got, s.push(text[i:min(len(text), i+cut)])...)
		}
		if rest := s.flush(); rest != "" {
			got = append(got, rest)
		}
		for _, g := range got {
			if len(g) > maxSentence+16 {
				t.Fatalf("sentence of %d bytes, over the bound: %q", len(g), g)
			}
		}
		// Nothing but whitespace may be lost or reordered.
		want := stripSpace(text)
		var joined string
		for _, g := range got {
			joined += g
		}
		if stripSpace(joined) != want {
			t.Fatalf("sentences %q lose text of %q", got, text)
		}
	})
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// Behaviour 14, the work: each byte is scanned about once however the text
// is split, so 20,000 deltas without a sentence end cost linear time (the
// old splitter scanned the whole pending text on every delta).
func TestSplitterScansEachByteOnce(t *testing.T) {
	for _, delta := range []string{"word ", "word, ", "w", "3.", "Dr. "} {
		t.Run(delta, func(t *testing.T) {
			var s sentenceSplitter
			total := 0
			for range 20000 {
				s.push(delta)
				total += len(delta)
			}
			s.flush()
			if s.scanned > 2*total {
				t.Errorf("scanned %d bytes for %d bytes of text", s.scanned, total)
			}
		})
	}
}
