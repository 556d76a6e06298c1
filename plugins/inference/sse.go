package inference

import (
	"bytes"
	"encoding/json"
)

// sseFilter sits between a response body and go-openai's line reader and
// removes, in place, the lines go-openai must not see:
//
//   - comments (": keep-alive") and the event:, id: and retry: fields.
//     go-openai collects every line that is not data and parses what it
//     collected as the error when an error event comes, so one keep-alive
//     before an error event made its message unreadable (and the event
//     retryable). The idle timer still counts these lines: it watches the
//     raw reads.
//   - an error event, which the filter keeps for the stream to decode
//     itself; the body ends there for go-openai. An error event is an event
//     whose data starts {"error": ..., or any event with an "event: error"
//     field before its data (the SSE way to name one). Its data may span
//     several data: lines, joined with "\n" as the SSE format joins them; it
//     ends when what was read of it is a whole JSON value, or at the blank
//     line that ends the event.
//
// Lines may be split across reads: the start of a line that cannot be told
// apart yet is held back (at most maxSSEHead bytes) until the next read.
type sseFilter struct {
	state sseLine
	// head is the held-back start of a line.
	head []byte
	// errorNamed says the current event had an "event: error" field: its
	// data lines are an error event. field collects an event: line's value.
	errorNamed bool
	field      []byte
	// inError says an error event's data is being read; event holds it
	// (without the data: prefixes), done says it is complete.
	inError bool
	event   []byte
	done    bool
}

type sseLine uint8

const (
	lineStart sseLine = iota // nothing of the line seen yet
	lineKeep                 // passed on up to its newline
	lineDrop                 // removed up to its newline
	lineEvent                // an event: field, removed; its value is read
	lineError                // a data line of an error event, kept in event
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
			st, skip, ok := f.classify(b[i:])
			if !ok {
				// Too little of the line to tell: hold it back.
				f.head = append(f.head[:0], b[i:]...)
				break
			}
			f.state = st
			if st == lineError {
				if f.inError {
					f.event = append(f.event, '\n') // the SSE join of data lines
				}
				f.inError = true
				i += skip // the data: prefix
			}
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
		case lineEvent:
			if room := maxSSEHead - len(f.field); room > 0 {
				f.field = append(f.field, b[i:min(end, i+room)]...)
			}
		case lineError:
			if room := maxSSEErrorEvent - len(f.event); room > 0 {
				f.event = append(f.event, b[i:min(end, i+room)]...)
			}
		}
		i = end
		if nl {
			f.endLine()
		}
	}
	return w
}

// endLine ends the current line: an event: field names the event, a data
// line of an error event may complete it, and a blank line ends the event.
func (f *sseFilter) endLine() {
	switch f.state {
	case lineEvent:
		v := bytes.TrimSpace(bytes.TrimPrefix(f.field, []byte("event:")))
		f.errorNamed = string(v) == "error"
		f.field = f.field[:0]
	case lineError:
		f.event = bytes.TrimRight(f.event, "\r\n")
		if json.Valid(f.event) {
			f.done = true
		}
	}
	f.state = lineStart
}

// takeHead returns the held-back start of a line and forgets it: the caller
// puts it in front of the next bytes read.
func (f *sseFilter) takeHead(dst []byte) int {
	n := copy(dst, f.head)
	f.head = f.head[:0]
	return n
}

// errorEvent returns the data of the error event, or nil. After the body
// ended inside one, it is what arrived of it, which then fails to decode: a
// cut error is still an error.
func (f *sseFilter) errorEvent() []byte {
	if !f.inError {
		return nil
	}
	return bytes.TrimSpace(f.event)
}

// classify tells what a line is from its start; ok is false when b is too
// short to tell. For a data line of an error event, skip is the length of
// its "data:" prefix and the one space after it.
func (f *sseFilter) classify(b []byte) (st sseLine, skip int, ok bool) {
	if len(b) == 0 {
		return lineStart, 0, false
	}
	switch b[0] {
	case '\n', '\r':
		// A blank line ends the event: an error event read so far is
		// complete, and the next event is not named yet.
		f.errorNamed = false
		if f.inError {
			f.done = true
			return lineDrop, 0, true
		}
		return lineKeep, 0, true
	case ':':
		return lineDrop, 0, true
	}
	if hasPrefixOrIsPrefix(b, "event:") {
		return lineEvent, 0, len(b) >= len("event:")
	}
	for _, field := range []string{"id:", "retry:"} {
		if hasPrefixOrIsPrefix(b, field) {
			return lineDrop, 0, len(b) >= len(field)
		}
	}
	const data = "data:"
	if !hasPrefixOrIsPrefix(b, data) {
		if f.inError || f.errorNamed {
			return lineDrop, 0, true // a field that is not data, in an error event
		}
		return lineKeep, 0, true
	}
	if len(b) < len(data)+1 {
		return lineStart, 0, false // the space after "data:" is part of the prefix
	}
	skip = len(data)
	if b[skip] == ' ' {
		skip++
	}
	if f.inError || f.errorNamed {
		return lineError, skip, true
	}
	// An error event's data starts {"error":, with any white space.
	rest := b[len(data):]
	for _, want := range []string{"{", `"error"`, ":"} {
		rest = trimSSESpace(rest)
		if len(rest) == 0 {
			return lineKeep, 0, len(b) >= maxSSEHead
		}
		if !hasPrefixOrIsPrefix(rest, want) {
			return lineKeep, 0, true
		}
		if len(rest) < len(want) {
			return lineKeep, 0, len(b) >= maxSSEHead
		}
		rest = rest[len(want):]
	}
	return lineError, skip, true
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
