package roomio

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/livekit/protocol/livekit"

	"github.com/livekit-go/agents/session"
)

// legacyUpdate is one DataPacket.Transcription segment as livekit-client
// hands it to RoomEvent.TranscriptionReceived.
type legacyUpdate struct {
	Identity, Track, Segment, Text string
	Final                          bool
}

// legacy returns the legacy transcription updates sent, in order.
func (f *fakeData) legacy(t *testing.T) []legacyUpdate {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []legacyUpdate
	for _, p := range f.packets {
		v, ok := p.Value.(*livekit.DataPacket_Transcription)
		if !ok {
			continue
		}
		tr := v.Transcription
		if len(tr.Segments) != 1 {
			t.Errorf("transcription packet with %d segments, want one", len(tr.Segments))
			continue
		}
		sg := tr.Segments[0]
		out = append(out, legacyUpdate{tr.TranscribedParticipantIdentity, tr.TrackId, sg.Id, sg.Text, sg.Final})
	}
	return out
}

// Front-ends written before text streams read transcripts from
// RoomEvent.TranscriptionReceived, LiveKit's first transcription protocol;
// LiveKit Agents sends both. Each update of the agent's and the user's
// segments also goes out as a DataPacket.Transcription: the segment's text
// so far, under the stream's segment id, on the transcribed participant
// and track, the last one final.
func TestTranscriptsAlsoGoOutAsLegacyTranscriptionPackets(t *testing.T) {
	f := &fakeData{}
	p, out, user := newTestTranscripts(f)
	ctx := context.Background()
	for _, w := range strings.SplitAfter("It is noon.", " ") {
		_ = out.CaptureText(ctx, w)
	}
	out.Flush()
	user.handle(session.UserInputTranscribedEvent{Text: "what"})
	sent := make(chan struct{})
	p.do(func() { close(sent) })
	<-sent // the interim went out before the final could replace it
	user.handle(session.UserInputTranscribedEvent{Text: "what time", Final: true})
	p.stop()

	streams := f.streams(t)
	if len(streams) != 3 {
		t.Fatalf("%d streams, want the agent's and the user's two updates: %+v", len(streams), streams)
	}
	agentSeg, userSeg := streams[0].Segment, streams[1].Segment
	want := []legacyUpdate{
		{"agent", "TR_agent", agentSeg, "It ", false},
		{"agent", "TR_agent", agentSeg, "It is ", false},
		{"agent", "TR_agent", agentSeg, "It is noon.", false},
		{"agent", "TR_agent", agentSeg, "It is noon.", true},
		{"alice", "TR_user", userSeg, "what", false},
		{"alice", "TR_user", userSeg, "what time", true},
	}
	if diff := cmp.Diff(f.legacy(t), want); diff != "" {
		t.Errorf("legacy transcription updates (-got +want):\n%s", diff)
	}
}

// Receivers look the transcribed track up; without it (the agent's track
// not yet published, the user's microphone not yet seen) no legacy packet
// is sent, as LiveKit Agents does, and the text streams still are.
func TestLegacyTranscriptionNeedsTheTrack(t *testing.T) {
	f := &fakeData{}
	p := newPublisher()
	out := &textOutput{pub: p, send: f, trackID: func() string { return "" }, identity: func() string { return "agent" }}
	_ = out.CaptureText(context.Background(), "Hello.")
	out.Flush()
	p.stop()
	if got := f.legacy(t); len(got) != 0 {
		t.Errorf("legacy updates without a track: %+v", got)
	}
	if got := f.streams(t); len(got) != 1 || got[0].Text != "Hello." {
		t.Errorf("streams %+v, want the one with the text", got)
	}
}
