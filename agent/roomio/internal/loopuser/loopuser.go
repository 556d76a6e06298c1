// Package loopuser is a LiveKit participant that plays the user in
// end-to-end tests and benchmarks of room I/O: it publishes a microphone as
// a browser does (20 ms Opus frames from libopus, optionally with DTX as
// livekit-client publishes by default), decodes the agent's audio and notes
// when it becomes audible, and collects the lk.transcription text streams.
package loopuser

import (
	"context"
	"errors"
	"fmt"
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

	"github.com/livekit-go/agents/agent/roomio/internal/tonespeech"
)

// Rate is the rate the user publishes and hears at.
const Rate = 48000

// Transcript is one lk.transcription text stream the user received.
type Transcript struct {
	From       string
	Text       string
	Attributes map[string]string
	At         time.Time
}

// AttributeChange is a participant attribute as it reached the user.
type AttributeChange struct {
	Identity, Key, Value string
	At                   time.Time
}

// Option configures [Join].
type Option func(*config)

type config struct {
	dtx   bool
	noise float64
}

// WithDTX publishes with Opus DTX, as livekit-client does by default: in
// silence the encoder's "nothing changed" frames are not sent.
func WithDTX() Option { return func(c *config) { c.dtx = true } }

// WithNoise fills the quiet between words with white noise of this RMS
// (a room's hiss; 0, the default, is digital silence).
func WithNoise(rms float64) Option { return func(c *config) { c.noise = rms } }

// User is the participant. Its methods are safe for concurrent use.
type User struct {
	Room *lksdk.Room
	mic  *mic
	cfg  config

	mu          sync.Mutex
	pub         *lksdk.LocalTrackPublication
	onset       onsetDetector
	heard       []time.Time // audible onset of each run of agent sound
	soundFrames int
	lastSound   time.Time
	inSound     bool
	quietSince  time.Time
	gaps        int // silences inside a run of agent sound (underruns)
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

// Join connects as identity, publishes the microphone and waits until it
// can carry audio.
func Join(ctx context.Context, url, key, secret, room, identity string, opts ...Option) (*User, error) {
	token, err := Token(key, secret, room, identity)
	if err != nil {
		return nil, err
	}
	u := &User{changed: make(chan struct{}, 1)}
	for _, o := range opts {
		o(&u.cfg)
	}
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = u.onTrack
	cb.OnAttributesChanged = func(changed map[string]string, p lksdk.Participant) {
		now := time.Now()
		u.mu.Lock()
		for k, v := range changed {
			u.attrs = append(u.attrs, AttributeChange{Identity: p.Identity(), Key: k, Value: v, At: now})
		}
		u.mu.Unlock()
		signal(u.changed)
	}
	u.Room = lksdk.NewRoom(cb)
	if err := u.Room.JoinWithContextAndToken(ctx, url, token); err != nil {
		return nil, err
	}
	if err := u.Room.RegisterTextStreamHandler("lk.transcription", u.onText); err != nil {
		u.Room.Disconnect()
		return nil, err
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
		return err
	}
	bt := &boundRTP{TrackLocalStaticRTP: track, bound: make(chan struct{})}
	u.mu.Lock()
	if u.mic == nil {
		m, err := newMic(track, u.cfg.dtx, u.cfg.noise)
		if err != nil {
			u.mu.Unlock()
			return err
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
		return err
	}
	u.mu.Lock()
	u.pub = pub
	u.mu.Unlock()
	select {
	case <-bt.bound:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Unpublish removes the microphone track from the room.
func (u *User) Unpublish() error {
	u.mu.Lock()
	pub := u.pub
	u.pub = nil
	u.mu.Unlock()
	if pub == nil {
		return errors.New("loopuser: no microphone published")
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

func (u *User) onTrack(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	if track.Kind() != webrtc.RTPCodecTypeAudio || rp.Kind() != lksdk.ParticipantAgent {
		return
	}
	dec, err := lkmedia.NewPCMRemoteTrack(track, heardWriter{u}, lkmedia.WithTargetSampleRate(Rate), lkmedia.WithLogger(protologger.GetDiscardLogger()))
	if err != nil {
		return
	}
	u.mu.Lock()
	u.remotes = append(u.remotes, dec)
	u.mu.Unlock()
}

type heardWriter struct{ u *User }

func (w heardWriter) WriteSample(s media.PCM16Sample) error { w.u.hear(s); return nil }
func (w heardWriter) Close() error                          { return nil }

// quietGap is the silence that ends a run of agent sound.
const quietGap = 150 * time.Millisecond

// onsetDetector keeps the energy of the last 20 ms heard: the agent is
// audible when their RMS passes tonespeech.Threshold, not at the first
// decoded frame (which may be near silence).
type onsetDetector struct {
	sq  [Rate / 50]float64
	pos int
	sum float64
}

// push adds s and reports whether the last 20 ms were loud after any of
// its samples.
func (d *onsetDetector) push(s []int16) bool {
	const thr = float64(tonespeech.Threshold) * tonespeech.Threshold * float64(len(d.sq))
	loud := false
	for _, v := range s {
		x := float64(v) * float64(v)
		d.sum += x - d.sq[d.pos]
		d.sq[d.pos] = x
		d.pos = (d.pos + 1) % len(d.sq)
		if d.sum > thr {
			loud = true
		}
	}
	if d.sum < 0.5 { // float drift over long runs
		d.sum = 0
	}
	return loud
}

func (u *User) hear(s media.PCM16Sample) {
	now := time.Now()
	u.mu.Lock()
	defer u.mu.Unlock()
	audible := u.onset.push(s)
	loud := tonespeech.RMS(s) > tonespeech.Threshold
	if audible && !u.inSound {
		u.inSound = true
		u.heard = append(u.heard, now)
		u.quietSince = time.Time{}
		signal(u.changed)
	}
	if loud {
		if u.inSound && !u.quietSince.IsZero() {
			u.gaps++ // quiet inside a run: the agent's audio did not arrive in time
		}
		u.quietSince = time.Time{}
		u.soundFrames++
		u.lastSound = now
		signal(u.changed)
		return
	}
	if u.inSound {
		if u.quietSince.IsZero() {
			u.quietSince = now
		} else if now.Sub(u.quietSince) >= quietGap {
			u.inSound, u.quietSince = false, time.Time{}
			signal(u.changed)
		}
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (u *User) onText(r *lksdk.TextStreamReader, from string) {
	text := r.ReadAll()
	u.mu.Lock()
	u.transcripts = append(u.transcripts, Transcript{From: from, Text: text, Attributes: r.Info.Attributes, At: time.Now()})
	u.mu.Unlock()
	signal(u.changed)
}

// Speak says d of tone and returns when it was sent: the end of the
// user's voice as the room got it (the send time of its last loud frame).
func (u *User) Speak(d time.Duration) time.Time {
	<-u.mic.speak(tonespeech.Tone(d, Rate))
	return u.mic.lastVoice()
}

// SpeakPCM says pcm (mono, at Rate) and returns the end of the user's
// voice as the room got it, like Speak.
func (u *User) SpeakPCM(pcm []int16) time.Time {
	<-u.mic.speak(pcm)
	return u.mic.lastVoice()
}

// Upsample brings mono pcm at rate to Rate by linear interpolation (a
// test voice, not for listening).
func Upsample(pcm []int16, rate int) []int16 {
	if rate <= 0 || len(pcm) == 0 {
		return nil
	}
	n := len(pcm) * Rate / rate
	out := make([]int16, n)
	step := float64(rate) / Rate
	for i := range out {
		x := float64(i) * step
		j := int(x)
		if j >= len(pcm)-1 {
			out[i] = pcm[len(pcm)-1]
			continue
		}
		f := x - float64(j)
		out[i] = int16(float64(pcm[j])*(1-f) + float64(pcm[j+1])*f)
	}
	return out
}

// SpeakAsync starts saying d of tone and returns at once.
func (u *User) SpeakAsync(d time.Duration) { u.mic.speak(tonespeech.Tone(d, Rate)) }

// VoiceEnd is when the last loud frame was sent.
func (u *User) VoiceEnd() time.Time { return u.mic.lastVoice() }

// Heard returns the start of each run of agent sound so far.
func (u *User) Heard() []time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]time.Time(nil), u.heard...)
}

// Sounding reports whether agent sound is arriving now, and when the last
// loud frame came.
func (u *User) Sounding() (bool, time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.inSound, u.lastSound
}

// Gaps is how many times agent sound stopped briefly inside a run.
func (u *User) Gaps() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.gaps
}

// Transcripts returns the transcription streams received so far.
func (u *User) Transcripts() []Transcript {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Transcript(nil), u.transcripts...)
}

// AttributeChanges returns the attribute changes of other participants
// that reached the user, with when.
func (u *User) AttributeChanges() []AttributeChange {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]AttributeChange(nil), u.attrs...)
}

// WaitFor polls cond on every change until it holds or ctx ends.
func (u *User) WaitFor(ctx context.Context, what string, cond func() bool) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-u.changed:
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
	return nil
}

// FinalTranscript returns the text of the first final transcript whose
// text contains want, or an error listing what arrived.
func (u *User) FinalTranscript(want string) (Transcript, error) {
	ts := u.Transcripts()
	for _, t := range ts {
		if t.Attributes["lk.transcription_final"] == "true" && strings.Contains(t.Text, want) {
			return t, nil
		}
	}
	var got []string
	for _, t := range ts {
		got = append(got, fmt.Sprintf("%q %v", t.Text, t.Attributes))
	}
	return Transcript{}, errors.New("no final transcript containing " + want + "; got " + strings.Join(got, ", "))
}

// Close leaves the room.
func (u *User) Close() {
	u.Room.Disconnect()
	u.mu.Lock()
	remotes := u.remotes
	u.remotes = nil
	m := u.mic
	u.mu.Unlock()
	for _, r := range remotes {
		r.Close()
	}
	if m != nil {
		m.close()
	}
}
