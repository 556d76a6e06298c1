package roomio

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/livekit/protocol/livekit"

	"github.com/livekit-go/agents/session"
)

// fakeData records the data packets sent; down makes sends fail (no
// connection).
type fakeData struct {
	mu      sync.Mutex
	packets []*livekit.DataPacket
	down    bool
}

func (f *fakeData) sendData(p *livekit.DataPacket) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("fake: down")
	}
	f.packets = append(f.packets, p)
	return nil
}

func (f *fakeData) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

// stream is a text stream as a receiver puts it together.
type stream struct {
	Sender  string
	Segment string
	Final   string // after the trailer's attributes
	Track   string
	Text    string
	Chunks  int
	Closed  bool
}

// streams reads the packets as livekit-client does, in the order the
// streams were opened.
func (f *fakeData) streams(t *testing.T) []stream {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	type open struct {
		s     *stream
		attrs map[string]string
		next  uint64
	}
	byID := map[string]*open{}
	var order []*open
	for _, p := range f.packets {
		switch v := p.Value.(type) {
		case *livekit.DataPacket_StreamHeader:
			h := v.StreamHeader
			if h.Topic != TopicTranscription || h.GetTextHeader() == nil || byID[h.StreamId] != nil {
				t.Errorf("bad header %v", h)
			}
			o := &open{s: &stream{Sender: p.ParticipantIdentity}, attrs: maps.Clone(h.Attributes)}
			byID[h.StreamId] = o
			order = append(order, o)
		case *livekit.DataPacket_StreamChunk:
			c := v.StreamChunk
			o := byID[c.StreamId]
			if o == nil || o.s.Closed || c.ChunkIndex != o.next || !utf8.Valid(c.Content) {
				t.Errorf("bad chunk %v", c)
				continue
			}
			o.next++
			o.s.Text += string(c.Content)
			o.s.Chunks++
		case *livekit.DataPacket_StreamTrailer:
			o := byID[v.StreamTrailer.StreamId]
			if o == nil || o.s.Closed {
				t.Errorf("bad trailer %v", v.StreamTrailer)
				continue
			}
			maps.Copy(o.attrs, v.StreamTrailer.Attributes)
			o.s.Closed = true
		}
	}
	out := make([]stream, len(order))
	for i, o := range order {
		o.s.Segment, o.s.Final, o.s.Track = o.attrs[AttributeSegmentID], o.attrs[AttributeTranscriptionFinal], o.attrs[AttributeTranscribedTrackID]
		out[i] = *o.s
	}
	return out
}

func newTestTranscripts(f *fakeData) (*publisher, *textOutput, *userTranscripts) {
	p := newPublisher()
	out := &textOutput{pub: p, send: f, trackID: func() string { return "TR_agent" }, identity: func() string { return "agent" }}
	user := &userTranscripts{pub: p, send: f, trackID: func() string { return "TR_user" }, identity: func() string { return "alice" }}
	return p, out, user
}

// The agent's segment is one stream whose chunks are the deltas, closed
// by a trailer that makes it final: what LiveKit Agents sends and
// livekit-client reads. Each delta costs its own bytes only.
func TestAgentTranscriptIsOneStreamOfDeltas(t *testing.T) {
	f := &fakeData{}
	p, out, _ := newTestTranscripts(f)
	ctx := context.Background()
	words := strings.SplitAfter("It is noon in Paris, and the sun is out.", " ")
	for _, w := range words {
		_ = out.CaptureText(ctx, w)
	}
	out.Flush()
	out.Flush() // nothing captured since: nothing sent
	_ = out.CaptureText(ctx, "Bye.")
	out.Flush()
	p.stop()

	got := f.streams(t)
	if len(got) != 2 || got[0].Segment == got[1].Segment || !strings.HasPrefix(got[0].Segment, "SG_") {
		t.Fatalf("streams %+v, want two, one per segment", got)
	}
	for i := range got {
		got[i].Segment = ""
	}
	want := []stream{
		{Final: "true", Track: "TR_agent", Text: "It is noon in Paris, and the sun is out.", Chunks: len(words), Closed: true},
		{Final: "true", Track: "TR_agent", Text: "Bye.", Chunks: 1, Closed: true},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("streams (-got +want):\n%s", diff)
	}
	// Linear: the chunks carry the text once.
	var bytes int
	for _, pk := range f.packets {
		if c, ok := pk.Value.(*livekit.DataPacket_StreamChunk); ok {
			bytes += len(c.StreamChunk.Content)
		}
	}
	if bytes != len("It is noon in Paris, and the sun is out.Bye.") {
		t.Errorf("%d bytes of text sent, want each character once", bytes)
	}
	// Final only on the trailer: the header said "false".
	h := f.packets[0].Value.(*livekit.DataPacket_StreamHeader).StreamHeader
	if h.Attributes[AttributeTranscriptionFinal] != "false" || h.Attributes[AttributeTranscribedTrackID] != "TR_agent" || f.packets[0].ParticipantIdentity != "" {
		t.Errorf("header %v from %q, want final false, the agent's track, sent as the agent", h.Attributes, f.packets[0].ParticipantIdentity)
	}
}

// The user's transcripts are sent on the user's behalf: each update a
// stream of the whole text so far under one segment id (interims may
// revise words), the last one final in its header, as LiveKit Agents
// does and components-js reads (it keeps the latest stream's text per
// segment).
func TestUserTranscriptsOnTheUsersBehalf(t *testing.T) {
	f := &fakeData{}
	p, _, user := newTestTranscripts(f)
	block := make(chan struct{})
	p.do(func() { <-block })                                              // hold the publisher: updates queue up
	user.handle(session.UserInputTranscribedEvent{Text: "", Final: true}) // nothing heard: nothing sent
	user.handle(session.UserInputTranscribedEvent{Text: "what"})
	user.handle(session.UserInputTranscribedEvent{Text: "what tim"})
	user.handle(session.UserInputTranscribedEvent{Text: "what time", Final: true})
	user.handle(session.UserInputTranscribedEvent{Text: "in"})
	close(block)
	p.stop()
	p2, _, user2 := newTestTranscripts(f)
	user2.handle(session.UserInputTranscribedEvent{Text: "is it", Final: false})
	p2.stop()

	got := f.streams(t)
	segs := map[string]bool{}
	for i := range got {
		segs[got[i].Segment] = true
		got[i].Segment = ""
	}
	want := []stream{
		// "what" and "what tim" were still queued when the final came:
		// replaced by it.
		{Sender: "alice", Final: "true", Track: "TR_user", Text: "what time", Chunks: 1, Closed: true},
		{Sender: "alice", Final: "false", Track: "TR_user", Text: "in", Chunks: 1, Closed: true},
		{Sender: "alice", Final: "false", Track: "TR_user", Text: "is it", Chunks: 1, Closed: true},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("streams (-got +want):\n%s", diff)
	}
	if len(segs) != 3 {
		t.Errorf("%d segments, want 3", len(segs))
	}
}

// A segment whose stream lost packets while the connection was down is
// sent again whole at its end, final, under the same segment id.
func TestAgentTranscriptResentWholeAfterALoss(t *testing.T) {
	f := &fakeData{}
	p, out, _ := newTestTranscripts(f)
	ctx := context.Background()
	_ = out.CaptureText(ctx, "One, ")
	p.do(func() { f.setDown(true) })
	_ = out.CaptureText(ctx, "two, ")
	p.do(func() { f.setDown(false) })
	_ = out.CaptureText(ctx, "three.")
	out.Flush()
	p.stop()
	got := f.streams(t)
	if len(got) != 2 || got[0].Segment != got[1].Segment {
		t.Fatalf("streams %+v, want the broken one and a whole one, same segment", got)
	}
	if g := got[1]; g.Text != "One, two, three." || g.Final != "true" || !g.Closed {
		t.Errorf("resent %+v, want the whole text, final", g)
	}
	if !got[0].Closed || got[0].Text != "One, " {
		t.Errorf("broken stream %+v, want closed with what got through", got[0])
	}
}

// Long text is cut into chunks of at most 15000 bytes, between runes.
func TestStreamChunksCutBetweenRunes(t *testing.T) {
	text := strings.Repeat("é", 20000) // 40000 bytes
	var next uint64
	chunks := streamChunks("s", &next, text)
	var joined strings.Builder
	for i, c := range chunks {
		b := c.Value.(*livekit.DataPacket_StreamChunk).StreamChunk
		if len(b.Content) > maxChunk || !utf8.Valid(b.Content) || b.ChunkIndex != uint64(i) {
			t.Errorf("chunk %d: %d bytes, valid %v, index %d", i, len(b.Content), utf8.Valid(b.Content), b.ChunkIndex)
		}
		joined.Write(b.Content)
	}
	if joined.String() != text || next != uint64(len(chunks)) || len(chunks) != 3 {
		t.Errorf("%d chunks, next %d; text kept: %v", len(chunks), next, joined.String() == text)
	}
}
