package roomio

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
)

type sent struct {
	Text  string
	Final string
	Track string
	Seg   string
}

type fakeSender struct {
	mu   sync.Mutex
	sent []sent
}

func (f *fakeSender) sendText(text string, a map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, sent{text, a[AttributeTranscriptionFinal], a[AttributeTranscribedTrackID], a[AttributeSegmentID]})
}

func TestTranscripts(t *testing.T) {
	p := newPublisher()
	f := &fakeSender{}
	out := &textOutput{pub: p, send: f, trackID: func() string { return "TR_agent" }}
	user := &userTranscripts{pub: p, send: f, trackID: func() string { return "TR_user" }}
	ctx := context.Background()

	user.handle(session.UserInputTranscribedEvent{Text: "", Final: true}) // nothing heard: nothing sent
	user.handle(session.UserInputTranscribedEvent{Text: "what"})
	user.handle(session.UserInputTranscribedEvent{Text: "what time", Final: true})
	_ = out.CaptureText(ctx, "It is noon.")
	_ = out.CaptureText(ctx, " Anything else?")
	out.Flush()
	out.Flush() // nothing captured since: nothing sent
	_ = out.CaptureText(ctx, "Bye.")
	out.Flush()
	p.stop()

	// Segment ids are random: check they group the streams as they should.
	s := f.sent
	if len(s) != 7 {
		t.Fatalf("sent %d streams, want 7: %+v", len(s), s)
	}
	if s[0].Seg != s[1].Seg || s[2].Seg != s[3].Seg || s[3].Seg != s[4].Seg || s[5].Seg != s[6].Seg ||
		s[1].Seg == s[2].Seg || s[4].Seg == s[5].Seg {
		t.Errorf("segment ids do not group the streams: %+v", s)
	}
	for i := range s {
		s[i].Seg = ""
	}
	want := []sent{
		{"what", "false", "TR_user", ""},
		{"what time", "true", "TR_user", ""},
		{"It is noon.", "false", "TR_agent", ""},
		{"It is noon. Anything else?", "false", "TR_agent", ""},
		{"It is noon. Anything else?", "true", "TR_agent", ""},
		{"Bye.", "false", "TR_agent", ""},
		{"Bye.", "true", "TR_agent", ""},
	}
	if diff := cmp.Diff(s, want); diff != "" {
		t.Errorf("streams (-got +want):\n%s", diff)
	}
}
