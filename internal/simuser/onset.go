package simuser

import (
	"time"

	"github.com/livekit-go/agents/internal/loudness"
)

// How the user decides it hears the agent: the RMS of 20 ms of what
// arrives, against one level. A run of sound starts when it first reaches
// the level and ends once a quiet piece arrives a quiet gap after the
// last loud one. This is the audible onset every latency the user
// measures is measured to; near-silence (a TTS's lead-in, Opus comfort
// noise) is not heard, however early it arrives.
const (
	// AudibleDBFS is the level, in dB below full scale, at which 20 ms
	// are heard: internal/loudness's, which the voice-agent's web page
	// (app.js AUDIBLE_DBFS) and the trim of a TTS's lead-in share. The
	// tone TTS of agent/roomio's tests speaks at about -13 dBFS; an idle
	// track is digital silence.
	AudibleDBFS = loudness.AudibleDBFS
	// OnsetFrame is the length the RMS is taken over.
	OnsetFrame = 20 * time.Millisecond
	// QuietGap is the default silence that ends a run of the agent's
	// sound: longer than the pauses between a spoken answer's words and
	// sentences, so one answer is one run.
	QuietGap = 400 * time.Millisecond
	// ToneQuietGap ends a run of a tone TTS's sound, which has no pauses,
	// soon, so an interrupted reply's end and the next reply's start are
	// seen: 150 ms after the first quiet piece, which the decoder delivers
	// 10 ms after the last loud one (the measure agent/roomio's figures
	// were taken with).
	ToneQuietGap = 160 * time.Millisecond
)

// Window is how the level is taken over the stream.
type Window int

const (
	// Frames takes the RMS of consecutive 20 ms frames, counted from the
	// stream's start: a run starts at the arrival of the piece that
	// completes the first audible frame, and a frame is loud or quiet as
	// a whole. The voice-agent demo's measure (the default).
	Frames Window = iota
	// Sliding takes the RMS of the last 20 ms after every sample: a run
	// starts at the arrival of the piece in which that first reaches the
	// level; each piece as delivered is loud or quiet. agent/roomio's
	// measure: the decoder delivers 10 ms pieces, so it hears up to one
	// piece sooner than Frames.
	Sliding
)

// audibleRMS is AudibleDBFS as an RMS in int16 units (about 104).
var audibleRMS = loudness.FromDBFS(AudibleDBFS)

// Onsets finds where runs of audible sound start in a stream of mono PCM
// at a given rate, delivered in pieces of any length. It is the one place
// the simulated user's audible-onset measurement lives. Not safe for
// concurrent use.
type Onsets struct {
	window   Window
	frame    []int16   // Frames: the current 20 ms frame, filling
	size     int       // samples in 20 ms
	sq       []float64 // Sliding: the squares of the last 20 ms
	pos      int
	sum      float64 // of sq
	gap      time.Duration
	inSound  bool
	lastLoud time.Time
	quiet    bool // a quiet frame came since the last audible one
	gaps     int
}

// NewOnsets returns an Onsets for audio at rate Hz, taken over w, whose
// runs end after quietGap (QuietGap if not positive).
func NewOnsets(rate int, w Window, quietGap time.Duration) *Onsets {
	if quietGap <= 0 {
		quietGap = QuietGap
	}
	n := max(1, rate*int(OnsetFrame/time.Millisecond)/1000)
	o := &Onsets{window: w, size: n, gap: quietGap}
	if w == Sliding {
		o.sq = make([]float64, n)
	} else {
		o.frame = make([]int16, 0, n)
	}
	return o
}

// Push takes the next samples, which arrived at now, and reports whether a
// run of audible sound started in them (at now: the arrival of the frame
// that was heard first) and whether one ended (the quiet gap after its
// last audible frame).
func (o *Onsets) Push(pcm []int16, now time.Time) (started, ended bool) {
	if o.window == Sliding {
		return o.pushSliding(pcm, now)
	}
	for len(pcm) > 0 {
		n := min(o.size-len(o.frame), len(pcm))
		o.frame = append(o.frame, pcm[:n]...)
		pcm = pcm[n:]
		if len(o.frame) < o.size {
			break
		}
		loud := Audible(o.frame)
		o.frame = o.frame[:0]
		s, e := o.step(loud, loud, now)
		started, ended = started || s, ended || e
	}
	return started, ended
}

// pushSliding is Push for Sliding.
func (o *Onsets) pushSliding(pcm []int16, now time.Time) (started, ended bool) {
	thr := audibleRMS * audibleRMS * float64(len(o.sq))
	audible := false
	for _, v := range pcm {
		x := float64(v) * float64(v)
		o.sum += x - o.sq[o.pos]
		o.sq[o.pos] = x
		o.pos = (o.pos + 1) % len(o.sq)
		if o.sum >= thr {
			audible = true
		}
	}
	if o.sum < 0.5 { // float drift over long runs
		o.sum = 0
	}
	if len(pcm) == 0 {
		return false, false
	}
	return o.step(audible, Audible(pcm), now)
}

// step takes one frame (Frames) or piece (Sliding) that arrived at now:
// whether the sound became audible in it, and whether it is loud.
func (o *Onsets) step(audible, loud bool, now time.Time) (started, ended bool) {
	if audible && !o.inSound {
		o.inSound, started = true, true
		o.lastLoud, o.quiet = now, false
		if !loud {
			return started, false // it became audible at the piece's end
		}
	}
	switch {
	case loud:
		if o.quiet {
			o.gaps++ // quiet inside a run: the agent's audio did not arrive in time
		}
		o.lastLoud, o.quiet = now, false
	case o.inSound && now.Sub(o.lastLoud) >= o.gap:
		o.inSound, ended, o.quiet = false, true, false
	case o.inSound:
		o.quiet = true
	}
	return started, ended
}

// Sounding reports whether a run of audible sound is going on.
func (o *Onsets) Sounding() bool { return o.inSound }

// LastLoud is when the last audible frame arrived.
func (o *Onsets) LastLoud() time.Time { return o.lastLoud }

// Gaps is how many times the sound went quiet inside a run, for less than
// the quiet gap: an underrun of the agent's audio.
func (o *Onsets) Gaps() int { return o.gaps }

// Audible reports whether frame's RMS reaches AudibleDBFS.
func Audible(frame []int16) bool {
	return loudness.RMS(frame) >= audibleRMS
}
