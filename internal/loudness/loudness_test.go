package loudness

import (
	"math"
	"testing"
)

func TestRMS(t *testing.T) {
	if got := RMS(nil); got != 0 {
		t.Errorf("RMS(nil) = %v", got)
	}
	s := make([]int16, 960)
	for i := range s {
		s[i] = int16(10000 * math.Sin(2*math.Pi*float64(i)/48))
	}
	if got, want := RMS(s), 10000/math.Sqrt2; math.Abs(got-want) > 1 {
		t.Errorf("RMS of a sine of amplitude 10000 = %.1f, want %.1f", got, want)
	}
}

// The voice level lies above the audible one, with room for a room's
// noise between them, and each is where its doc says.
func TestLevels(t *testing.T) {
	if got := 20 * math.Log10(VoiceRMS/32768); math.Abs(got-(-36.3)) > 0.05 {
		t.Errorf("VoiceRMS is %.2f dBFS, want about -36.3", got)
	}
	if a := FromDBFS(AudibleDBFS); math.Abs(a-103.6) > 0.1 || a >= VoiceRMS/4 {
		t.Errorf("AudibleDBFS is RMS %.1f, want about 103.6 and well below the voice level", a)
	}
	if got := FromDBFS(0); got != 32768 {
		t.Errorf("FromDBFS(0) = %v, want full scale", got)
	}
}
