package resample

import (
	"math"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	low    = 16000
	high   = 48000
	factor = high / low
)

func tone(hz float64, rate, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return out
}

func rms(s []int16) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

// Speech-band audio keeps its length ratio and level through the 48 kHz
// round trip; what lies above 8 kHz at 48 kHz is filtered out before it
// could alias into the recognizer's band.
func TestRoundTrip(t *testing.T) {
	in := tone(440, low, low) // 1 s
	up := Up(in, factor)
	if got, want := len(up), 3*len(in); got != want {
		t.Fatalf("upsampled length = %d, want %d", got, want)
	}
	d := NewDown(factor)
	var down []int16
	for i := 0; i < len(up); i += 960 { // 20 ms frames, as the track delivers them
		down = append(down, d.Process(up[i:min(i+960, len(up))])...)
	}
	if got, want := len(down), len(in); got != want {
		t.Fatalf("round-trip length = %d, want %d", got, want)
	}
	for name, s := range map[string][]int16{"up": up[1000 : len(up)-1000], "down": down[400 : len(down)-400]} {
		if r, want := rms(s), rms(in); math.Abs(r-want)/want > 0.05 {
			t.Errorf("%s: RMS %.0f, want %.0f within 5%%", name, r, want)
		}
	}
	hi := NewDown(factor).Process(tone(12000, high, high/2))
	if r := rms(hi[200:]); r > 8000*0.05 {
		t.Errorf("a 12 kHz tone came through at RMS %.0f, want it filtered out", r)
	}
}

func TestEmpty(t *testing.T) {
	if got := Up(nil, factor); len(got) != 0 {
		t.Errorf("Up(nil) = %d samples", len(got))
	}
	if got := NewDown(factor).Process(nil); len(got) != 0 {
		t.Errorf("Process(nil) = %d samples", len(got))
	}
}

// Factor 1 is a copy; a factor below 1 is no audio.
func TestFactorOneAndBelow(t *testing.T) {
	in := tone(440, low, 320)
	if got := Up(in, 1); len(got) != len(in) || &got[0] == &in[0] || got[100] != in[100] {
		t.Errorf("Up(in, 1) is not a copy of in")
	}
	if got := Up(in, 0); got != nil {
		t.Errorf("Up(in, 0) = %d samples, want none", len(got))
	}
}

// The streaming pair, fed in pieces as a room hands them (10 ms to the
// output, 10 ms from the decoder), keeps a tone's length and level both
// ways, for every factor a room uses.
func TestStreamingKeepsATone(t *testing.T) {
	for _, k := range []int{2, 3, 6} {
		lowRate := high / k
		in := tone(440, lowRate, lowRate/5) // 200 ms
		up := NewUpsampler(k)
		var hi []int16
		for i := 0; i < len(in); i += lowRate / 100 {
			hi = append(hi, up.Process(in[i:min(i+lowRate/100, len(in))])...)
		}
		if len(hi) != len(in)*k {
			t.Errorf("k=%d: upsampled %d samples to %d, want %d", k, len(in), len(hi), len(in)*k)
		}
		down := NewDown(k)
		var back []int16
		for i := 0; i < len(hi); i += 480 {
			back = append(back, down.Process(hi[i:min(i+480, len(hi))])...)
		}
		if len(back) != len(in) {
			t.Errorf("k=%d: round trip gave %d samples, want %d", k, len(back), len(in))
		}
		// Past the filters' warm-up the level is the tone's.
		r0, r1, r2 := rms(in[len(in)/2:]), rms(hi[len(hi)/2:]), rms(back[len(back)/2:])
		if math.Abs(r1-r0)/r0 > 0.02 || math.Abs(r2-r0)/r0 > 0.02 {
			t.Errorf("k=%d: RMS %.0f, after upsampling %.0f, after the round trip %.0f", k, r0, r1, r2)
		}
	}
}

// 15 kHz at 48 kHz would fold to 1 kHz at 16 kHz: the filter removes it.
func TestDownRejectsAliases(t *testing.T) {
	out := NewDown(3).Process(tone(15000, high, high/5))
	if r := rms(out[len(out)/2:]); r > 300 {
		t.Errorf("15 kHz leaks through at RMS %.0f of 5657", r)
	}
}

// FirstOut places the next output sample on the input's timeline: with
// the filter's delay, the first output stands for an input before the
// first one (negative), and each output is factor inputs after the last.
func TestDownFirstOut(t *testing.T) {
	d := NewDown(3)
	first := d.FirstOut()
	if want := 3 - 1 - (len(taps(3))-1)/2; first != want {
		t.Errorf("FirstOut before any input = %d, want %d", first, want)
	}
	d.Process(make([]int16, 4)) // one output (after 3), one sample into the next
	if got, want := d.FirstOut(), first-1; got != want {
		t.Errorf("FirstOut after 4 samples = %d, want %d", got, want)
	}
}
