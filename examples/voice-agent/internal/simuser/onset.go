package simuser

import (
	"math"
	"time"
)

// How the user decides it hears the agent: the RMS of each 20 ms frame of
// what arrives, against a threshold. A run of sound starts with the first
// audible frame and ends after QuietGap of frames below it. This is the
// audible onset every latency here is measured to; a frame of near-silence
// (a TTS's lead-in, Opus comfort noise) is not heard, however early it
// arrives.
const (
	// AudibleDBFS is the level, in dB below full scale, at which a 20 ms
	// frame is heard. Flite's lead-in sits near -65 dBFS and its speech
	// above -30; the idle track is digital silence.
	AudibleDBFS = -50.0
	// OnsetFrame is the length the RMS is taken over.
	OnsetFrame = 20 * time.Millisecond
	// QuietGap is the silence that ends a run of the agent's sound.
	QuietGap = 400 * time.Millisecond
)

// audibleRMS is AudibleDBFS as an RMS in int16 units.
var audibleRMS = 32768 * math.Pow(10, AudibleDBFS/20)

// Onsets finds where runs of audible sound start in a stream of mono PCM
// at a given rate, delivered in pieces of any length. It is the one place
// the simulated user's audible-onset measurement lives. Not safe for
// concurrent use.
type Onsets struct {
	frame    []int16 // the current 20 ms frame, filling
	size     int     // samples in a frame
	inSound  bool
	lastLoud time.Time
}

// NewOnsets returns an Onsets for audio at rate Hz.
func NewOnsets(rate int) *Onsets {
	n := max(1, rate*int(OnsetFrame/time.Millisecond)/1000)
	return &Onsets{size: n, frame: make([]int16, 0, n)}
}

// Push takes the next samples, which arrived at now, and reports whether a
// run of audible sound started in them (at now: the arrival of the frame
// that was heard first) and whether one ended (QuietGap after its last
// audible frame).
func (o *Onsets) Push(pcm []int16, now time.Time) (started, ended bool) {
	for len(pcm) > 0 {
		n := min(o.size-len(o.frame), len(pcm))
		o.frame = append(o.frame, pcm[:n]...)
		pcm = pcm[n:]
		if len(o.frame) < o.size {
			break
		}
		loud := Audible(o.frame)
		o.frame = o.frame[:0]
		switch {
		case loud && !o.inSound:
			o.inSound, started = true, true
			o.lastLoud = now
		case loud:
			o.lastLoud = now
		case o.inSound && now.Sub(o.lastLoud) >= QuietGap:
			o.inSound, ended = false, true
		}
	}
	return started, ended
}

// Sounding reports whether a run of audible sound is going on.
func (o *Onsets) Sounding() bool { return o.inSound }

// Audible reports whether frame's RMS reaches AudibleDBFS.
func Audible(frame []int16) bool {
	if len(frame) == 0 {
		return false
	}
	var sum float64
	for _, v := range frame {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum/float64(len(frame))) >= audibleRMS
}
