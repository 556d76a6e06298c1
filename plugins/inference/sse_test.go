package inference

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// piecesReader returns one piece per Read, as a network body does.
type piecesReader struct{ pieces [][]byte }

func (r *piecesReader) Read(p []byte) (int, error) {
	for len(r.pieces) > 0 && len(r.pieces[0]) == 0 {
		r.pieces = r.pieces[1:]
	}
	if len(r.pieces) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.pieces[0])
	r.pieces[0] = r.pieces[0][n:]
	return n, nil
}

func (r *piecesReader) Close() error { return nil }

// filterBody reads pieces through a watchedBody, as go-openai reads a
// response, and returns what it passed on and the error event it kept.
func filterBody(t testing.TB, bufSize int, pieces ...[]byte) (out, event []byte) {
	t.Helper()
	g := &gateway{firstByte: time.Minute, idleTimeout: time.Minute}
	a := g.newAttempt(t.Context(), nil)
	defer a.end(io.EOF)
	b := &watchedBody{rc: &piecesReader{pieces: pieces}, a: a}
	buf := make([]byte, bufSize)
	for range 10000 {
		n, err := b.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, b.errorEvent()
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
	t.Fatal("Read never ended")
	return nil, nil
}

func TestSSEFilter(t *testing.T) {
	tests := []struct {
		name, in, out, event string
	}{
		{"data and blank lines pass", "data: {\"a\":1}\n\ndata: [DONE]\n\n", "data: {\"a\":1}\n\ndata: [DONE]\n\n", ""},
		{"comments and fields removed", ": keep-alive\n\nevent: message\nid: 3\nretry: 10\ndata: x\n\n:\n", "\ndata: x\n\n", ""},
		{"CRLF", ": c\r\ndata: x\r\n\r\n", "data: x\r\n\r\n", ""},
		{"error event kept aside, the body ends there", "data: a\n\n: keep-alive\n\ndata: {\"error\":{\"message\":\"m\"}}\n\ndata: b\n\n", "data: a\n\n\n", `{"error":{"message":"m"}}`},
		{"error with white space", "data:{ \"error\" :1}\n", "", `{ "error" :1}`},
		{"not an error: other first key", "data: {\"id\":1,\"error\":null}\n", "data: {\"id\":1,\"error\":null}\n", ""},
		{"not an error: errors", "data: {\"errors\":1}\n", "data: {\"errors\":1}\n", ""},
		{"raw JSON line passes", "{\"error\":{\"message\":\"m\"}}\n", "{\"error\":{\"message\":\"m\"}}\n", ""},
		{"lines like fields pass", "eventual\nidle\nretrying\n", "eventual\nidle\nretrying\n", ""},
		{"cut line start at the end is dropped", "data: x\n\nda", "data: x\n\n", ""},
		{"cut error event", "data: {\"error\":{\"mess", "", `{"error":{"mess`},
		{"error event over several data lines", "data: {\"error\":\n: ping\ndata:  {\"message\":\"m\"}}\n\ndata: x\n\n", "", "{\"error\":\n {\"message\":\"m\"}}"},
		{"event: error names the event", "data: a\n\nevent: error\nid: 1\ndata: first\ndata:second\r\n\r\ndata: x\n\n", "data: a\n\n", "first\nsecond"},
		{"event: error with JSON ends at the value", "event:error\ndata: {\"message\":\"m\"}\ndata: x\n\n", "", `{"message":"m"}`},
		{"other event names pass", "event: message\ndata: x\n\nevent: errors\ndata: y\n\n", "data: x\n\ndata: y\n\n", ""},
		{"event: error without data names nothing after it", "event: error\n\ndata: x\n\n", "\ndata: x\n\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whole, byte by byte, and cut at every place.
			splits := [][][]byte{{[]byte(tt.in)}}
			var bytewise [][]byte
			for i := range len(tt.in) {
				bytewise = append(bytewise, []byte{tt.in[i]})
			}
			splits = append(splits, bytewise)
			for i := 1; i < len(tt.in); i++ {
				splits = append(splits, [][]byte{[]byte(tt.in[:i]), []byte(tt.in[i:])})
			}
			for _, pieces := range splits {
				out, ev := filterBody(t, 4096, pieces...)
				if string(out) != tt.out || string(ev) != tt.event {
					t.Fatalf("pieces %q: out %q event %q, want %q and %q", pieces, out, ev, tt.out, tt.event)
				}
			}
		})
	}
}

// TestSSEFilterLongDataPrefix: a data line padded with white space past
// what the filter holds back is passed on as data.
func TestSSEFilterLongDataPrefix(t *testing.T) {
	in := "data:" + strings.Repeat(" ", 100) + "{\"a\":1}\n"
	out, ev := filterBody(t, 4096, []byte(in[:70]), []byte(in[70:]))
	if string(out) != in || ev != nil {
		t.Errorf("out %q ev %q", out, ev)
	}
}

// FuzzSSEFilter: however a body is cut into reads, and whatever the read
// size, the filter passes on the same bytes and keeps the same error event,
// and what it passes on holds no comment or event:, id: or retry: line.
func FuzzSSEFilter(f *testing.F) {
	f.Add([]byte(": keep-alive\n\ndata: {\"error\":{\"message\":\"m\",\"type\":\"invalid_request_error\"}}\n\n"), uint16(3), uint16(40))
	f.Add([]byte("event: e\nid: 1\nretry: 5\ndata: {\"choices\":[]}\r\n\r\n:\ndata: [DONE]\n"), uint16(1), uint16(7))
	f.Add([]byte("data:   {  \"error\"  : \"x\"}\ndata: y\n"), uint16(9), uint16(12))
	f.Add([]byte("eve\nda\nd\n:\n\n"), uint16(2), uint16(4))
	f.Add([]byte("event: error\r\ndata: {\"error\":\ndata: 1}\n\ndata: x\n"), uint16(5), uint16(30))
	f.Fuzz(func(t *testing.T, in []byte, c1, c2 uint16) {
		i, j := int(c1)%(len(in)+1), int(c2)%(len(in)+1)
		if i > j {
			i, j = j, i
		}
		wholeOut, wholeEv := filterBody(t, 4096, bytes.Clone(in))
		out, ev := filterBody(t, maxSSEHead+1+int(c1)%200, bytes.Clone(in[:i]), bytes.Clone(in[i:j]), bytes.Clone(in[j:]))
		if !bytes.Equal(out, wholeOut) || !bytes.Equal(ev, wholeEv) {
			t.Fatalf("cut at %d,%d: out %q ev %q; whole: %q %q", i, j, out, ev, wholeOut, wholeEv)
		}
		for _, line := range bytes.SplitAfter(out, []byte("\n")) {
			if !bytes.HasSuffix(line, []byte("\n")) {
				continue // a last line without its end, decided on its start
			}
			for _, p := range []string{":", "event:", "id:", "retry:"} {
				if bytes.HasPrefix(line, []byte(p)) {
					t.Fatalf("line %q passed on", line)
				}
			}
		}
	})
}
