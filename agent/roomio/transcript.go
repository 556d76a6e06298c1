package roomio

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"

	"github.com/livekit-go/agents/session"
)

// newSegmentID returns an id in the shape LiveKit Agents uses ("SG_" and
// 12 hex digits).
func newSegmentID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "SG_" + hex.EncodeToString(b)
}

// transcriptAttrs are the attributes of a transcription stream's header.
func transcriptAttrs(segment, trackID string, final bool) map[string]string {
	a := map[string]string{AttributeSegmentID: segment, AttributeTranscriptionFinal: "false"}
	if final {
		a[AttributeTranscriptionFinal] = "true"
	}
	if trackID != "" {
		a[AttributeTranscribedTrackID] = trackID
	}
	return a
}

// finalAttrs are the attributes of the trailer that ends a segment's
// stream (LiveKit Agents' delta streams close with these).
func finalAttrs(trackID string) map[string]string {
	a := map[string]string{AttributeTranscriptionFinal: "true"}
	if trackID != "" {
		a[AttributeTranscribedTrackID] = trackID
	}
	return a
}

// textOutput is the agent's transcript as a session.TextOutput, as LiveKit
// Agents writes it: one text stream per segment on lk.transcription, its
// header opened with the first text (lk.transcription_final "false", the
// segment id, the agent's audio track), each CaptureText one chunk with
// the new text only, Flush the trailer with lk.transcription_final "true".
// The session calls CaptureText paced by playout and Flush at the end of
// the segment, also when interrupted, so the stream holds the words heard.
// A stream whose packets could not all be sent (the connection was down)
// is sent again whole at Flush, under the same segment id. Each update
// also goes out as a legacy transcription packet (legacy.go) with the
// segment's text so far.
type textOutput struct {
	pub      *publisher
	send     dataSender
	trackID  func() string
	identity func() string // the agent's own

	mu  sync.Mutex
	seg *agentSegment // the segment being captured; nil between segments
}

// agentSegment is one segment's stream; after creation it is touched only
// by the publisher's goroutine.
type agentSegment struct {
	segment, stream string
	text            strings.Builder
	next            uint64 // chunk index
	opened, broken  bool
}

var _ session.TextOutput = (*textOutput)(nil)

// CaptureText implements session.TextOutput: text is the new text only.
func (t *textOutput) CaptureText(_ context.Context, text string) error {
	if text == "" {
		return nil
	}
	t.mu.Lock()
	if t.seg == nil {
		t.seg = &agentSegment{segment: newSegmentID(), stream: newStreamID()}
	}
	s := t.seg
	t.mu.Unlock()
	t.pub.do(func() { t.sendDelta(s, text) })
	return nil
}

// Flush implements session.TextOutput: the segment ends.
func (t *textOutput) Flush() {
	t.mu.Lock()
	s := t.seg
	t.seg = nil
	t.mu.Unlock()
	if s != nil {
		t.pub.do(func() { t.close(s) })
	}
}

func (t *textOutput) sendDelta(s *agentSegment, text string) {
	s.text.WriteString(text)
	track := t.trackID()
	defer sendLegacy(t.send, t.identity(), track, s.segment, s.text.String(), false)
	if s.broken {
		return
	}
	if !s.opened {
		if t.send.sendData(streamHeader(s.stream, TopicTranscription, "", transcriptAttrs(s.segment, track, false), 0)) != nil {
			s.broken = true
			return
		}
		s.opened = true
	}
	if sendAll(t.send, streamChunks(s.stream, &s.next, text)...) != nil {
		s.broken = true
	}
}

func (t *textOutput) close(s *agentSegment) {
	track := t.trackID()
	defer sendLegacy(t.send, t.identity(), track, s.segment, s.text.String(), true)
	if s.opened {
		if t.send.sendData(streamTrailer(s.stream, finalAttrs(track))) == nil && !s.broken {
			return
		}
	}
	if !s.broken && !s.opened {
		return // nothing was captured
	}
	// Some of it never left: the whole text again, final, same segment.
	_ = sendText(t.send, TopicTranscription, "", s.text.String(), transcriptAttrs(s.segment, track, true))
}

// userTranscripts publishes the user's transcripts from the session's
// events, on the user's behalf (the stream's sender is the user, so
// front-ends group it with the user's messages), as LiveKit Agents does:
// each update is a stream of the whole text so far under one segment id
// (an interim may revise earlier words, so it cannot be a delta), the
// last one with lk.transcription_final "true". An interim still waiting
// to be sent is replaced by the next update of its segment; finals are
// never dropped. Each update also goes out as a legacy transcription
// packet (legacy.go).
type userTranscripts struct {
	pub      *publisher
	send     dataSender
	trackID  func() string
	identity func() string

	mu      sync.Mutex
	segment string
	pending []userUpdate
}

type userUpdate struct {
	segment, text string
	final         bool
}

func (u *userTranscripts) handle(e session.UserInputTranscribedEvent) {
	u.mu.Lock()
	if u.segment == "" && strings.TrimSpace(e.Text) == "" {
		u.mu.Unlock()
		return // nothing heard, nothing shown: no stream
	}
	if u.segment == "" {
		u.segment = newSegmentID()
	}
	up := userUpdate{segment: u.segment, text: e.Text, final: e.Final}
	if e.Final {
		u.segment = ""
	}
	idle := len(u.pending) == 0
	if n := len(u.pending); n > 0 && !u.pending[n-1].final && u.pending[n-1].segment == up.segment {
		u.pending[n-1] = up
	} else {
		u.pending = append(u.pending, up)
	}
	u.mu.Unlock()
	if idle {
		u.pub.do(u.sendPending)
	}
}

// sendPending sends the updates queued so far (the publisher's goroutine).
func (u *userTranscripts) sendPending() {
	u.mu.Lock()
	ups := u.pending
	u.pending = nil
	u.mu.Unlock()
	track, who := u.trackID(), u.identity()
	for _, up := range ups {
		_ = sendText(u.send, TopicTranscription, who, up.text, transcriptAttrs(up.segment, track, up.final))
		sendLegacy(u.send, who, track, up.segment, up.text, up.final)
	}
}
