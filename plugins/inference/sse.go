package inference

import "bytes"

// sseFilter sits between a response body and go-openai's line reader and
// removes, in place, the lines go-openai must not see:
//
//   - comments (": keep-alive") and the event:, id: and retry: fields.
//     go-openai collects every line that is not data and parses what it
//     collected as the error when an error event comes, so one keep-alive
//     before an error event made its message unreadable (and the event
//     retryable). The idle timer still counts these lines: it watches the
//     raw reads.
//   - an error event (data: {"error": ...}), which the filter keeps for the
//     stream to decode itself; the body ends there for go-openai.
//
// Lines may be split across reads: the start of a line that cannot be told
// apart yet is held back (at most maxSSEHead bytes) until the next read.
type sseFilter struct {
	state sseLine
	// head is the held-back start of a line.
	head []byte
	// event is the data of the error event being read or read; done says
	// its line ended.
	event []byte
	done  bool
}

type sseLine uint8

const (
	lineStart sseLine = iota // nothing of the line seen yet
	lineKeep                 // passed on up to its newline
	lineDrop                 // removed up to its newline
	lineError                // an error event, kept in event
)

// maxSSEHead bounds how much of a line's start is held back: more than the
// longest prefix classify needs, unless a line pads "data:" with this much
// white space, when it is passed on as data.
const maxSSEHead = 64

// maxSSEErrorEvent caps the error event kept; a longer one is cut and then
// fails to parse, which the stream reports quoting its start.
const maxSSEErrorEvent = 64 << 10

// filter removes what go-openai must not see from b, which follows what the
// filter saw before, moving the kept bytes to the front; it returns how
// many are kept. Once an error event has been read whole, nothing more is
// kept.
func (f *sseFilter) filter(b []byte) int {
	w, i := 0, 0
	for i < len(b) && !f.done {
		if f.state == lineStart {
			st, ok := classifySSELine(b[i:])
			if !ok {
				// Too little of the line to tell: hold it back.
				f.head = append(f.head[:0], b[i:]...)
				break
			}
			f.state = st
		}
		end, nl := len(b), false
		if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
			end, nl = i+j+1, true
		}
		switch f.state {
		case lineKeep:
			if w != i {
				copy(b[w:], b[i:end])
			}
			w += end - i
		case lineError:
			if room := maxSSEErrorEvent - len(f.event); room > 0 {
				f.event = append(f.event, b[i:min(end, i+room)]...)
			}
			f.done = nl
		}
		i = end
		if nl {
			f.state = lineStart
		}
	}
	return w
}

// takeHead returns the held-back start of a line and forgets it: the caller
// puts it in front of the next bytes read.
func (f *sseFilter) takeHead(dst []byte) int {
	n := copy(dst, f.head)
	f.head = f.head[:0]
	return n
}

// errorEvent returns the data of the error event (without "data:"), or
// nil. After the body ended inside one, it is what arrived of it, which
// then fails to decode: a cut error is still an error.
func (f *sseFilter) errorEvent() []byte {
	if len(f.event) == 0 {
		return nil
	}
	ev := bytes.TrimSpace(f.event)
	ev = bytes.TrimPrefix(ev, []byte("data:"))
	return bytes.TrimSpace(ev)
}

// classifySSELine tells what a line is from its start; ok is false when b
// is too short to tell.
func classifySSELine(b []byte) (st sseLine, ok bool) {
	if len(b) == 0 {
		return lineStart, false
	}
	switch b[0] {
	case '\n', '\r':
		return lineKeep, true
	case ':':
		return lineDrop, true
	}
	for _, field := range []string{"event:", "id:", "retry:"} {
		if hasPrefixOrIsPrefix(b, field) {
			return lineDrop, len(b) >= len(field)
		}
	}
	const data = "data:"
	if !hasPrefixOrIsPrefix(b, data) {
		return lineKeep, true
	}
	if len(b) < len(data) {
		return lineStart, false
	}
	// An error event is data: {"error": ...}, with any white space.
	rest := b[len(data):]
	for _, want := range []string{"{", `"error"`, ":"} {
		rest = trimSSESpace(rest)
		if len(rest) == 0 {
			return lineKeep, len(b) >= maxSSEHead
		}
		if !hasPrefixOrIsPrefix(rest, want) {
			return lineKeep, true
		}
		if len(rest) < len(want) {
			return lineKeep, len(b) >= maxSSEHead
		}
		rest = rest[len(want):]
	}
	return lineError, true
}

// hasPrefixOrIsPrefix reports whether b starts with p, or is the start of p.
func hasPrefixOrIsPrefix(b []byte, p string) bool {
	n := min(len(b), len(p))
	return string(b[:n]) == p[:n]
}

func trimSSESpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}
