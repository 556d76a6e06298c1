package simuser

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/livekit-go/agents/internal/loudness"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
	o := NewOnsets(Rate, Frames, 0)
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
	if got := o.LastLoud().Sub(t0).Round(time.Millisecond); got < 440*time.Millisecond || got > 450*time.Millisecond {
		t.Errorf("last loud at %v, want the piece completing the 420-440 ms frame", got)
	}
	if o.Gaps() != 0 {
		t.Errorf("%d gaps in one unbroken run", o.Gaps())
	}
}

// As agent/roomio's tests hear a tone answer (Sliding, ToneQuietGap, the
// 10 ms pieces the decoder delivers): quiet shorter than the gap inside a
// run is one gap, not a new run; the run ends at the first piece 150 ms
// after the first quiet one.
func TestOnsetsSlidingToneGapAndUnderruns(t *testing.T) {
	piece := Rate / 100
	loud, quiet := level(-13, piece), make([]int16, piece)
	var pieces [][]int16
	add := func(p []int16, n int) {
		for range n {
			pieces = append(pieces, p)
		}
	}
	add(loud, 20)  // 0-200 ms
	add(quiet, 6)  // 200-260 ms: an underrun
	add(loud, 20)  // 260-460 ms
	add(quiet, 40) // 460-860 ms
	o := NewOnsets(Rate, Sliding, ToneQuietGap)
	t0 := time.Unix(0, 0)
	var starts, ends []time.Duration
	for i, p := range pieces {
		at := t0.Add(time.Duration(i+1) * 10 * time.Millisecond)
		s, e := o.Push(p, at)
		if s {
			starts = append(starts, at.Sub(t0))
		}
		if e {
			ends = append(ends, at.Sub(t0))
		}
	}
	// The last loud piece arrives at 460 ms, the first quiet one at 470,
	// and the one arriving 150 ms after it, at 620, ends the run.
	if diff := cmp.Diff(starts, []time.Duration{10 * time.Millisecond}); diff != "" {
		t.Errorf("onsets (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(ends, []time.Duration{620 * time.Millisecond}); diff != "" {
		t.Errorf("ends (-got +want):\n%s", diff)
	}
	if o.Gaps() != 1 {
		t.Errorf("gaps = %d, want 1 (the underrun)", o.Gaps())
	}
	if got := o.LastLoud().Sub(t0); got != 460*time.Millisecond {
		t.Errorf("last loud at %v, want 460ms", got)
	}
}

// Sound that starts in the first half of a 20 ms frame is heard in that
// piece with Sliding, when the frame completes with Frames; a lead-in
// below AudibleDBFS is heard by neither.
func TestOnsetsSlidingHearsInThePiece(t *testing.T) {
	piece := Rate / 100
	pieces := [][]int16{level(-65, piece), level(-65, piece), level(-20, piece), level(-20, piece)}
	for _, tc := range []struct {
		w    Window
		want time.Duration
	}{{Frames, 40 * time.Millisecond}, {Sliding, 30 * time.Millisecond}} {
		o := NewOnsets(Rate, tc.w, 0)
		var starts []time.Duration
		for i, p := range pieces {
			at := time.Duration(i+1) * 10 * time.Millisecond
			if s, _ := o.Push(p, time.Unix(0, 0).Add(at)); s {
				starts = append(starts, at)
			}
		}
		if diff := cmp.Diff(starts, []time.Duration{tc.want}); diff != "" {
			t.Errorf("window %d: onsets (-got +want):\n%s", tc.w, diff)
		}
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

// The user's voice ends below VoiceRMS, -36 dBFS, well above what it
// hears.
func TestVoiceLevel(t *testing.T) {
	if got := 20 * math.Log10(VoiceRMS/32768.0); math.Abs(got-(-36.3)) > 0.1 {
		t.Errorf("VoiceRMS is %.1f dBFS, want -36.3", got)
	}
	if loudness.RMS(level(-40, 960)) > VoiceRMS || loudness.RMS(level(-30, 960)) <= VoiceRMS {
		t.Error("-40 dBFS is voice or -30 dBFS is not")
	}
}
