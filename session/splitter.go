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
// abbreviation ("Dr."). A sentence that grows past maxSentence bytes without
// an end is cut at its last clause boundary (a comma, semicolon, colon or
// dash before a space), else at its last space, so speech starts without
// waiting for the end of a run-on answer.
//
// Each byte is scanned once (a held terminator once more): the work is
// linear in the text, however it is split into deltas.
type sentenceSplitter struct {
	buf  []byte // text not released yet
	scan int    // buf[:scan] was scanned: no sentence end in it
	// Cut points found in buf[:scan], as offsets: after the last clause
	// boundary and after the last space.
	lastClause, lastSpace int
	scanned               int // bytes scanned, for the linearity test
}

// maxSentence bounds a sentence without an end, in bytes; minClause is the
// least a piece cut at a clause boundary holds, so the cut is not a word.
const (
	maxSentence = 200
	minClause   = 40
)

var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "st": true, "jr": true, "sr": true,
	"prof": true, "vs": true, "etc": true, "e.g": true, "i.e": true, "no": true, "approx": true,
}

// push adds a delta and returns the sentences it completed.
func (s *sentenceSplitter) push(delta string) []string {
	s.buf = append(s.buf, delta...)
	var out []string
	i := s.scan
	for i < len(s.buf) {
		if !utf8.FullRune(s.buf[i:]) {
			break // a rune split across deltas: wait for its end
		}
		r, size := utf8.DecodeRune(s.buf[i:])
		s.scanned += size
		end := i + size
		cut := false
		switch {
		case r == '\n' || r == '。' || r == '！' || r == '？':
			cut = true
		case r == '.' || r == '!' || r == '?' || r == '…':
			// include closing quotes and brackets that follow
			for end < len(s.buf) && utf8.FullRune(s.buf[end:]) {
				c, n := utf8.DecodeRune(s.buf[end:])
				if !strings.ContainsRune(`"')]”’»`, c) {
					break
				}
				end += n
			}
			switch {
			case end < len(s.buf) && !utf8.FullRune(s.buf[end:]):
				s.scan = i // what follows is not whole yet: look again
				return out
			case end < len(s.buf):
				c, _ := utf8.DecodeRune(s.buf[end:])
				// "3.5", "a.m", "www.x" go on; so does "Dr. Smith"
				cut = unicode.IsSpace(c) && !(r == '.' && isAbbreviation(s.buf[:i]))
			case r == '.' && (endsWithDigit(s.buf[:i]) || isAbbreviation(s.buf[:i])):
				// wait for the next token to tell
				s.scan = i
				return out
			default:
				cut = true
			}
		case unicode.IsSpace(r):
			s.lastSpace = i
			if i > 0 {
				if p, _ := utf8.DecodeLastRune(s.buf[:i]); p == ',' || p == ';' || p == ':' || p == '—' || p == '–' {
					s.lastClause = i
				}
			}
		}
		if cut {
			// What follows end was not scanned yet.
			out = s.release(out, end, end)
			i = 0
			continue
		}
		i = end
		if i > maxSentence {
			at := i // one long word: cut it where it is
			switch {
			case s.lastClause >= minClause:
				at = s.lastClause
			case s.lastSpace >= minClause:
				at = s.lastSpace
			}
			out = s.release(out, at, i)
			i = s.scan
		}
	}
	s.scan = i
	return out
}

// release cuts buf[:end] off as a sentence. buf[:scanned] was scanned: the
// rest keeps what is known of it. No clause boundary follows a cut (it is
// at the last one, the last space, or past both), and a space only when
// the cut is at a clause boundary.
func (s *sentenceSplitter) release(out []string, end, scanned int) []string {
	if sent := strings.TrimSpace(string(s.buf[:end])); sent != "" {
		out = append(out, sent)
	}
	n := copy(s.buf, s.buf[end:])
	s.buf = s.buf[:n]
	s.scan = scanned - end
	if s.lastSpace > end {
		s.lastSpace -= end
	} else {
		s.lastSpace = 0
	}
	s.lastClause = 0
	return out
}

// flush returns what is left, if anything.
func (s *sentenceSplitter) flush() string {
	rest := strings.TrimSpace(string(s.buf))
	s.buf = s.buf[:0]
	s.scan, s.lastClause, s.lastSpace = 0, 0, 0
	return rest
}

func endsWithDigit(b []byte) bool {
	r, _ := utf8.DecodeLastRune(b)
	return unicode.IsDigit(r)
}

func isAbbreviation(b []byte) bool {
	s := string(b[max(0, len(b)-8):]) // the longest abbreviation and a space
	i := strings.LastIndexFunc(s, unicode.IsSpace)
	word := strings.ToLower(s[i+1:])
	if abbreviations[word] {
		return true
	}
	// single capital letter: an initial ("J. Smith")
	r, n := utf8.DecodeRuneInString(s[i+1:])
	return n > 0 && i+1+n == len(s) && unicode.IsUpper(r)
}
