package session

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// sentenceSplitter cuts streamed text into sentences for TTS. A sentence is
// released the moment its terminator arrives, without waiting for the next
// token, unless the terminator is ambiguous at the end of what arrived so
// far: a period after a digit ("3." may become "3.5") or after a common
// abbreviation ("Dr.").
type sentenceSplitter struct {
	buf strings.Builder
}

var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "st": true, "jr": true, "sr": true,
	"prof": true, "vs": true, "etc": true, "e.g": true, "i.e": true, "no": true, "approx": true,
}

// push adds a delta and returns the sentences it completed.
func (s *sentenceSplitter) push(delta string) []string {
	s.buf.WriteString(delta)
	text := s.buf.String()
	var out []string
	start := 0
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		end := i + size
		switch {
		case r == '\n' || r == '。' || r == '！' || r == '？':
			// always a boundary
		case r == '.' || r == '!' || r == '?' || r == '…':
			// include closing quotes and brackets that follow
			for end < len(text) {
				c, n := utf8.DecodeRuneInString(text[end:])
				if !strings.ContainsRune(`"')]”’»`, c) {
					break
				}
				end += n
			}
			if end < len(text) {
				c, _ := utf8.DecodeRuneInString(text[end:])
				if !unicode.IsSpace(c) {
					i = end
					continue // "3.5", "a.m", "www.x"
				}
				if r == '.' && isAbbreviation(text[start:i]) {
					i = end
					continue
				}
			} else if r == '.' && (endsWithDigit(text[start:i]) || isAbbreviation(text[start:i])) {
				i = end
				continue // wait for the next token
			}
		default:
			i = end
			continue
		}
		if sent := strings.TrimSpace(text[start:end]); sent != "" {
			out = append(out, sent)
		}
		start = end
		i = end
	}
	if start > 0 {
		rest := text[start:]
		s.buf.Reset()
		s.buf.WriteString(rest)
	}
	return out
}

// flush returns what is left, if anything.
func (s *sentenceSplitter) flush() string {
	rest := strings.TrimSpace(s.buf.String())
	s.buf.Reset()
	return rest
}

func endsWithDigit(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return unicode.IsDigit(r)
}

func isAbbreviation(s string) bool {
	i := strings.LastIndexFunc(s, unicode.IsSpace)
	word := strings.ToLower(s[i+1:])
	if abbreviations[word] {
		return true
	}
	// single capital letter: an initial ("J. Smith")
	r, n := utf8.DecodeRuneInString(s[i+1:])
	return n > 0 && i+1+n == len(s) && unicode.IsUpper(r)
}
