// Package loopuser is a LiveKit participant that plays the user in
// end-to-end tests and benchmarks of room I/O: it publishes a microphone
// track fed with PCM, decodes the agent's audio and notes when sound
// arrives, and collects the lk.transcription text streams.
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

// User is the participant. Its methods are safe for concurrent use.
type User struct {
	Room  *lksdk.Room
	track *boundTrack

	mu          sync.Mutex
	heard       []time.Time // start of each run of agent sound
	soundFrames int
	lastSound   time.Time
	inSound     bool
	quietSince  time.Time
	gaps        int // silences inside a run of agent sound (underruns)
	transcripts []Transcript
	remotes     []*lkmedia.PCMRemoteTrack
	changed     chan struct{}
}

type boundTrack struct {
	*lkmedia.PCMLocalTrack
	once  sync.Once
	bound chan struct{}
}

func (t *boundTrack) Bind(c webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	p, err := t.PCMLocalTrack.Bind(c)
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
func Join(ctx context.Context, url, key, secret, room, identity string) (*User, error) {
	token, err := Token(key, secret, room, identity)
	if err != nil {
		return nil, err
	}
	u := &User{changed: make(chan struct{}, 1)}
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = u.onTrack
	u.Room = lksdk.NewRoom(cb)
	if err := u.Room.JoinWithContextAndToken(ctx, url, token); err != nil {
		return nil, err
	}
	if err := u.Room.RegisterTextStreamHandler("lk.transcription", u.onText); err != nil {
		u.Room.Disconnect()
		return nil, err
	}
	pcm, err := lkmedia.NewPCMLocalTrack(Rate, 1, protologger.GetDiscardLogger())
	if err != nil {
		u.Room.Disconnect()
		return nil, err
	}
	u.track = &boundTrack{PCMLocalTrack: pcm, bound: make(chan struct{})}
	if _, err := u.Room.LocalParticipant.PublishTrack(u.track, &lksdk.TrackPublicationOptions{Name: "mic", Source: livekit.TrackSource_MICROPHONE}); err != nil {
		u.Close()
		return nil, err
	}
	select {
	case <-u.track.bound:
	case <-ctx.Done():
		u.Close()
		return nil, ctx.Err()
	}
	return u, nil
}

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

func (u *User) hear(s media.PCM16Sample) {
	now := time.Now()
	loud := tonespeech.RMS(s) > tonespeech.Threshold
	u.mu.Lock()
	defer u.mu.Unlock()
	if loud {
		if !u.inSound {
			u.inSound = true
			u.heard = append(u.heard, now)
		} else if !u.quietSince.IsZero() {
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

// Speak publishes d of tone and returns when it has been sent (the end of
// the user's speech as published).
func (u *User) Speak(d time.Duration) time.Time {
	_ = u.track.WriteSample(tonespeech.Tone(d, Rate))
	u.track.WaitForPlayout()
	return time.Now()
}

// SpeakAsync starts publishing d of tone and returns at once.
func (u *User) SpeakAsync(d time.Duration) { _ = u.track.WriteSample(tonespeech.Tone(d, Rate)) }

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
	u.mu.Unlock()
	for _, r := range remotes {
		r.Close()
	}
	if u.track != nil {
		u.track.ClearQueue()
		_ = u.track.Close()
	}
}
