package roomio

import (
	"math"

	"github.com/livekit/media-sdk"
)

// opusRate is the rate Opus decodes to and the track encodes from.
const opusRate = 48000

// The SDK's tracks resample with soxr, which measured about 20 ms of delay
// per pass on this loopback (two passes in each direction with a 16 kHz
// agent and client). For rates that divide 48 kHz the room converts itself,
// with a short windowed-sinc FIR (under half a millisecond of delay).

// firTaps returns a low-pass filter for resampling by an integer factor k
// at the high rate: cutoff at 0.45 of the low rate, Hamming window, unity
// gain at DC.
func firTaps(k int) []float64 {
	n := 12*k + 1
	fc := 0.45 / float64(k) // cycles per sample at the high rate
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
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(math.Round(v))
}

// downsampler divides the rate by an integer factor; it keeps the filter's
// history across calls. One stream, one goroutine.
type downsampler struct {
	k     int
	taps  []float64
	hist  []float64 // the last len(taps) input samples, oldest first
	phase int       // input samples since the last output
}

func newDownsampler(k int) *downsampler {
	t := firTaps(k)
	return &downsampler{k: k, taps: t, hist: make([]float64, len(t))}
}

// firstOut is the index, in the next input, of the sample that the next
// output sample stands for: where its phase completes, less the filter's
// delay (half its length, linear phase). Negative: an earlier input.
func (d *downsampler) firstOut() int {
	return d.k - 1 - d.phase - (len(d.taps)-1)/2
}

func (d *downsampler) process(in []int16) []int16 {
	out := make([]int16, 0, len(in)/d.k+1)
	n := len(d.hist)
	for _, s := range in {
		copy(d.hist, d.hist[1:])
		d.hist[n-1] = float64(s)
		d.phase++
		if d.phase < d.k {
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

// upsampler multiplies the rate by an integer factor (polyphase FIR).
type upsampler struct {
	k    int
	taps []float64
	hist []float64 // the last ceil(len(taps)/k) input samples, oldest first
}

func newUpsampler(k int) *upsampler {
	t := firTaps(k)
	return &upsampler{k: k, taps: t, hist: make([]float64, (len(t)+k-1)/k)}
}

func (u *upsampler) process(in []int16) []int16 {
	out := make([]int16, 0, len(in)*u.k)
	m := len(u.hist)
	for _, s := range in {
		copy(u.hist, u.hist[1:])
		u.hist[m-1] = float64(s)
		for p := range u.k {
			var acc float64
			for q := 0; p+q*u.k < len(u.taps); q++ {
				acc += u.taps[p+q*u.k] * u.hist[m-1-q]
			}
			out = append(out, clamp16(acc*float64(u.k)))
		}
	}
	return out
}

// upsampleSink brings 10 ms chunks at the TTS rate to 48 kHz before the
// track, which then encodes them without resampling.
type upsampleSink struct {
	sink pcmSink
	up   *upsampler // used by the output's feeder alone, under its lock
}

func (s *upsampleSink) WriteSample(p media.PCM16Sample) error {
	return s.sink.WriteSample(s.up.process(p))
}

func (s *upsampleSink) ClearQueue() { s.sink.ClearQueue() }
