package roomio

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"

	"github.com/livekit-go/agents/session"
)

// What LiveKit clients (the playground, components-js/react) read.
const (
	// TopicTranscription is the text-stream topic of transcriptions.
	TopicTranscription = "lk.transcription"
	// TopicChat is the text-stream topic of typed messages: the user's
	// are turns of the conversation.
	TopicChat = "lk.chat"
	// AttributeSegmentID names the segment a transcription stream belongs
	// to; a later stream with the same id replaces the text shown.
	AttributeSegmentID = "lk.segment_id"
	// AttributeTranscriptionFinal is "true" on the last stream of a segment.
	AttributeTranscriptionFinal = "lk.transcription_final"
	// AttributeTranscribedTrackID is the audio track the text transcribes.
	AttributeTranscribedTrackID = "lk.transcribed_track_id"
	// AttributeAgentState is the agent participant's attribute holding its
	// state: initializing, listening, thinking or speaking.
	AttributeAgentState = "lk.agent.state"
)

// publisher runs sends to the room (text streams, attribute updates) on one
// goroutine, in order, so that neither the session's loop nor its event
// handler waits for the network.
type publisher struct {
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []func()
	stopped bool
	wg      sync.WaitGroup
}

func newPublisher() *publisher {
	p := &publisher{}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go func() { // exits when stop is called and the queue is done
		defer p.wg.Done()
		p.run()
	}()
	return p
}

func (p *publisher) run() {
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.stopped {
			p.cond.Wait()
		}
		if len(p.queue) == 0 {
			p.mu.Unlock()
			return
		}
		fn := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		p.mu.Unlock()
		fn()
	}
}

// do queues fn; after stop it is dropped.
func (p *publisher) do(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.queue = append(p.queue, fn)
	p.cond.Signal()
}

// stop runs what is queued, then ends the goroutine and waits for it.
func (p *publisher) stop() {
	p.mu.Lock()
	p.stopped = true
	p.cond.Signal()
	p.mu.Unlock()
	p.wg.Wait()
}

// textSender is what the transcriptions are sent through (the room's local
// participant, or a fake in tests).
type textSender interface {
	sendText(text string, attrs map[string]string)
}

// newSegmentID returns an id in the shape LiveKit Agents uses ("SG_" and
// 12 hex digits).
func newSegmentID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "SG_" + hex.EncodeToString(b)
}

// transcriptAttrs are the attributes of one transcription stream.
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

// textOutput is the agent's transcript as a session.TextOutput. Each
// CaptureText sends the segment's whole text so far as its own stream
// (lk.transcription_final "false"), Flush sends it once more as final. A
// client keyed by lk.segment_id so shows the latest text. (The Go SDK
// cannot set attributes on a stream's trailer, which is where LiveKit
// Agents' delta streams carry the final flag.)
type textOutput struct {
	pub     *publisher
	send    textSender
	trackID func() string

	mu      sync.Mutex
	segment string
	text    strings.Builder
}

var _ session.TextOutput = (*textOutput)(nil)

// CaptureText implements session.TextOutput.
func (t *textOutput) CaptureText(_ context.Context, text string) error {
	if text == "" {
		return nil
	}
	t.mu.Lock()
	if t.segment == "" {
		t.segment = newSegmentID()
	}
	t.text.WriteString(text)
	full, seg := t.text.String(), t.segment
	t.mu.Unlock()
	track := t.trackID()
	t.pub.do(func() { t.send.sendText(full, transcriptAttrs(seg, track, false)) })
	return nil
}

// Flush implements session.TextOutput.
func (t *textOutput) Flush() {
	t.mu.Lock()
	full, seg := t.text.String(), t.segment
	t.segment = ""
	t.text.Reset()
	t.mu.Unlock()
	if seg == "" {
		return
	}
	track := t.trackID()
	t.pub.do(func() { t.send.sendText(full, transcriptAttrs(seg, track, true)) })
}

// userTranscripts publishes the user's transcripts from the session's
// events: interim ones under one segment id until a final one ends it.
type userTranscripts struct {
	pub     *publisher
	send    textSender
	trackID func() string

	mu      sync.Mutex
	segment string
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
	seg := u.segment
	if e.Final {
		u.segment = ""
	}
	u.mu.Unlock()
	track := u.trackID()
	text, final := e.Text, e.Final
	u.pub.do(func() { u.send.sendText(text, transcriptAttrs(seg, track, final)) })
}
