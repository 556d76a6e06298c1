// Package simuser is the simulated user of an agent in a LiveKit room, for
// end-to-end tests, benchmarks and the voice-agent demo. It joins with a
// token (or an API key and secret), publishes a microphone as a browser
// does (mic.go: 20 ms Opus frames from libopus at 48 kHz, optionally with
// DTX as livekit-client publishes by default, optionally with a room's
// noise between words; mute and unpublish as livekit-client does), speaks
// the 48 kHz PCM it is given and notes when its voice ended, decodes the
// agent's audio at 48 kHz and notes when each run of it becomes audible
// (onset.go: the RMS of 20 ms against AudibleDBFS, so a TTS's quiet
// lead-in is not counted as heard; in consecutive frames or sliding, with
// a quiet gap that ends a run, as the caller measures), and collects the
// lk.transcription text streams, the attribute changes of the others and
// the agent's state.
//
// It recognizes nothing itself: a caller that wants the agent's words
// passes an [Ear] ([WithEar]), which gets every piece of the agent's
// decoded audio (the voice-agent demo's transcribes it with
// pocketsphinx). Speech at another rate is brought to Rate with
// internal/resample.
//
// A User is safe for concurrent use; Close stops its goroutines and waits
// for them.
package simuser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/livekit/media-sdk"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	lkmedia "github.com/livekit/server-sdk-go/v2/pkg/media"
	"github.com/pion/webrtc/v4"
)

// Rate is the rate the user publishes and hears at, a browser's.
const Rate = 48000

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
	From       string // the sender's identity
	Text       string
	Attributes map[string]string
	Final      bool
	// OfUser is set when the text is the user's own speech as the agent
	// transcribed it (the stream names the user's microphone track).
	OfUser  bool
	Segment string
	At      time.Time
}

// AttributeChange is a participant attribute as it reached the user.
type AttributeChange struct {
	Identity, Key, Value string
	At                   time.Time
}

// Ear hears the agent's audio besides the user's onset detector: Hear
// gets each piece as decoded (mono, at Rate), on the SDK's goroutine, so
// it must not block. No call comes once [User.Close] returned.
type Ear interface {
	Hear(pcm []int16)
}

// Option configures [Join].
type Option func(*config)

type config struct {
	dtx      bool
	noise    float64
	window   Window
	quietGap time.Duration
	ear      Ear
	log      *slog.Logger
}

// WithDTX publishes with Opus DTX, as livekit-client does by default: in
// silence the encoder's "nothing changed" frames are not sent.
func WithDTX() Option { return func(c *config) { c.dtx = true } }

// WithNoise fills the quiet between words with white noise of this RMS
// (a room's hiss; 0, the default, is digital silence).
func WithNoise(rms float64) Option { return func(c *config) { c.noise = rms } }

// WithOnsets sets how the user hears the agent's sound become audible and
// the silence that ends a run of it (default Frames and QuietGap;
// agent/roomio's tests, whose agent speaks tones, hear with Sliding and
// ToneQuietGap).
func WithOnsets(w Window, quietGap time.Duration) Option {
	return func(c *config) { c.window, c.quietGap = w, quietGap }
}

// WithEar also gives the agent's decoded audio to e.
func WithEar(e Ear) Option { return func(c *config) { c.ear = e } }

// WithLogger sets where the user logs what it could not handle (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// User is the simulated participant. Its methods are safe for concurrent
// use.
type User struct {
	Room *lksdk.Room
	cfg  config

	earMu     sync.Mutex // held while the Ear hears
	earClosed bool

	mu          sync.Mutex
	closed      bool
	mic         *mic
	pub         *lksdk.LocalTrackPublication
	onsets      *Onsets
	runs        []time.Time // audible onset of each run of agent sound
	transcripts []Transcript
	attrs       []AttributeChange
	remotes     []*lkmedia.PCMRemoteTrack
	changed     chan struct{}
}

// boundRTP tells when pion bound the track: what is written before goes
// nowhere.
type boundRTP struct {
	*webrtc.TrackLocalStaticRTP
	once  sync.Once
	bound chan struct{}
}

func (t *boundRTP) Bind(c webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	p, err := t.TrackLocalStaticRTP.Bind(c)
	if err == nil {
		t.once.Do(func() { close(t.bound) })
	}
	return p, err
}

// Token returns a token for a standard participant in room.
func Token(key, secret, room, identity string) (string, error) {
	return auth.NewAccessToken(key, secret).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: room}).
		SetIdentity(identity).SetValidFor(time.Hour).ToJWT()
}

// JoinWithKey joins room as identity with a token made from an API key
// and secret ([Token]), as [Join] does.
func JoinWithKey(ctx context.Context, url, key, secret, room, identity string, opts ...Option) (*User, error) {
	token, err := Token(key, secret, room, identity)
	if err != nil {
		return nil, fmt.Errorf("simuser: token: %w", err)
	}
	return Join(ctx, url, token, opts...)
}

// Join connects to url with token, publishes the microphone and waits
// until it can carry audio.
func Join(ctx context.Context, url, token string, opts ...Option) (*User, error) {
	u := &User{changed: make(chan struct{}, 1), cfg: config{log: slog.Default()}}
	for _, o := range opts {
		o(&u.cfg)
	}
	u.onsets = NewOnsets(Rate, u.cfg.window, u.cfg.quietGap)
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = u.onTrack
	cb.OnAttributesChanged = func(changed map[string]string, p lksdk.Participant) {
		now := time.Now()
		u.mu.Lock()
		for k, v := range changed {
			u.attrs = append(u.attrs, AttributeChange{Identity: p.Identity(), Key: k, Value: v, At: now})
		}
		u.mu.Unlock()
		u.signal()
	}
	u.Room = lksdk.NewRoom(cb)
	if err := u.Room.JoinWithContextAndToken(ctx, url, token); err != nil {
		return nil, fmt.Errorf("simuser: join: %w", err)
	}
	if err := u.Room.RegisterTextStreamHandler(TopicTranscription, u.onText); err != nil {
		u.Close()
		return nil, fmt.Errorf("simuser: %w", err)
	}
	if err := u.Publish(ctx); err != nil {
		u.Close()
		return nil, err
	}
	return u, nil
}

// Publish publishes a new microphone track (after [User.Unpublish]) and
// waits until it can carry audio. The capture clock goes on.
func (u *User) Publish(ctx context.Context) error {
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: Rate, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1;usedtx=1",
	}, "audio", "mic")
	if err != nil {
		return fmt.Errorf("simuser: microphone: %w", err)
	}
	bt := &boundRTP{TrackLocalStaticRTP: track, bound: make(chan struct{})}
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return errors.New("simuser: closed")
	}
	if u.mic == nil {
		m, err := newMic(track, u.cfg.dtx, u.cfg.noise)
		if err != nil {
			u.mu.Unlock()
			return fmt.Errorf("simuser: microphone: %w", err)
		}
		u.mic = m
	} else {
		u.mic.setTrack(track)
	}
	u.mu.Unlock()
	pub, err := u.Room.LocalParticipant.PublishTrack(bt, &lksdk.TrackPublicationOptions{
		Name: "mic", Source: livekit.TrackSource_MICROPHONE, DisableDTX: !u.cfg.dtx,
	})
	if err != nil {
		return fmt.Errorf("simuser: publish: %w", err)
	}
	u.mu.Lock()
	u.pub = pub
	u.mu.Unlock()
	select {
	case <-bt.bound:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("simuser: waiting for the microphone: %w", ctx.Err())
	}
}

// Unpublish removes the microphone track from the room.
func (u *User) Unpublish() error {
	u.mu.Lock()
	pub := u.pub
	u.pub = nil
	u.mu.Unlock()
	if pub == nil {
		return errors.New("simuser: no microphone published")
	}
	return u.Room.LocalParticipant.UnpublishTrack(pub.SID())
}

// Mute mutes or unmutes the microphone as livekit-client does: the
// server is told and the track captures silence meanwhile.
func (u *User) Mute(muted bool) {
	u.mu.Lock()
	pub := u.pub
	u.mu.Unlock()
	u.mic.setMuted(muted)
	if pub != nil {
		pub.SetMuted(muted)
	}
}

// MicTrackID returns the sid of the published microphone.
func (u *User) MicTrackID() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.pub == nil {
		return ""
	}
	return u.pub.SID()
}

// Packets returns how many microphone packets were sent, and how many
// frames DTX kept back.
func (u *User) Packets() (sent, skipped int) { return u.mic.counts() }

// Speak says pcm (mono, at Rate) and returns the end of the user's voice
// as the room got it: the send time of its last frame above VoiceRMS.
func (u *User) Speak(pcm []int16) time.Time {
	<-u.mic.speak(pcm)
	return u.mic.lastVoice()
}

// SpeakAsync starts saying pcm (mono, at Rate) and returns at once.
func (u *User) SpeakAsync(pcm []int16) { u.mic.speak(pcm) }

// Say says pcm (mono, at Rate) and returns when its last sample was sent
// (the end of the user's speech as published, whatever its level). If
// ctx ends first, the rest is not said.
func (u *User) Say(ctx context.Context, pcm []int16) (time.Time, error) {
	end, err := u.mic.say(ctx, pcm)
	if err != nil {
		return end, fmt.Errorf("simuser: speak: %w", err)
	}
	return end, nil
}

// VoiceEnd is when the last frame above VoiceRMS was sent.
func (u *User) VoiceEnd() time.Time { return u.mic.lastVoice() }

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
	dec, err := lkmedia.NewPCMRemoteTrack(track, heardWriter{u}, lkmedia.WithTargetSampleRate(Rate), lkmedia.WithLogger(protologger.GetDiscardLogger()))
	if err != nil {
		u.cfg.log.Warn("simuser: cannot decode the agent's track", "err", err)
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

type heardWriter struct{ u *User }

func (w heardWriter) WriteSample(s media.PCM16Sample) error { w.u.hear(s); return nil }
func (w heardWriter) Close() error                          { return nil }

// hear takes a piece of the agent's decoded audio on the SDK's goroutine.
func (u *User) hear(s []int16) {
	now := time.Now()
	u.mu.Lock()
	started, ended := u.onsets.Push(s, now)
	if started {
		u.runs = append(u.runs, now)
	}
	u.mu.Unlock()
	if started || ended {
		u.signal()
	}
	if ear := u.cfg.ear; ear != nil {
		u.earMu.Lock() // Hear does not block
		if !u.earClosed {
			ear.Hear(s)
		}
		u.earMu.Unlock()
	}
}

func (u *User) onText(r *lksdk.TextStreamReader, from string) {
	text := r.ReadAll()
	a := r.Info.Attributes
	t := Transcript{From: from, Text: text, Attributes: a, Final: a[AttrFinal] == "true", Segment: a[AttrSegmentID], At: time.Now()}
	if id := u.MicTrackID(); id != "" && a[AttrTranscribedTrack] == id {
		t.OfUser = true
	}
	u.mu.Lock()
	u.transcripts = append(u.transcripts, t)
	u.mu.Unlock()
	u.signal()
}

// SoundRuns returns when each run of the agent's sound became audible
// (Onsets).
func (u *User) SoundRuns() []time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]time.Time(nil), u.runs...)
}

// Sounding reports whether a run of the agent's sound is going on.
func (u *User) Sounding() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.onsets.Sounding()
}

// LastSound is when the last audible frame of the agent's came.
func (u *User) LastSound() time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.onsets.LastLoud()
}

// Gaps is how many times the agent's sound stopped briefly inside a run.
func (u *User) Gaps() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.onsets.Gaps()
}

// Transcripts returns the lk.transcription streams received so far.
func (u *User) Transcripts() []Transcript {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Transcript(nil), u.transcripts...)
}

// FinalTranscript returns the first final transcript whose text contains
// want, or an error listing what arrived.
func (u *User) FinalTranscript(want string) (Transcript, error) {
	ts := u.Transcripts()
	for _, t := range ts {
		if t.Final && strings.Contains(t.Text, want) {
			return t, nil
		}
	}
	var got []string
	for _, t := range ts {
		got = append(got, fmt.Sprintf("%q %v", t.Text, t.Attributes))
	}
	return Transcript{}, errors.New("no final transcript containing " + want + "; got " + strings.Join(got, ", "))
}

// AttributeChanges returns the attribute changes of other participants
// that reached the user, with when.
func (u *User) AttributeChanges() []AttributeChange {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]AttributeChange(nil), u.attrs...)
}

// AgentState returns the lk.agent.state of the agent in the room, "" when
// no agent is there.
func (u *User) AgentState() string {
	for _, p := range u.Room.GetRemoteParticipants() {
		if p.Kind() == lksdk.ParticipantAgent {
			return p.Attributes()[AttrAgentState]
		}
	}
	return ""
}

// AgentPublished reports whether an agent is in the room with its audio
// track published.
func (u *User) AgentPublished() bool {
	for _, p := range u.Room.GetRemoteParticipants() {
		if p.Kind() == lksdk.ParticipantAgent && p.GetTrackPublication(livekit.TrackSource_MICROPHONE) != nil {
			return true
		}
	}
	return false
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

// Close leaves the room and stops the microphone; idempotent. No call of
// the Ear comes once it returned.
func (u *User) Close() {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return
	}
	u.closed = true
	remotes := u.remotes
	u.remotes = nil
	m := u.mic
	u.mu.Unlock()
	u.earMu.Lock()
	u.earClosed = true
	u.earMu.Unlock()
	u.Room.Disconnect()
	for _, r := range remotes {
		r.Close()
	}
	if m != nil {
		m.close()
	}
}
