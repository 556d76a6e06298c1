package roomio_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/livekit-go/agents/agent/roomio"
	"github.com/livekit-go/agents/agent/roomio/internal/tonespeech"
	"github.com/livekit-go/agents/internal/simuser"
)

// legacySeen is one segment update as a participant's SDK reports it
// from LiveKit's first transcription protocol (livekit-client's
// RoomEvent.TranscriptionReceived, server-sdk-go's OnTranscriptionReceived).
type legacySeen struct {
	identity, track, segment, text string
	final                          bool
}

// A front-end written before text streams reads transcripts from
// RoomEvent.TranscriptionReceived; LiveKit Agents sends them there too.
// Another participant's SDK gets the agent's answer and the user's words
// that way, each on its participant and track, under the segment ids of
// the text streams, the last update final.
func TestLiveTranscriptsReachLegacyTranscriptionReaders(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*waitLimit)
	defer cancel()
	reply := "It is noon in Paris, and the sun is out."
	r := startChattyRoom(t, ctx, "roomio-legacy", reply)
	s, name, u, a := r.s, r.name, r.u, r.a

	var mu sync.Mutex
	var seen []legacySeen
	cb := lksdk.NewRoomCallback()
	cb.OnTranscriptionReceived = func(segs []*lksdk.TranscriptionSegment, p lksdk.Participant, pub lksdk.TrackPublication) {
		mu.Lock()
		defer mu.Unlock()
		for _, sg := range segs {
			l := legacySeen{segment: sg.ID, text: sg.Text, final: sg.Final}
			if p != nil {
				l.identity = p.Identity()
			}
			if pub != nil {
				l.track = pub.SID()
			}
			seen = append(seen, l)
		}
	}
	tok, err := simuser.Token(s.key, s.secret, name, "observer")
	if err != nil {
		t.Fatal(err)
	}
	obs, err := lksdk.ConnectToRoomWithToken(s.url, tok, cb, lksdk.WithAutoSubscribe(false))
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Disconnect()
	time.Sleep(500 * time.Millisecond) // the observer knows the others before anything is said

	u.Speak(tonespeech.Tone(2*time.Second, simuser.Rate))
	waitFinalFrom(t, ctx, u, a.Identity(), 1)
	waitFinalFrom(t, ctx, u, "user", 1)
	finals := func() (agent, user *legacySeen) {
		mu.Lock()
		defer mu.Unlock()
		for i := range seen {
			if !seen[i].final {
				continue
			}
			switch seen[i].identity {
			case a.Identity():
				agent = &seen[i]
			case "user":
				user = &seen[i]
			}
		}
		return agent, user
	}
	for ctx.Err() == nil {
		if ag, us := finals(); ag != nil && us != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	ag, us := finals()
	if ag == nil || us == nil {
		mu.Lock()
		t.Fatalf("legacy transcriptions at the observer %+v, want a final from the agent and one from the user", seen)
	}

	segOf := map[string]string{} // the text streams' segment ids, by sender
	for _, tr := range u.Transcripts() {
		segOf[tr.From] = tr.Attributes[roomio.AttributeSegmentID]
	}
	agentTrack := a.GetTrackPublication(livekit.TrackSource_MICROPHONE).SID()
	if ag.text != reply || ag.track != agentTrack || ag.segment != segOf[a.Identity()] {
		t.Errorf("agent's final legacy transcription %+v; want %q on track %s, segment %s", *ag, reply, agentTrack, segOf[a.Identity()])
	}
	if !strings.HasPrefix(us.text, "what time is it") || us.track != u.MicTrackID() || us.segment != segOf["user"] {
		t.Errorf("user's final legacy transcription %+v; want the question on track %s, segment %s", *us, u.MicTrackID(), segOf["user"])
	}
	mu.Lock()
	t.Logf("%d legacy updates at the observer; agent final %q, user final %q", len(seen), ag.text, us.text)
	mu.Unlock()
}
