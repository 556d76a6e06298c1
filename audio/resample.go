package audio

import (
	"fmt"
	"math"

	"github.com/livekit-go/agents/session"
)

// MonoResampler brings the frames of one stream to mono PCM at one rate.
// Integer ratios (48 and 32 kHz to 16 kHz, the usual room rates) average
// each group of samples, a cheap low-pass; other ratios interpolate
// linearly. Good enough for detection and recognition, not for listening.
// State carries across frames, so a stream needs its own MonoResampler; it
// is not safe for concurrent use.
type MonoResampler struct {
	to    int
	rate  int     // input rate, fixed by the first frame
	pos   float64 // fractional read position carried between frames
	last  float64 // last input sample of the previous frame
	group []int32 // partial group for integer ratios
}

// NewMonoResampler returns a resampler to the given rate in Hz.
func NewMonoResampler(to int) *MonoResampler { return &MonoResampler{to: to} }

// Push converts one frame. The input rate is fixed by the first frame; a
// frame at another rate, or one whose fields disagree with its data, is an
// error naming what was wrong.
func (r *MonoResampler) Push(f session.AudioFrame) ([]int16, error) {
	pcm, _, err := r.push(f)
	return pcm, err
}

// PushFrame converts one frame as Push does and returns the result as a
// mono frame at the target rate. Its CapturedAt is the capture time of its
// first sample: output sample j stands for the input sample j*from/to of
// the stream, which may lie in an earlier frame (a group begun there, or
// the interpolation's left neighbour). Zero when f's is zero.
func (r *MonoResampler) PushFrame(f session.AudioFrame) (session.AudioFrame, error) {
	pcm, lead, err := r.push(f)
	if err != nil {
		return session.AudioFrame{}, err
	}
	return session.AudioFrame{
		Data: pcm, SampleRate: r.to, NumChannels: 1, SamplesPerChannel: len(pcm),
		CapturedAt: f.SampleTime(lead),
	}, nil
}

// push converts f and returns, with the samples, the index in f (per
// channel; negative: in an earlier frame) of the input sample its first
// output sample stands for.
func (r *MonoResampler) push(f session.AudioFrame) ([]int16, int, error) {
	if r.to <= 0 {
		return nil, 0, fmt.Errorf("audio: resampler target rate %d Hz: must be positive", r.to)
	}
	ch := max(f.NumChannels, 1)
	n := f.SamplesPerChannel
	if f.SampleRate <= 0 || n < 0 || len(f.Data) < n*ch {
		return nil, 0, fmt.Errorf("audio: malformed frame: rate %d Hz, %d samples x %d channels, %d values", f.SampleRate, n, ch, len(f.Data))
	}
	if r.rate != 0 && r.rate != f.SampleRate {
		return nil, 0, fmt.Errorf("audio: sample rate changed from %d to %d Hz", r.rate, f.SampleRate)
	}
	r.rate = f.SampleRate
	mono := make([]int32, n)
	for i := range n {
		var s int32
		for c := range ch {
			s += int32(f.Data[i*ch+c])
		}
		mono[i] = s / int32(ch)
	}
	switch {
	case f.SampleRate == r.to:
		out := make([]int16, n)
		for i, s := range mono {
			out[i] = int16(s)
		}
		return out, 0, nil
	case f.SampleRate%r.to == 0:
		k := f.SampleRate / r.to
		lead := -len(r.group) // the first output's group began in the last frame
		out := make([]int16, 0, n/k+1)
		for _, s := range mono {
			r.group = append(r.group, s)
			if len(r.group) == k {
				var sum int32
				for _, g := range r.group {
					sum += g
				}
				out = append(out, int16(sum/int32(k)))
				r.group = r.group[:0]
			}
		}
		return out, lead, nil
	}
	step := float64(f.SampleRate) / float64(r.to)
	lead := int(math.Round(r.pos))
	var out []int16
	// Positions are relative to this frame; -1 is the previous frame's last
	// sample.
	for ; r.pos < float64(n-1); r.pos += step {
		i := int(math.Floor(r.pos))
		frac := r.pos - float64(i)
		a := r.last
		if i >= 0 {
			a = float64(mono[i])
		}
		b := float64(mono[i+1])
		out = append(out, int16(a+(b-a)*frac))
	}
	if n > 0 {
		r.pos -= float64(n)
		r.last = float64(mono[n-1])
	}
	return out, lead, nil
}
