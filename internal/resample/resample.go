// Package resample converts mono PCM between a speech model's rate (16 kHz:
// Silero, flite, pocketsphinx, the STT and TTS defaults) and the 48 kHz a
// LiveKit track carries, by an integer factor, with one short windowed-sinc
// FIR. agent/roomio converts the agent's input and output with it (Down,
// Upsampler); the simulated user (internal/simuser) its speech and hearing
// (Up, Down).
//
// The SDK's tracks would resample with soxr, which measured about 20 ms of
// delay a pass on loopback; this FIR adds under half a millisecond, so a
// latency measured in a room is the agent's and the transport's.
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

// FirstOut is the index, in the next input, of the sample that the next
// output sample stands for: where its phase completes, less the filter's
// delay (half its length, linear phase). Negative: an earlier input.
func (d *Down) FirstOut() int {
	return d.factor - 1 - d.phase - (len(d.taps)-1)/2
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

// Upsampler raises a mono stream's rate by an integer factor (polyphase
// FIR), keeping the filter's history across calls: for a stream handed
// over in pieces, where [Up] takes one whole utterance. Its output lags by
// the filter's half length (under half a millisecond). One stream, one
// goroutine.
type Upsampler struct {
	factor int
	taps   []float64
	hist   []float64 // the last ceil(len(taps)/factor) input samples, oldest first
}

// NewUpsampler returns an Upsampler by factor (at least 1).
func NewUpsampler(factor int) *Upsampler {
	factor = max(factor, 1)
	t := taps(factor)
	return &Upsampler{factor: factor, taps: t, hist: make([]float64, (len(t)+factor-1)/factor)}
}

// Process takes the next samples and returns factor times as many.
func (u *Upsampler) Process(in []int16) []int16 {
	out := make([]int16, 0, len(in)*u.factor)
	m := len(u.hist)
	for _, v := range in {
		copy(u.hist, u.hist[1:])
		u.hist[m-1] = float64(v)
		for p := range u.factor {
			var acc float64
			for q := 0; p+q*u.factor < len(u.taps); q++ {
				acc += u.taps[p+q*u.factor] * u.hist[m-1-q]
			}
			out = append(out, clamp16(acc*float64(u.factor)))
		}
	}
	return out
}
