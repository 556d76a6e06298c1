package inference

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// fastParse decodes the common shape of a chunk (an id, choices with a text
// delta, null or absent usage) into w without reflection: most of a stream
// is such chunks, and encoding/json spends most of its time on reflection
// and on scanning every line twice. It reports false for anything else
// (tool calls, audio, a usage object, an error, an unexpected type), and
// the caller decodes the line with encoding/json instead, which also keeps
// its error messages. line must be valid JSON (json.Valid), so the parser
// only has to find its way, not check.
func fastParse(line []byte, w *sseChunk) bool {
	p := jsonParser{b: line}
	if !p.consume('{') {
		return false
	}
	if p.consume('}') {
		return true
	}
	seenChoices := false
	for {
		key, ok := p.key()
		if !ok {
			return false
		}
		switch string(key) { // the conversion does not allocate here
		case "id":
			if !p.reusedString(&w.ID) {
				return false
			}
		case "service_tier":
			if !p.reusedString(&w.ServiceTier) {
				return false
			}
		case "choices":
			// A repeated key would be merged by encoding/json's rules.
			if seenChoices || !p.choices(w) {
				return false
			}
			seenChoices = true
		case "usage", "error":
			if !p.null() {
				return false
			}
		default:
			if foldsTo(key, "id", "service_tier", "choices", "usage", "error") {
				return false
			}
			p.skip()
		}
		if p.consume(',') {
			continue
		}
		return p.consume('}') && p.end()
	}
}

func (p *jsonParser) choices(w *sseChunk) bool {
	if p.null() {
		return true
	}
	if !p.consume('[') {
		return false
	}
	if p.consume(']') {
		return true
	}
	for {
		w.Choices = append(w.Choices, sseChoice{})
		if !p.choice(&w.Choices[len(w.Choices)-1]) {
			return false
		}
		if p.consume(',') {
			continue
		}
		return p.consume(']')
	}
}

func (p *jsonParser) choice(c *sseChoice) bool {
	if !p.consume('{') {
		return false
	}
	if p.consume('}') {
		return true
	}
	for {
		key, ok := p.key()
		if !ok {
			return false
		}
		switch string(key) {
		case "index":
			n, ok := p.int()
			if !ok {
				return false
			}
			c.Index = n
		case "delta":
			if !p.null() && !p.delta(&c.Delta) {
				return false
			}
		case "logprobs":
			c.Logprobs = p.raw()
		case "finish_reason":
			if !p.null() && !p.string(&c.FinishReason) {
				return false
			}
		default:
			if foldsTo(key, "index", "delta", "logprobs", "finish_reason") {
				return false
			}
			p.skip()
		}
		if p.consume(',') {
			continue
		}
		return p.consume('}')
	}
}

func (p *jsonParser) delta(d *sseDelta) bool {
	if !p.consume('{') {
		return false
	}
	if p.consume('}') {
		return true
	}
	for {
		key, ok := p.key()
		if !ok {
			return false
		}
		switch string(key) {
		case "content":
			if !p.null() && !p.string(&d.Content) {
				return false
			}
		case "extra_content":
			d.ExtraContent = p.raw()
		case "tool_calls", "audio":
			// Rare and structured: left to encoding/json.
			if !p.null() {
				return false
			}
			d.ToolCalls, d.Audio = nil, nil
		default:
			if foldsTo(key, "content", "extra_content", "tool_calls", "audio") {
				return false
			}
			p.skip() // role, refusal, reasoning_content, ...
		}
		if p.consume(',') {
			continue
		}
		return p.consume('}')
	}
}

// foldsTo reports whether key is one of names in another case: encoding/json
// matches keys case-insensitively, and such a line is left to it.
func foldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

// raw consumes a value and returns a copy of its JSON, or nil for null, as
// rawJSON.UnmarshalJSON does.
func (p *jsonParser) raw() rawJSON {
	if p.null() {
		return nil
	}
	p.ws()
	start := p.i
	p.skip()
	return append(rawJSON(nil), p.b[start:p.i]...)
}

// jsonParser walks a valid JSON text.
type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// consume skips white space and then c, if c is next.
func (p *jsonParser) consume(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jsonParser) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// null consumes a null literal, if it is next.
func (p *jsonParser) null() bool {
	p.ws()
	if len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "null" {
		p.i += 4
		return true
	}
	return false
}

// rawString consumes a string and returns its bytes between the quotes and
// whether it holds escapes.
func (p *jsonParser) rawString() (s []byte, escaped, ok bool) {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false, false
	}
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		switch p.b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			p.i = j + 1
			return p.b[start:j], escaped, true
		}
	}
	return nil, false, false
}

// key consumes an object key and its colon. Keys with escapes are not
// expected and send the line to encoding/json.
func (p *jsonParser) key() ([]byte, bool) {
	k, esc, ok := p.rawString()
	if !ok || esc || !p.consume(':') {
		return nil, false
	}
	return k, true
}

// string consumes a string value into s.
func (p *jsonParser) string(s *string) bool {
	start := p.i
	raw, esc, ok := p.rawString()
	if !ok {
		return false
	}
	if !esc && utf8.Valid(raw) {
		*s = string(raw)
		return true
	}
	// Escapes and invalid UTF-8 are decoded by encoding/json, which knows
	// JSON's rules (surrogate pairs, replacement of bad bytes) exactly.
	return json.Unmarshal(p.b[start:p.i], s) == nil
}

// reusedString consumes a string into r, keeping r's string when the text
// is the same (see reusedString.UnmarshalJSON), or a null leaving r as it
// is.
func (p *jsonParser) reusedString(r *reusedString) bool {
	if p.null() {
		return true
	}
	start := p.i
	if _, _, ok := p.rawString(); !ok {
		return false
	}
	return r.UnmarshalJSON(p.b[start:p.i]) == nil
}

// int consumes an integer.
func (p *jsonParser) int() (int, bool) {
	p.ws()
	start := p.i
	for p.i < len(p.b) && (p.b[p.i] == '-' || p.b[p.i] >= '0' && p.b[p.i] <= '9') {
		p.i++
	}
	n, err := strconv.Atoi(string(p.b[start:p.i]))
	return n, err == nil
}

// skip consumes one value of any kind.
func (p *jsonParser) skip() {
	p.ws()
	if p.i >= len(p.b) {
		return
	}
	switch p.b[p.i] {
	case '"':
		p.rawString()
	case '{', '[':
		depth := 0
		for p.i < len(p.b) {
			switch p.b[p.i] {
			case '"':
				p.rawString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					p.i++
					return
				}
			}
			p.i++
		}
	default: // number, true, false, null
		for p.i < len(p.b) {
			switch p.b[p.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			p.i++
		}
	}
}
