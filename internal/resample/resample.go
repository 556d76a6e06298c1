// Package resample converts the simulated user's speech and hearing
// between a speech model's rate (16 kHz: flite, pocketsphinx) and the
// 48 kHz a browser publishes and hears at, by an integer factor.
//
// The SDK's tracks would resample with soxr, which adds tens of
// milliseconds a pass; a short windowed-sinc FIR adds under a millisecond,
// so a latency the user measures is the agent's and the transport's, not
// the user's.
package resample

import "math"

// taps is a low-pass for resampling by factor at the high rate: cutoff at
// 0.45 of the low rate, Hamming window, unity gain at DC.
func taps(factor int) []float64 {
	n := 12*factor + 1
	fc := 0.45 / float64(factor)
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

// Up returns mono pcm at factor times its rate (16 kHz to 48 kHz: factor
// 3): zeros stuffed, then filtered, with the gain kept. It takes one whole
// utterance, so it keeps no state; factor below 1 returns nil.
func Up(pcm []int16, factor int) []int16 {
	if factor < 1 {
		return nil
	}
	if factor == 1 {
		return append([]int16(nil), pcm...)
	}
	h := taps(factor)
	stuffed := make([]float64, len(pcm)*factor+len(h))
	for i, v := range pcm {
		stuffed[i*factor] = float64(v) * float64(factor)
	}
	out := make([]int16, len(pcm)*factor)
	delay := len(h) / 2
	for i := range out {
		var acc float64
		for j, c := range h {
			if k := i + delay - j; k >= 0 && k < len(stuffed) {
				acc += c * stuffed[k]
			}
		}
		out[i] = clamp16(acc)
	}
	return out
}

// Down brings a mono stream down by an integer factor, keeping the
// filter's history across calls. One stream, one goroutine.
type Down struct {
	factor int
	taps   []float64
	hist   []float64 // the last len(taps) input samples, oldest first
	phase  int
}

// NewDown returns a Down by factor (at least 1).
func NewDown(factor int) *Down {
	factor = max(factor, 1)
	t := taps(factor)
	return &Down{factor: factor, taps: t, hist: make([]float64, len(t))}
}

// Process takes the next samples and returns those of the lower rate
// they complete.
func (d *Down) Process(in []int16) []int16 {
	out := make([]int16, 0, len(in)/d.factor+1)
	n := len(d.hist)
	for _, v := range in {
		copy(d.hist, d.hist[1:])
		d.hist[n-1] = float64(v)
		d.phase++
		if d.phase < d.factor {
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
