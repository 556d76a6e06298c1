package pocketsphinx

import (
	"fmt"
	"math"

	"github.com/livekit-go/agents/session"
)

// resampler brings session frames to 16 kHz mono for the decoder. Integer
// ratios (48 and 32 kHz, the usual room rates) average each group of
// samples, a cheap low-pass; other rates interpolate linearly. Good enough
// for recognition, not for listening. A copy lives in plugins/silero:
// the core has no resampler yet and cgo packages stay leaves.
type resampler struct {
	rate  int
	pos   float64 // fractional read position carried between frames
	last  float64 // last input sample of the previous frame
	group []int32 // partial group for integer ratios
}

func (r *resampler) to16k(f session.AudioFrame) ([]int16, error) {
	ch := max(f.NumChannels, 1)
	n := f.SamplesPerChannel
	if f.SampleRate <= 0 || n < 0 || len(f.Data) < n*ch {
		return nil, fmt.Errorf("pocketsphinx: malformed frame: rate %d, %d samples x %d channels, %d values", f.SampleRate, n, ch, len(f.Data))
	}
	if r.rate != 0 && r.rate != f.SampleRate {
		return nil, fmt.Errorf("pocketsphinx: sample rate changed from %d to %d Hz", r.rate, f.SampleRate)
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
	case f.SampleRate == SampleRate:
		out := make([]int16, n)
		for i, s := range mono {
			out[i] = int16(s)
		}
		return out, nil
	case f.SampleRate%SampleRate == 0:
		k := f.SampleRate / SampleRate
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
		return out, nil
	}
	step := float64(f.SampleRate) / SampleRate
	var out []int16
	// Positions are relative to this frame; -1 is the previous frame's last sample.
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
	return out, nil
}
