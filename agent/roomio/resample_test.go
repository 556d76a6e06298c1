package roomio

import (
	"math"
	"testing"

	"github.com/livekit-go/agents/agent/roomio/internal/tonespeech"
)

func TestResamplersKeepATone(t *testing.T) {
	for _, k := range []int{2, 3, 6} {
		low := 48000 / k
		tone := tonespeech.Tone(200e6, low) // 200 ms of 440 Hz at the low rate
		up := newUpsampler(k)
		var high []int16
		for i := 0; i < len(tone); i += low / 100 { // 10 ms chunks, as the output hands them
			high = append(high, up.process(tone[i:min(i+low/100, len(tone))])...)
		}
		if len(high) != len(tone)*k {
			t.Errorf("k=%d: upsampled %d samples to %d, want %d", k, len(tone), len(high), len(tone)*k)
		}
		down := newDownsampler(k)
		var back []int16
		for i := 0; i < len(high); i += 480 {
			back = append(back, down.process(high[i:min(i+480, len(high))])...)
		}
		if len(back) != len(tone) {
			t.Errorf("k=%d: round trip gave %d samples, want %d", k, len(back), len(tone))
		}
		// Past the filters' warm-up the level is the tone's.
		in, up2, out := tonespeech.RMS(tone[len(tone)/2:]), tonespeech.RMS(high[len(high)/2:]), tonespeech.RMS(back[len(back)/2:])
		if math.Abs(up2-in)/in > 0.02 || math.Abs(out-in)/in > 0.02 {
			t.Errorf("k=%d: RMS %0.f, after upsampling %0.f, after the round trip %0.f", k, in, up2, out)
		}
	}
}

func TestDownsamplerRejectsAliases(t *testing.T) {
	// 15 kHz at 48 kHz would fold to 1 kHz at 16 kHz: the filter removes it.
	tone := make([]int16, 48000/5)
	for i := range tone {
		tone[i] = int16(10000 * math.Sin(2*math.Pi*15000*float64(i)/48000))
	}
	out := newDownsampler(3).process(tone)
	if r := tonespeech.RMS(out[len(out)/2:]); r > 300 {
		t.Errorf("15 kHz leaks through at RMS %.0f of 7071", r)
	}
}
