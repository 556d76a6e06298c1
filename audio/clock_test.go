package audio

import (
	"testing"
	"time"

	"github.com/livekit-go/agents/session"
)

// Each output frame of the resampler carries the capture time of its
// first sample: the stream's start plus the output samples before it, to
// within one input sample, whatever the ratio and however the frames cut
// the groups; a frame with no time gives none, and a jump in the input's
// times (a late packet played after the silence that stood in for it)
// shows in the output.
func TestMonoResamplerCarriesCaptureTime(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct{ from, ch, to, frameLen int }{
		{48000, 2, 16000, 480}, {48000, 1, 16000, 481}, {16000, 1, 16000, 160},
		{44100, 1, 16000, 441}, {22050, 2, 16000, 100}, {8000, 1, 16000, 80},
	} {
		r := NewMonoResampler(tc.to)
		in, out := 0, 0
		tol := time.Second/time.Duration(tc.from) + time.Microsecond
		for i := range 50 {
			f := frame(tc.from, tc.ch, make([]int16, tc.frameLen*tc.ch))
			f.CapturedAt = t0.Add(time.Duration(in) * time.Second / time.Duration(tc.from))
			got, err := r.PushFrame(f)
			if err != nil {
				t.Fatal(err)
			}
			in += tc.frameLen
			if got.SampleRate != tc.to || got.NumChannels != 1 || got.SamplesPerChannel != len(got.Data) {
				t.Fatalf("%d -> %d Hz: frame %+v", tc.from, tc.to, got)
			}
			if len(got.Data) > 0 {
				want := t0.Add(time.Duration(out) * time.Second / time.Duration(tc.to))
				if d := got.CapturedAt.Sub(want); d.Abs() > tol {
					t.Errorf("%d -> %d Hz, frames of %d: frame %d captured %v off the stream's time (want within %v)", tc.from, tc.to, tc.frameLen, i, d, tol)
				}
			}
			out += len(got.Data)
		}
		// A frame whose audio was captured 60 ms before where the stream
		// had got to (it stretched the stream) says so.
		f := frame(tc.from, tc.ch, make([]int16, 4*tc.frameLen*tc.ch))
		f.CapturedAt = t0.Add(time.Duration(in)*time.Second/time.Duration(tc.from) - 60*time.Millisecond)
		got, err := r.PushFrame(f)
		if err != nil {
			t.Fatal(err)
		}
		want := t0.Add(time.Duration(out)*time.Second/time.Duration(tc.to) - 60*time.Millisecond)
		if d := got.CapturedAt.Sub(want); d.Abs() > tol {
			t.Errorf("%d -> %d Hz: after a jump back, %v off (want within %v)", tc.from, tc.to, d, tol)
		}
		f.CapturedAt = time.Time{}
		if got, _ := r.PushFrame(f); !got.CapturedAt.IsZero() {
			t.Errorf("%d -> %d Hz: a frame with no capture time got %v", tc.from, tc.to, got.CapturedAt)
		}
	}
}

// A frame cut by TrimLeadingSilence starts later than the original, and
// its capture time with it.
func TestTrimCarriesCaptureTime(t *testing.T) {
	t0 := time.Unix(1000, 0)
	in := frames("x", true, pcm(-70, 50), pcm(-10, 30))
	for i := range in {
		in[i].Frame.CapturedAt = t0.Add(time.Duration(i) * 20 * time.Millisecond)
	}
	s, err := trimmed(t, &scriptTTS{scripts: [][]session.SynthesizedAudio{in}}, WithTrimKeep(5*time.Millisecond)).Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	// The sound starts at 50 ms, inside the third frame; 5 ms before it
	// are kept.
	if got, want := a.Frame.CapturedAt, t0.Add(45*time.Millisecond); !got.Equal(want) {
		t.Errorf("first frame captured at t0%+v, want t0+45ms", got.Sub(t0))
	}
}

func TestSampleClock(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	c := NewSampleClock(16000)
	if _, ok := c.At(0); ok {
		t.Error("a clock with no mark knows a time")
	}
	c.Mark(0, t0)
	c.Mark(320, t0.Add(ms(20)))              // follows on: no new mark
	c.Mark(640, t0.Add(ms(20)))              // a late packet: 20 ms back
	c.Mark(960, time.Time{})                 // a frame with no time
	c.Mark(1280, t0.Add(ms(60)))             // known again
	c.Mark(1280+160, t0.Add(ms(70)+ms(1)/2)) // within the slack: no new mark
	if got := len(c.marks); got != 4 {
		t.Errorf("%d marks, want 4 (frames that follow on share one)", got)
	}
	for _, tc := range []struct {
		pos  int64
		want time.Duration
		ok   bool
	}{
		{-1, 0, false}, {0, 0, true}, {480, ms(30), true}, {640, ms(20), true}, {800, ms(30), true},
		{960, 0, false}, {1279, 0, false}, {1280, ms(60), true}, {1600, ms(80), true},
	} {
		got, ok := c.At(tc.pos)
		if ok != tc.ok || (ok && got.Sub(t0) != tc.want) {
			t.Errorf("At(%d) = t0%+v, %v; want t0%+v, %v", tc.pos, got.Sub(t0), ok, tc.want, tc.ok)
		}
	}
	c.Forget(700)
	if _, ok := c.At(639); ok {
		t.Error("a forgotten position still has a time")
	}
	if got, ok := c.At(700); !ok || got.Sub(t0) != ms(20)+ms(60)/16 {
		t.Errorf("At(700) after Forget(700) = t0%+v, %v", got.Sub(t0), ok)
	}
}
