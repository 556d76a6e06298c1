package roomio_test

// Live tests of what a LiveKit front-end reads from the agent: its state
// attribute, in time, and the transcripts as livekit-client and
// components-js put them together.

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/livekit-go/agents/agent/roomio"
	"github.com/livekit-go/agents/agent/roomio/internal/tonespeech"
	"github.com/livekit-go/agents/internal/simuser"
	"github.com/livekit-go/agents/session"
)

// chattySTT sends an interim every 80 ms of speech, a word more each time,
// as a cloud STT does: about 25 for a 2 s question.
func chattySTT() session.Option {
	return session.WithSTT(&tonespeech.STT{Text: "what time is it in Paris right now please tell me", InterimAfter: 80 * time.Millisecond, InterimEvery: 80 * time.Millisecond})
}

// stateChanges returns the agent's state changes the session made.
func (e *events) stateChanges() []session.AgentStateChangedEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []session.AgentStateChangedEvent
	for _, ev := range e.all {
		if s, ok := ev.(session.AgentStateChangedEvent); ok {
			out = append(out, s)
		}
	}
	return out
}

// chattyRoom is a live room whose agent answers with reply through the
// chatty STT, and a user, joined with opts, who sees the agent listening.
type chattyRoom struct {
	s    *liveServer
	name string
	ev   *events
	u    *simuser.User
	a    *lksdk.RemoteParticipant
}

// startChattyRoom starts that room on the test server (skipping without
// one); the user leaves when the test ends.
func startChattyRoom(t *testing.T, ctx context.Context, prefix, reply string, opts ...simuser.Option) chattyRoom {
	t.Helper()
	r := chattyRoom{s: testServer(t), name: uniqueName(prefix), ev: newEvents()}
	startWorker(t, r.s, r.name, chatServer(t, reply).URL, r.ev, chattySTT())
	r.s.createRoom(t, r.name, r.name)
	u, err := joinUser(ctx, r.s.url, r.s.key, r.s.secret, r.name, "user", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	r.u, r.a = u, agentOf(t, ctx, u)
	if err := u.WaitFor(ctx, "agent listening", func() bool { return r.a.Attributes()[roomio.AttributeAgentState] == "listening" }); err != nil {
		t.Fatal(err)
	}
	return r
}

// Every change of lk.agent.state reaches another participant within
// 100 ms of the session making it, though the user's speech brings 25
// interim transcripts a turn and the reply its own transcript: the
// attribute does not wait behind text.
func TestLiveAgentStateReachesTheRoomWithin100ms(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*waitLimit)
	defer cancel()
	r := startChattyRoom(t, ctx, "roomio-state", "It is noon in Paris, and the sun is out.", simuser.WithDTX())
	s, name, ev, u, a := r.s, r.name, r.ev, r.u, r.a
	// The second participant watches; it joins once the agent has linked
	// the user.
	obs, err := joinUser(ctx, s.url, s.key, s.secret, name, "observer")
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()
	time.Sleep(500 * time.Millisecond)
	from := len(ev.stateChanges())
	for turn := range 2 {
		u.Speak(tonespeech.Tone(2*time.Second, simuser.Rate))
		if err := u.WaitFor(ctx, "the answer's end", func() bool {
			st := ev.stateChanges()
			return len(st) >= from+3*(turn+1) && st[len(st)-1].New == session.AgentListening
		}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
	}
	waitFinalFrom(t, ctx, u, a.Identity(), 2)
	changes := ev.stateChanges()[from:]
	var delays []time.Duration
	for _, c := range changes {
		var seen time.Time
		for _, ac := range obs.AttributeChanges() {
			if ac.Identity == a.Identity() && ac.Key == roomio.AttributeAgentState && ac.Value == string(c.New) && !ac.At.Before(c.At) {
				seen = ac.At
				break
			}
		}
		if seen.IsZero() {
			t.Errorf("%s -> %s at %s never reached the observer", c.Old, c.New, c.At.Format("15:04:05.000"))
			for _, ac := range obs.AttributeChanges() {
				t.Logf("observer: %s %s=%s at %s", ac.Identity, ac.Key, ac.Value, ac.At.Format("15:04:05.000"))
			}
			continue
		}
		d := seen.Sub(c.At)
		delays = append(delays, d)
		t.Logf("%-9s -> %-9s reached the observer after %v", c.Old, c.New, d.Round(100*time.Microsecond))
		if d > 100*time.Millisecond {
			t.Errorf("%s -> %s reached the observer %v after it happened, want within 100 ms", c.Old, c.New, d)
		}
	}
	if len(delays) < 6 {
		t.Errorf("%d state changes measured, want two turns' worth", len(delays))
	}
	slices.Sort(delays)
	if len(delays) > 0 {
		t.Logf("state change to the observer: p50 %v, max %v over %d changes", delays[len(delays)/2], delays[len(delays)-1], len(delays))
	}
}

// waitFinalFrom waits until n final transcripts from identity arrived, so
// that none is in flight when the test ends.
func waitFinalFrom(t *testing.T, ctx context.Context, u *simuser.User, identity string, n int) {
	t.Helper()
	if err := u.WaitFor(ctx, "the final transcripts", func() bool {
		k := 0
		for _, tr := range u.Transcripts() {
			if tr.From == identity && tr.Attributes[roomio.AttributeTranscriptionFinal] == "true" {
				k++
			}
		}
		return k >= n
	}); err != nil {
		t.Error(err)
	}
}

// The transcripts arrive as the LiveKit front-end components read them:
// the agent's answer is one stream per segment (its chunks the words,
// final by its trailer) from the agent for its audio track; the user's
// speech comes from the user (sent on their behalf) for the user's
// microphone, interims and the final under one segment id.
func TestLiveTranscriptsAsFrontEndsReadThem(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*waitLimit)
	defer cancel()
	reply := "It is noon in Paris, and the sun is out."
	r := startChattyRoom(t, ctx, "roomio-text", reply)
	u, a := r.u, r.a
	u.Speak(tonespeech.Tone(2*time.Second, simuser.Rate))
	waitFinalFrom(t, ctx, u, a.Identity(), 1)
	waitFinalFrom(t, ctx, u, "user", 1)

	agentTrack := a.GetTrackPublication(livekit.TrackSource_MICROPHONE).SID()
	userTrack := u.MicTrackID()
	bySeg := map[string][]simuser.Transcript{}
	var agentSegs, userSegs []string
	for _, tr := range u.Transcripts() {
		seg := tr.Attributes[roomio.AttributeSegmentID]
		if len(bySeg[seg]) == 0 {
			if tr.From == a.Identity() {
				agentSegs = append(agentSegs, seg)
			} else {
				userSegs = append(userSegs, seg)
			}
		}
		bySeg[seg] = append(bySeg[seg], tr)
	}
	if len(agentSegs) != 1 || len(bySeg[agentSegs[0]]) != 1 {
		t.Fatalf("agent transcripts %+v, want one stream for its one segment", u.Transcripts())
	}
	at := bySeg[agentSegs[0]][0]
	if at.Text != reply || at.Attributes[roomio.AttributeTranscriptionFinal] != "true" || at.Attributes[roomio.AttributeTranscribedTrackID] != agentTrack {
		t.Errorf("agent transcript %+v, want %q, final, for track %s", at, reply, agentTrack)
	}
	if len(userSegs) != 1 {
		t.Fatalf("user transcripts in %d segments, want 1: %+v", len(userSegs), u.Transcripts())
	}
	user := bySeg[userSegs[0]]
	for i, tr := range user {
		final := i == len(user)-1
		if tr.From != "user" || tr.Attributes[roomio.AttributeTranscribedTrackID] != userTrack ||
			(tr.Attributes[roomio.AttributeTranscriptionFinal] == "true") != final {
			t.Errorf("user transcript %d of %d: %+v; want from the user, for track %s, final only last", i+1, len(user), tr, userTrack)
		}
	}
	if last := user[len(user)-1]; !strings.HasPrefix(last.Text, "what time is it") {
		t.Errorf("user's final transcript %q", last.Text)
	}
	t.Logf("user transcript: %d streams (interims coalesced while one was sending), the last %q", len(user), user[len(user)-1].Text)
}

// After a full reconnection (the SDK joins again and publishes its track
// anew, under a new sid) the agent's transcripts name the new track.
func TestLiveAgentTranscriptNamesItsNewTrackAfterFullReconnect(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*waitLimit)
	defer cancel()
	j := startDirectJob(t, ctx, "roomio-restart", "Okay.")
	u, r, ev := j.user, j.room, j.ev
	a := agentOf(t, ctx, u)
	oldTrack := a.GetTrackPublication(livekit.TrackSource_MICROPHONE).SID()
	r.LiveKit().Simulate(lksdk.SimulateNodeFailure) // the resume fails: a full reconnection
	var newTrack string
	if err := u.WaitFor(ctx, "the agent's track published again", func() bool {
		for _, p := range u.Room.GetRemoteParticipants() {
			if p.Kind() != lksdk.ParticipantAgent {
				continue
			}
			if pub := p.GetTrackPublication(livekit.TrackSource_MICROPHONE); pub != nil && pub.SID() != oldTrack {
				newTrack = pub.SID()
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatal(err)
	}
	before := len(ev.assistantMessages())
	if err := u.WaitFor(ctx, "the agent listening again", func() bool {
		p := u.Room.GetParticipantByIdentity(a.Identity())
		return p != nil && p.Attributes()[roomio.AttributeAgentState] == "listening"
	}); err != nil {
		t.Fatal(err)
	}
	u.Speak(tonespeech.Tone(time.Second, simuser.Rate))
	if err := u.WaitFor(ctx, "a reply after the reconnection", func() bool { return len(ev.assistantMessages()) > before }); err != nil {
		t.Fatal(err)
	}
	waitFinalFrom(t, ctx, u, a.Identity(), 1)
	for _, tr := range u.Transcripts() {
		if tr.From == a.Identity() && tr.Attributes[roomio.AttributeTranscribedTrackID] != newTrack {
			t.Errorf("agent transcript for track %s, want the new track %s (was %s)", tr.Attributes[roomio.AttributeTranscribedTrackID], newTrack, oldTrack)
		}
	}
}
