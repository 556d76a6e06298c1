package inference

import "strings"

const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// thinkFilter removes <think>...</think> sections from streamed content. Tags
// may be split across deltas, so a tail that could be the start of a tag is
// held back until the next delta shows what it is.
type thinkFilter struct {
	in   bool   // inside a think section
	hold string // a tail that may be the start of the next tag
}

// push returns the part of s (after what was held back) that is outside
// think sections and cannot be the start of a tag.
func (f *thinkFilter) push(s string) string {
	if !f.in && f.hold == "" && strings.IndexByte(s, '<') < 0 {
		return s // the common case: plain text
	}
	text := f.hold + s
	f.hold = ""
	var out strings.Builder
	for text != "" {
		tag := thinkOpen
		if f.in {
			tag = thinkClose
		}
		if i := strings.Index(text, tag); i >= 0 {
			if !f.in {
				out.WriteString(text[:i])
			}
			text = text[i+len(tag):]
			f.in = !f.in
			continue
		}
		k := partialSuffix(text, tag)
		if !f.in {
			out.WriteString(text[:len(text)-k])
		}
		f.hold = text[len(text)-k:]
		break
	}
	return out.String()
}

// flush ends the content: a held tail outside a think section was text after
// all; an unterminated think section is dropped.
func (f *thinkFilter) flush() string {
	h := f.hold
	f.hold = ""
	if f.in {
		return ""
	}
	return h
}

func (f *thinkFilter) holding() bool { return f.hold != "" && !f.in }

// partialSuffix is the length of the longest proper prefix of tag that text
// ends with.
func partialSuffix(text, tag string) int {
	for k := min(len(tag)-1, len(text)); k > 0; k-- {
		if strings.HasSuffix(text, tag[:k]) {
			return k
		}
	}
	return 0
}
