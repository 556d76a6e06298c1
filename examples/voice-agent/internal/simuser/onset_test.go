package simuser

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// level returns n samples of a 300 Hz tone at dbfs.
func level(dbfs float64, n int) []int16 {
	a := 32768 * math.Pow(10, dbfs/20) * math.Sqrt2 // RMS of a sine is peak/√2
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(a * math.Sin(2*math.Pi*300*float64(i)/Rate))
	}
	return out
}

// A quiet lead-in (flite's, about -65 dBFS) is not heard, however early
// it arrives: the onset is the first 20 ms frame at or above AudibleDBFS,
// found across pieces of any size, and a run ends QuietGap after the last
// audible frame.
func TestOnsetsHearOnlyAudibleFrames(t *testing.T) {
	frame := Rate / 50
	var stream []int16
	stream = append(stream, make([]int16, 2*frame)...) // 0-40 ms digital silence
	stream = append(stream, level(-65, 10*frame)...)   // 40-240 ms lead-in
	stream = append(stream, level(-20, 10*frame)...)   // 240-440 ms speech
	stream = append(stream, level(-65, 30*frame)...)   // 440-1040 ms quiet again
	o := NewOnsets(Rate)
	t0 := time.Unix(0, 0)
	var starts, ends []time.Duration
	piece := 333 // not a multiple of the frame
	for i := 0; i < len(stream); i += piece {
		end := min(i+piece, len(stream))
		at := t0.Add(time.Duration(end) * time.Second / Rate) // when its last sample arrived
		s, e := o.Push(stream[i:end], at)
		if s {
			starts = append(starts, at.Sub(t0).Round(time.Millisecond))
		}
		if e {
			ends = append(ends, at.Sub(t0).Round(time.Millisecond))
		}
	}
	// The first audible frame, 240-260 ms, completes in the piece that
	// ends at 264 ms (samples 12321-12654); the last, 420-440 ms, is followed by 400 ms of quiet
	// that the piece ending at 846 ms completes.
	if diff := cmp.Diff(starts, []time.Duration{264 * time.Millisecond}); diff != "" {
		t.Errorf("onsets (-got +want):\n%s", diff)
	}
	if len(ends) != 1 || ends[0] < 840*time.Millisecond || ends[0] > 870*time.Millisecond {
		t.Errorf("ends %v, want one about 440 ms + %v", ends, QuietGap)
	}
	if o.Sounding() {
		t.Error("still sounding after the gap")
	}
}

func TestAudible(t *testing.T) {
	for _, tc := range []struct {
		dbfs float64
		want bool
	}{{-70, false}, {-55, false}, {-49, true}, {-10, true}} {
		if got := Audible(level(tc.dbfs, 960)); got != tc.want {
			t.Errorf("%v dBFS: audible %v, want %v", tc.dbfs, got, tc.want)
		}
	}
	if Audible(nil) {
		t.Error("no samples are audible")
	}
}
