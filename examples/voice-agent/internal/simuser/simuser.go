// Package simuser is a simulated user of a voice agent in a LiveKit room:
// it joins with a token, speaks prepared 16 kHz speech (flite's, in the
// demo) on a microphone track, listens to the agent's voice, notes when
// each run of it starts, transcribes it with its own pocketsphinx decoder,
// and collects the lk.transcription text streams and the agent's state.
//
// Its ears measure audible onset (onset.go): the RMS of 20 ms frames
// against AudibleDBFS, so a TTS's quiet lead-in is not counted as heard.
//
// It publishes and hears at 48 kHz, as a browser does, converting to and
// from 16 kHz itself with a short FIR so the latency it measures is the
// agent's and the transport's. A User is safe for concurrent use; Close
// stops its goroutine and waits for it.
package simuser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/livekit/media-sdk"
	"github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	lkmedia "github.com/livekit/server-sdk-go/v2/pkg/media"
	"github.com/pion/webrtc/v4"

	"github.com/livekit-go/agents/plugins/pocketsphinx"
)

// Rate is the rate the user publishes and hears at; SpeechRate the rate of
// the speech it is given and of its recognizer.
const (
	Rate       = 48000
	SpeechRate = 16000
)

// The topic and attributes of transcriptions, and the agent's state
// attribute, as LiveKit Agents names them.
const (
	TopicTranscription   = "lk.transcription"
	AttrFinal            = "lk.transcription_final"
	AttrSegmentID        = "lk.segment_id"
	AttrTranscribedTrack = "lk.transcribed_track_id"
	AttrAgentState       = "lk.agent.state"
)

// Transcript is one lk.transcription text stream the user received.
type Transcript struct {
	Text  string
	Final bool
	// OfUser is set when the text is the user's own speech as the agent
	// transcribed it (the stream names the user's microphone track).
	OfUser  bool
	Segment string
	At      time.Time
}

// Heard is one utterance of the agent as the user's recognizer heard it.
type Heard struct {
	Text string
	At   time.Time
}

type options struct {
	decoder []pocketsphinx.Option
	log     *slog.Logger
}

// Option configures Join.
type Option func(*options)

// WithRecognizer sets the options of the user's pocketsphinx decoder (a
// keyword list or grammar for a known answer); the default is the general
// English model.
func WithRecognizer(opts ...pocketsphinx.Option) Option {
	return func(o *options) { o.decoder = opts }
}

// WithLogger sets where the user logs what it could not handle (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// User is the simulated participant.
type User struct {
	room  *lksdk.Room
	track *boundTrack
	log   *slog.Logger

	frames chan item // to the recognizer goroutine
	stop   chan struct{}
	done   chan struct{}

	mu          sync.Mutex
	closed      bool
	runs        []time.Time // audible onset of each run of agent sound
	onsets      *Onsets
	heard       []Heard
	transcripts []Transcript
	dropped     int
	remotes     []*lkmedia.PCMRemoteTrack
	changed     chan struct{}
}

// item is a frame for the recognizer, or a request to end the utterance.
type item struct {
	pcm   []int16
	flush chan struct{}
}

type boundTrack struct {
	*lkmedia.PCMLocalTrack
	once  sync.Once
	bound chan struct{}
}

// Bind notes that the track can carry audio: the SDK drops what is
// written before.
func (t *boundTrack) Bind(c webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	p, err := t.PCMLocalTrack.Bind(c)
	if err == nil {
		t.once.Do(func() { close(t.bound) })
	}
	return p, err
}

// Join connects to url with token, publishes the microphone and waits
// until it can carry audio.
func Join(ctx context.Context, url, token string, opts ...Option) (*User, error) {
	o := options{log: slog.Default()}
	for _, fn := range opts {
		fn(&o)
	}
	dec, err := pocketsphinx.New(o.decoder...)
	if err != nil {
		return nil, fmt.Errorf("simuser: recognizer: %w", err)
	}
	u := &User{
		log:     o.log,
		frames:  make(chan item, 500), // 10 s of 20 ms frames
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		changed: make(chan struct{}, 1),
		onsets:  NewOnsets(Rate),
	}
	go u.recognize(dec) // exits when u.stop closes (Close)

	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = u.onTrack
	cb.OnAttributesChanged = func(map[string]string, lksdk.Participant) { u.signal() }
	u.room = lksdk.NewRoom(cb)
	if err := u.room.JoinWithContextAndToken(ctx, url, token); err != nil {
		u.Close()
		return nil, fmt.Errorf("simuser: join: %w", err)
	}
	if err := u.room.RegisterTextStreamHandler(TopicTranscription, u.onText); err != nil {
		u.Close()
		return nil, fmt.Errorf("simuser: %w", err)
	}
	pcm, err := lkmedia.NewPCMLocalTrack(Rate, 1, protologger.GetDiscardLogger())
	if err != nil {
		u.Close()
		return nil, fmt.Errorf("simuser: microphone: %w", err)
	}
	u.track = &boundTrack{PCMLocalTrack: pcm, bound: make(chan struct{})}
	if _, err := u.room.LocalParticipant.PublishTrack(u.track, &lksdk.TrackPublicationOptions{Name: "mic", Source: livekit.TrackSource_MICROPHONE}); err != nil {
		u.Close()
		return nil, fmt.Errorf("simuser: publish: %w", err)
	}
	select {
	case <-u.track.bound:
	case <-ctx.Done():
		u.Close()
		return nil, fmt.Errorf("simuser: waiting for the microphone: %w", ctx.Err())
	}
	return u, nil
}

func (u *User) signal() {
	select {
	case u.changed <- struct{}{}:
	default:
	}
}

func (u *User) onTrack(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	if track.Kind() != webrtc.RTPCodecTypeAudio || rp.Kind() != lksdk.ParticipantAgent {
		return
	}
	ds := newDownsampler()
	dec, err := lkmedia.NewPCMRemoteTrack(track, &ear{u: u, ds: ds}, lkmedia.WithTargetSampleRate(Rate), lkmedia.WithLogger(protologger.GetDiscardLogger()))
	if err != nil {
		u.log.Warn("simuser: cannot decode the agent's track", "err", err)
		return
	}
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		dec.Close()
		return
	}
	u.remotes = append(u.remotes, dec)
	u.mu.Unlock()
}

// ear receives the agent's decoded audio on the SDK's goroutine: it notes
// sound at once and hands the frame to the recognizer.
type ear struct {
	u  *User
	ds *downsampler
}

func (e *ear) WriteSample(s media.PCM16Sample) error {
	e.u.hear(s, e.ds.process(s))
	return nil
}

func (e *ear) Close() error { return nil }

func (u *User) hear(s, speech []int16) {
	now := time.Now()
	u.mu.Lock()
	started, ended := u.onsets.Push(s, now)
	if started {
		u.runs = append(u.runs, now)
	}
	if started || ended {
		u.signal()
	}
	closed := u.closed
	u.mu.Unlock()
	if closed {
		return
	}
	select {
	case u.frames <- item{pcm: speech}:
	default: // the recognizer is behind: count it rather than hold up the SDK
		u.mu.Lock()
		u.dropped++
		u.mu.Unlock()
	}
}

// recognize runs the user's decoder over the agent's audio until stop.
func (u *User) recognize(dec *pocketsphinx.Decoder) {
	defer close(u.done)
	defer func() { _ = dec.Close() }()
	for {
		select {
		case <-u.stop:
			return
		case it := <-u.frames:
			var evs []pocketsphinx.Event
			var err error
			if it.flush != nil {
				var ev pocketsphinx.Event
				ev, err = dec.Flush()
				evs = []pocketsphinx.Event{ev}
			} else {
				evs, err = dec.Process(it.pcm)
			}
			if err != nil {
				u.log.Warn("simuser: recognizer", "err", err)
			}
			for _, ev := range evs {
				if ev.Type == pocketsphinx.Final && ev.Text != "" {
					u.mu.Lock()
					u.heard = append(u.heard, Heard{Text: ev.Text, At: time.Now()})
					u.mu.Unlock()
					u.signal()
				}
			}
			if it.flush != nil {
				close(it.flush)
			}
		}
	}
}

func (u *User) onText(r *lksdk.TextStreamReader, _ string) {
	text := r.ReadAll()
	a := r.Info.Attributes
	t := Transcript{Text: text, Final: a[AttrFinal] == "true", Segment: a[AttrSegmentID], At: time.Now()}
	if pub := u.room.LocalParticipant.GetTrackPublication(livekit.TrackSource_MICROPHONE); pub != nil && a[AttrTranscribedTrack] == pub.SID() {
		t.OfUser = true
	}
	u.mu.Lock()
	u.transcripts = append(u.transcripts, t)
	u.mu.Unlock()
	u.signal()
}

// Say publishes pcm (16 kHz mono) and returns when its last sample has
// been sent: the end of the user's speech as published.
func (u *User) Say(ctx context.Context, pcm []int16) (time.Time, error) {
	if err := u.track.WriteSample(upsample(pcm)); err != nil {
		return time.Time{}, fmt.Errorf("simuser: speak: %w", err)
	}
	played := make(chan struct{})
	go func() { // exits when the queue drained (Close drains or clears it)
		u.track.WaitForPlayout()
		close(played)
	}()
	select {
	case <-played:
		return time.Now(), nil
	case <-ctx.Done():
		u.track.ClearQueue() // ends the wait above
		<-played
		return time.Time{}, ctx.Err()
	}
}

// AgentState returns the lk.agent.state of the agent in the room, "" when
// no agent is there.
func (u *User) AgentState() string {
	for _, p := range u.room.GetRemoteParticipants() {
		if p.Kind() == lksdk.ParticipantAgent {
			return p.Attributes()[AttrAgentState]
		}
	}
	return ""
}

// AgentPublished reports whether an agent is in the room with its audio
// track published.
func (u *User) AgentPublished() bool {
	for _, p := range u.room.GetRemoteParticipants() {
		if p.Kind() == lksdk.ParticipantAgent && p.GetTrackPublication(livekit.TrackSource_MICROPHONE) != nil {
			return true
		}
	}
	return false
}

// SoundRuns returns when each run of the agent's sound became audible
// (Onsets).
func (u *User) SoundRuns() []time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]time.Time(nil), u.runs...)
}

// Sounding reports whether the agent's sound is arriving now.
func (u *User) Sounding() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.onsets.Sounding()
}

// Heard returns the agent's utterances as the user's recognizer heard them.
func (u *User) Heard() []Heard {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Heard(nil), u.heard...)
}

// Dropped is how many frames the recognizer could not keep up with.
func (u *User) Dropped() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.dropped
}

// Transcripts returns the lk.transcription streams received so far.
func (u *User) Transcripts() []Transcript {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Transcript(nil), u.transcripts...)
}

// FlushHearing ends the recognizer's open utterance, so what it heard so
// far is in Heard, and returns once it has.
func (u *User) FlushHearing(ctx context.Context) error {
	f := make(chan struct{})
	select {
	case u.frames <- item{flush: f}:
	case <-u.done:
		return errors.New("simuser: closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-f:
		return nil
	case <-u.done:
		return errors.New("simuser: closed")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitFor checks cond on every change (and every 20 ms) until it holds or
// ctx ends; the error names what was awaited.
func (u *User) WaitFor(ctx context.Context, what string, cond func() bool) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-u.changed:
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("simuser: waiting for %s: %w", what, context.Cause(ctx))
		}
	}
	return nil
}

// Close leaves the room, stops the recognizer and waits for it;
// idempotent.
func (u *User) Close() {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return
	}
	u.closed = true
	remotes := u.remotes
	u.remotes = nil
	u.mu.Unlock()
	if u.room != nil {
		u.room.Disconnect()
	}
	for _, r := range remotes {
		r.Close()
	}
	if u.track != nil {
		u.track.ClearQueue()
		_ = u.track.Close()
	}
	close(u.stop)
	<-u.done
}
