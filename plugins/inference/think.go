package inference

import "strings"

// thinkTags are the markers around a model's reasoning in its content.
type thinkTags struct{ open, close string }

// defaultThinkTags are what most models use.
var defaultThinkTags = thinkTags{"<think>", "</think>"}

// modelThinkTags maps models whose reasoning comes between other markers,
// by model name (what follows the provider, lower-cased; see modelName),
// as the Python and Node clients map them. A new model is one row.
var modelThinkTags = []struct {
	models []string
	tags   thinkTags
}{
	{[]string{"gemma-4-31b-it"}, thinkTags{"<|channel>thought", "<channel|>"}},
}

// thinkTagsFor returns the think markers of model.
func thinkTagsFor(model string) thinkTags {
	name := modelName(model)
	for _, r := range modelThinkTags {
		for _, m := range r.models {
			if name == m {
				return r.tags
			}
		}
	}
	return defaultThinkTags
}

// filter returns a think filter for these tags (the default ones when t is
// zero).
func (t thinkTags) filter() thinkFilter {
	if t.open == "" {
		t = defaultThinkTags
	}
	return thinkFilter{open: t.open, close: t.close}
}

// thinkFilter removes think sections (by default <think>...</think>) from
// the streamed content of one choice. Tags may be split across deltas, so
// a tail that could be the start of a tag is held back until the next delta
// shows what it is. flush, at the end of the choice, resets it.
type thinkFilter struct {
	open, close string
	in          bool   // inside a think section
	hold        string // a tail that may be the start of the next tag
}

// push returns the part of s (after what was held back) that is outside
// think sections and cannot be the start of a tag.
func (f *thinkFilter) push(s string) string {
	if f.open == "" {
		*f = thinkTags{}.filter()
	}
	if !f.in && f.hold == "" && strings.IndexByte(s, f.open[0]) < 0 {
		return s // the common case: plain text
	}
	text := f.hold + s
	f.hold = ""
	var out strings.Builder
	for text != "" {
		tag := f.open
		if f.in {
			tag = f.close
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

// flush ends the choice's content: a held tail outside a think section was
// text after all; an unterminated think section is dropped. The filter
// starts over, so what the choice sends after its end is not taken for
// reasoning (the Python and Node filters reset there too).
func (f *thinkFilter) flush() string {
	h := f.hold
	in := f.in
	f.hold, f.in = "", false
	if in {
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
