package audio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/livekit-go/agents/internal/loudness"
	"github.com/livekit-go/agents/session"
)

// Defaults of [TrimLeadingSilence].
const (
	// DefaultTrimThreshold is the level, in dB below full scale, under
	// which a 5 ms window counts as near-silence: the level at which this
	// module's latencies count the agent as heard (internal/loudness).
	// Flite's lead-in sits near -65 dBFS, its speech onsets near -45 and
	// above.
	DefaultTrimThreshold = loudness.AudibleDBFS
	// DefaultTrimKeep is the near-silence kept before the first sound, so
	// the onset is not clipped.
	DefaultTrimKeep = 10 * time.Millisecond
	// DefaultTrimMax is the most near-silence removed from one stream.
	DefaultTrimMax = 300 * time.Millisecond
)

// trimWindow is the length the level is taken over when looking for the
// first sound: short, so the cut lands close to it.
const trimWindow = 5 * time.Millisecond

type trimConfig struct {
	threshold  float64
	keep, most time.Duration
}

// TrimOption configures [TrimLeadingSilence].
type TrimOption func(*trimConfig) error

// WithTrimThreshold sets the level in dBFS below which audio is
// near-silence (default -50).
func WithTrimThreshold(dbfs float64) TrimOption {
	return func(c *trimConfig) error {
		if !(dbfs < 0 && dbfs > -120) {
			return fmt.Errorf("audio: trim threshold: %v dBFS outside (-120, 0)", dbfs)
		}
		c.threshold = dbfs
		return nil
	}
}

// WithTrimKeep sets how much near-silence is kept before the first sound
// (default 10 ms; at least 1 ms).
func WithTrimKeep(d time.Duration) TrimOption {
	return func(c *trimConfig) error {
		if d < time.Millisecond {
			return fmt.Errorf("audio: trim keep: %v is under 1 ms", d)
		}
		c.keep = d
		return nil
	}
}

// WithTrimMax sets the most near-silence removed from a stream (default
// 300 ms); past it the audio passes as it is.
func WithTrimMax(d time.Duration) TrimOption {
	return func(c *trimConfig) error {
		if d <= 0 {
			return fmt.Errorf("audio: trim max: %v must be positive", d)
		}
		c.most = d
		return nil
	}
}

// TrimLeadingSilence wraps a TTS so that each of its streams starts at
// its first sound: the near-silence before it (a speech engine's lead-in,
// flite's is about 200 ms) is dropped, all but the last few milliseconds,
// and at most WithTrimMax of it. A user hears that lead-in as the agent's
// latency. Only the start of a stream is trimmed, never what follows the
// first sound (the pauses of a reply are its own); the session opens one
// stream per reply (per LLM step), so each reply starts at its first
// sound. A first segment that ends before any sound keeps its last few
// milliseconds, so its text still reaches the transcript.
//
// The level is the RMS of 5 ms windows of each frame (all channels),
// against WithTrimThreshold (default -50 dBFS). Frames after the cut are
// passed as they come; the frame the cut falls in is shortened.
func TrimLeadingSilence(tts session.TTS, opts ...TrimOption) (session.TTS, error) {
	c := trimConfig{threshold: DefaultTrimThreshold, keep: DefaultTrimKeep, most: DefaultTrimMax}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.keep > c.most {
		return nil, fmt.Errorf("audio: trim keep %v is more than trim max %v", c.keep, c.most)
	}
	if tts == nil {
		return nil, errors.New("audio: trim: nil TTS")
	}
	return &trimTTS{tts: tts, cfg: c}, nil
}

type trimTTS struct {
	tts session.TTS
	cfg trimConfig
}

// Stream implements session.TTS.
func (t *trimTTS) Stream(ctx context.Context) (session.TTSStream, error) {
	s, err := t.tts.Stream(ctx)
	if err != nil {
		return nil, err
	}
	return &trimStream{TTSStream: s, cfg: t.cfg, trimming: true}, nil
}

// Unwrap returns the wrapped TTS.
func (t *trimTTS) Unwrap() session.TTS { return t.tts }

// trimStream drops the near-silence at its start. Recv is called from one
// goroutine (the contract), so its state needs no lock; the other methods
// pass through.
type trimStream struct {
	session.TTSStream
	cfg      trimConfig
	trimming bool
	held     []session.SynthesizedAudio // near-silence kept back, at most cfg.keep of it
	dropped  time.Duration
	out      []session.SynthesizedAudio // to return before reading more
	err      error                      // to return once out is empty
}

func (s *trimStream) Recv() (session.SynthesizedAudio, error) {
	for s.trimming && len(s.out) == 0 && s.err == nil {
		a, err := s.TTSStream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				s.out = s.held // the stream held only near-silence: keep its tail
			}
			s.held, s.trimming, s.err = nil, false, err
			break
		}
		s.take(a)
	}
	if len(s.out) > 0 {
		a := s.out[0]
		s.out = s.out[1:]
		return a, nil
	}
	if s.err != nil {
		return session.SynthesizedAudio{}, s.err
	}
	return s.TTSStream.Recv()
}

// take handles one frame while trimming.
func (s *trimStream) take(a session.SynthesizedAudio) {
	f := a.Frame
	ch := max(f.NumChannels, 1)
	n := f.SamplesPerChannel
	if f.SampleRate <= 0 || n <= 0 || len(f.Data) < n*ch {
		s.finish(a) // not a frame to measure: stop trimming, pass it
		return
	}
	onset := firstSound(f, s.cfg.threshold)
	if onset < 0 && !a.SegmentEnd && s.dropped+f.Duration() <= s.cfg.most {
		s.held = append(s.held, a)
		s.cutHeld()
		return
	}
	if onset < 0 {
		// Past the bound, or a segment with no sound at all: keep it.
		s.held = append(s.held, a)
		s.cutHeld()
		s.finish()
		return
	}
	if onset > 0 {
		pre, post := a, a
		pre.Frame = slice(f, 0, onset)
		pre.SegmentEnd = false
		post.Frame = slice(f, onset, n)
		s.held = append(s.held, pre)
		s.cutHeld()
		s.finish(post)
		return
	}
	s.finish(a)
}

// cutHeld drops the oldest held audio beyond cfg.keep, within cfg.most.
func (s *trimStream) cutHeld() {
	var total time.Duration
	for _, h := range s.held {
		total += h.Frame.Duration()
	}
	for total > s.cfg.keep && len(s.held) > 0 && s.dropped < s.cfg.most {
		h := &s.held[0]
		f := h.Frame
		excess := min(total-s.cfg.keep, s.cfg.most-s.dropped)
		drop := int(excess * time.Duration(f.SampleRate) / time.Second)
		if drop >= f.SamplesPerChannel {
			total -= f.Duration()
			s.dropped += f.Duration()
			s.held = s.held[1:]
			continue
		}
		if drop == 0 {
			return
		}
		cut := slice(f, drop, f.SamplesPerChannel)
		d := f.Duration() - cut.Duration()
		total -= d
		s.dropped += d
		h.Frame = cut
	}
}

// finish ends trimming: what is held, then the given frames, go out.
func (s *trimStream) finish(next ...session.SynthesizedAudio) {
	s.out = append(append(s.held, next...), s.out...)
	s.held, s.trimming = nil, false
}

// firstSound returns the sample (per channel) where the first 5 ms window
// at or above threshold dBFS starts, or -1.
func firstSound(f session.AudioFrame, threshold float64) int {
	ch := max(f.NumChannels, 1)
	win := max(1, f.SampleRate*int(trimWindow/time.Millisecond)/1000)
	limit := 32768 * math.Pow(10, threshold/20)
	limit2 := limit * limit
	for start := 0; start < f.SamplesPerChannel; start += win {
		end := min(start+win, f.SamplesPerChannel)
		var sum float64
		for _, v := range f.Data[start*ch : end*ch] {
			sum += float64(v) * float64(v)
		}
		if sum/float64((end-start)*ch) >= limit2 {
			return start
		}
	}
	return -1
}

// slice returns samples [from, to) per channel of f, sharing its data;
// its capture time is that of sample from.
func slice(f session.AudioFrame, from, to int) session.AudioFrame {
	ch := max(f.NumChannels, 1)
	f.Data = f.Data[from*ch : to*ch : to*ch]
	f.SamplesPerChannel = to - from
	f.CapturedAt = f.SampleTime(from)
	return f
}
