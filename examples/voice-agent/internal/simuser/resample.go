package simuser

import "math"

// The user speaks and hears at 48 kHz, as a browser does, while flite and
// pocketsphinx work at 16 kHz. The SDK's tracks would resample with soxr,
// which adds tens of milliseconds a pass; a short windowed-sinc FIR by the
// integer factor 3 adds under a millisecond, so the latency the user
// measures is the agent's, not the user's.

const factor = Rate / SpeechRate

// firTaps is a low-pass for resampling by factor at the high rate: cutoff
// at 0.45 of the low rate, Hamming window, unity gain at DC.
func firTaps() []float64 {
	n := 12*factor + 1
	fc := 0.45 / factor
	h := make([]float64, n)
	var sum float64
	mid := float64(n-1) / 2
	for i := range h {
		x := float64(i) - mid
		v := 2 * fc
		if x != 0 {
			v = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		v *= 0.54 - 0.46*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		h[i] = v
		sum += v
	}
	for i := range h {
		h[i] /= sum
	}
	return h
}

func clamp16(v float64) int16 {
	return int16(math.Round(max(math.MinInt16, min(math.MaxInt16, v))))
}

// upsample returns pcm (16 kHz) at 48 kHz: zeros stuffed, then filtered
// (gain factor to keep the level). One whole utterance, so no state.
func upsample(pcm []int16) []int16 {
	taps := firTaps()
	stuffed := make([]float64, len(pcm)*factor+len(taps))
	for i, v := range pcm {
		stuffed[i*factor] = float64(v) * factor
	}
	out := make([]int16, len(pcm)*factor)
	delay := len(taps) / 2
	for i := range out {
		var acc float64
		for j, h := range taps {
			if k := i + delay - j; k >= 0 && k < len(stuffed) {
				acc += h * stuffed[k]
			}
		}
		out[i] = clamp16(acc)
	}
	return out
}

// downsampler brings a 48 kHz stream to 16 kHz, keeping the filter's
// history across calls. One stream, one goroutine.
type downsampler struct {
	taps  []float64
	hist  []float64 // the last len(taps) input samples, oldest first
	phase int
}

func newDownsampler() *downsampler {
	t := firTaps()
	return &downsampler{taps: t, hist: make([]float64, len(t))}
}

func (d *downsampler) process(in []int16) []int16 {
	out := make([]int16, 0, len(in)/factor+1)
	n := len(d.hist)
	for _, v := range in {
		copy(d.hist, d.hist[1:])
		d.hist[n-1] = float64(v)
		d.phase++
		if d.phase < factor {
			continue
		}
		d.phase = 0
		var acc float64
		for j, h := range d.taps {
			acc += h * d.hist[n-1-j]
		}
		out = append(out, clamp16(acc))
	}
	return out
}
