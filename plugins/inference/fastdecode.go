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
// for any line that is not valid JSON; the caller then decodes the line with
// encoding/json, which also gives the error messages. It validates as it
// goes, so a line is scanned once.
func fastParse(line []byte, w *sseChunk) bool {
	p := jsonParser{b: line}
	if !p.consume('{') {
		return false
	}
	if p.consume('}') {
		return p.end()
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
			if foldsTo(key, "id", "service_tier", "choices", "usage", "error") || !p.skip(0) {
				return false
			}
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
			if c.Logprobs, ok = p.raw(); !ok {
				return false
			}
		case "finish_reason":
			if !p.null() && !p.string(&c.FinishReason) {
				return false
			}
		default:
			if foldsTo(key, "index", "delta", "logprobs", "finish_reason") || !p.skip(0) {
				return false
			}
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
			if !p.null() && !p.string((*string)(&d.Content)) {
				return false
			}
		case "extra_content":
			if d.ExtraContent, ok = p.raw(); !ok {
				return false
			}
		case "tool_calls", "audio":
			// Rare and structured: left to encoding/json.
			if !p.null() {
				return false
			}
			d.ToolCalls, d.Audio = nil, nil
		default:
			// role, refusal, reasoning_content, ...
			if foldsTo(key, "content", "extra_content", "tool_calls", "audio") || !p.skip(0) {
				return false
			}
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
func (p *jsonParser) raw() (rawJSON, bool) {
	if p.null() {
		return nil, true
	}
	p.ws()
	start := p.i
	if !p.skip(0) {
		return nil, false
	}
	return append(rawJSON(nil), p.b[start:p.i]...), true
}

// jsonParser walks a JSON text, checking it as strictly as encoding/json's
// scanner does (which accepts invalid UTF-8 inside strings).
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

// literal consumes lit (null, true, false), if it is next.
func (p *jsonParser) literal(lit string) bool {
	p.ws()
	if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
		p.i += len(lit)
		return true
	}
	return false
}

// null consumes a null literal, if it is next.
func (p *jsonParser) null() bool { return p.literal("null") }

// rawString consumes a string and returns its bytes between the quotes and
// whether it holds escapes. It fails on control characters and bad escapes.
func (p *jsonParser) rawString() (s []byte, escaped, ok bool) {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false, false
	}
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			p.i = j + 1
			return p.b[start:j], escaped, true
		case c < 0x20:
			return nil, false, false
		case c == '\\':
			escaped = true
			j++
			if j >= len(p.b) {
				return nil, false, false
			}
			switch p.b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(p.b) || !isHex(p.b[j+1]) || !isHex(p.b[j+2]) || !isHex(p.b[j+3]) || !isHex(p.b[j+4]) {
					return nil, false, false
				}
				j += 4
			default:
				return nil, false, false
			}
		}
	}
	return nil, false, false
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number consumes a number by JSON's grammar and reports whether it is a
// plain integer (no fraction or exponent).
func (p *jsonParser) number() (s []byte, integer, ok bool) {
	p.ws()
	start, b := p.i, p.b
	i := p.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return nil, false, false
	}
	integer = true
	if i < len(b) && b[i] == '.' {
		integer = false
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return nil, false, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return nil, false, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	p.i = i
	return b[start:i], integer, true
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
	p.ws()
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
	p.ws()
	start := p.i
	if _, _, ok := p.rawString(); !ok {
		return false
	}
	return r.UnmarshalJSON(p.b[start:p.i]) == nil
}

// int consumes an integer that fits an int.
func (p *jsonParser) int() (int, bool) {
	s, integer, ok := p.number()
	if !ok || !integer {
		return 0, false
	}
	n, err := strconv.Atoi(string(s))
	return n, err == nil
}

// maxDepth bounds the nesting skip follows; deeper lines go to
// encoding/json, which has its own limit.
const maxDepth = 64

// skip consumes and checks one value of any kind.
func (p *jsonParser) skip(depth int) bool {
	p.ws()
	if p.i >= len(p.b) || depth > maxDepth {
		return false
	}
	switch p.b[p.i] {
	case '"':
		_, _, ok := p.rawString()
		return ok
	case '{':
		p.i++
		if p.consume('}') {
			return true
		}
		for {
			if _, _, ok := p.rawString(); !ok || !p.consume(':') || !p.skip(depth+1) {
				return false
			}
			if p.consume(',') {
				continue
			}
			return p.consume('}')
		}
	case '[':
		p.i++
		if p.consume(']') {
			return true
		}
		for {
			if !p.skip(depth + 1) {
				return false
			}
			if p.consume(',') {
				continue
			}
			return p.consume(']')
		}
	case 't':
		return p.literal("true")
	case 'f':
		return p.literal("false")
	case 'n':
		return p.literal("null")
	default:
		_, _, ok := p.number()
		return ok
	}
}
