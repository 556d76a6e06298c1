package roomio

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/livekit/media-sdk"

	"github.com/livekit-go/agents/session"
)

// fakeSink records what the output hands the track.
type fakeSink struct {
	mu      sync.Mutex
	written int // chunks
	clears  int
}

func (s *fakeSink) WriteSample(media.PCM16Sample) error {
	s.mu.Lock()
	s.written++
	s.mu.Unlock()
	return nil
}

func (s *fakeSink) ClearQueue() {
	s.mu.Lock()
	s.clears++
	s.mu.Unlock()
}

func (s *fakeSink) counts() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written, s.clears
}

func frame(d time.Duration) session.AudioFrame {
	return session.NewSilence(d, 16000, 1)
}

// capture hands d of audio to o in 20 ms frames.
func capture(t *testing.T, o *audioOutput, d time.Duration) {
	t.Helper()
	for range d / (20 * time.Millisecond) {
		if err := o.CaptureFrame(t.Context(), frame(20*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOutputPlaysWholeSegment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &fakeSink{}
		o := newAudioOutput(sink, 16000, 1)
		defer o.close()
		start := time.Now()
		capture(t, o, 500*time.Millisecond)
		o.Flush()
		got, err := o.WaitForPlayout(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, session.PlaybackResult{Position: 500 * time.Millisecond}); diff != "" {
			t.Errorf("result (-got +want):\n%s", diff)
		}
		if w, _ := sink.counts(); w != 50 {
			t.Errorf("chunks written = %d, want 50", w)
		}
		// Paced: playout takes as long as the audio.
		if el := time.Since(start); el < 500*time.Millisecond {
			t.Errorf("played 500 ms in %v", el)
		}
	})
}

func TestOutputClearStopsAtPosition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &fakeSink{}
		o := newAudioOutput(sink, 16000, 1)
		defer o.close()
		capture(t, o, 800*time.Millisecond) // a second fits in the queue
		time.Sleep(300 * time.Millisecond)
		synctest.Wait()
		if p := o.PlaybackPosition(); p != 300*time.Millisecond {
			t.Errorf("position = %v, want 300ms", p)
		}
		o.ClearBuffer()
		if _, clears := sink.counts(); clears != 1 {
			t.Errorf("track cleared %d times, want 1", clears)
		}
		// Frames of the cut segment are dropped until Flush.
		capture(t, o, 100*time.Millisecond)
		o.ClearBuffer() // already cut: nothing more to do
		o.Flush()
		got, err := o.WaitForPlayout(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, session.PlaybackResult{Position: 300 * time.Millisecond, Interrupted: true}); diff != "" {
			t.Errorf("result (-got +want):\n%s", diff)
		}
		// The next segment is not cut.
		o.ClearBuffer()
		capture(t, o, 100*time.Millisecond)
		o.Flush()
		got, _ = o.WaitForPlayout(t.Context())
		if diff := cmp.Diff(got, session.PlaybackResult{Position: 100 * time.Millisecond}); diff != "" {
			t.Errorf("next segment (-got +want):\n%s", diff)
		}
	})
}

func TestOutputClearAfterFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newAudioOutput(&fakeSink{}, 16000, 1)
		defer o.close()
		capture(t, o, 600*time.Millisecond)
		o.Flush()
		res := make(chan session.PlaybackResult, 1)
		go func() {
			r, _ := o.WaitForPlayout(context.Background())
			res <- r
		}()
		time.Sleep(200 * time.Millisecond)
		o.ClearBuffer()
		got := <-res
		if diff := cmp.Diff(got, session.PlaybackResult{Position: 200 * time.Millisecond, Interrupted: true}); diff != "" {
			t.Errorf("result (-got +want):\n%s", diff)
		}
	})
}

func TestOutputPauseHoldsAudio(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &fakeSink{}
		o := newAudioOutput(sink, 16000, 1)
		defer o.close()
		capture(t, o, 500*time.Millisecond)
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		o.Pause()
		w1, _ := sink.counts()
		time.Sleep(time.Second)
		synctest.Wait()
		if w2, _ := sink.counts(); w2 != w1 {
			t.Errorf("%d chunks written while paused", w2-w1)
		}
		o.Resume()
		o.Flush()
		got, _ := o.WaitForPlayout(t.Context())
		if diff := cmp.Diff(got, session.PlaybackResult{Position: 500 * time.Millisecond}); diff != "" {
			t.Errorf("result (-got +want):\n%s", diff)
		}
		// All 50 chunks, and again the 10 of the lead that the pause took
		// back from the track before they played.
		if w, _ := sink.counts(); w != 60 {
			t.Errorf("chunks written = %d, want all 50 and the 10 of the lead again", w)
		}
	})
}

// A pause (the user starts talking over the agent) stops the voice at once,
// as ClearBuffer does: the lead the track holds is taken back from it, not
// left to play for up to outputLead, and the position is what was heard.
// Resume plays it then, from there.
func TestOutputPauseStopsTheVoiceAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &fakeSink{}
		o := newAudioOutput(sink, 16000, 1)
		defer o.close()
		capture(t, o, 500*time.Millisecond)
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		o.Pause()
		if _, clears := sink.counts(); clears != 1 {
			t.Errorf("the track's queue was cleared %d times at the pause, want once", clears)
		}
		if pos := o.PlaybackPosition(); pos != 100*time.Millisecond {
			t.Errorf("position at the pause %v, want the 100 ms heard", pos)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if pos := o.PlaybackPosition(); pos != 100*time.Millisecond {
			t.Errorf("position after a second paused %v, want still 100 ms", pos)
		}
		o.Resume()
		o.Flush()
		got, _ := o.WaitForPlayout(t.Context())
		if diff := cmp.Diff(got, session.PlaybackResult{Position: 500 * time.Millisecond}); diff != "" {
			t.Errorf("result (-got +want):\n%s", diff)
		}
	})
}

func TestOutputCaptureBlocksWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newAudioOutput(&fakeSink{}, 16000, 1)
		defer o.close()
		start := time.Now()
		capture(t, o, 3*time.Second)
		// Three seconds were accepted with at most a second queued and the
		// lead handed to the track: the producer waited for the rest to play.
		if el := time.Since(start); el < 3*time.Second-maxQueued-outputLead-20*time.Millisecond { // one frame of slack: the queue is checked per frame
			t.Errorf("3 s captured after %v, want the producer paced", el)
		}
		o.Flush()
		_, _ = o.WaitForPlayout(t.Context())
	})
}

func TestOutputEmptyFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newAudioOutput(&fakeSink{}, 16000, 1)
		defer o.close()
		o.ClearBuffer() // nothing queued: nothing to do
		o.Flush()
		got, err := o.WaitForPlayout(t.Context())
		if err != nil || got != (session.PlaybackResult{}) {
			t.Errorf("WaitForPlayout = %+v, %v; want zero at once", got, err)
		}
	})
}

func TestConvert(t *testing.T) {
	stereo48 := session.AudioFrame{Data: []int16{100, 300, 100, 300, 100, 300}, SampleRate: 48000, NumChannels: 2, SamplesPerChannel: 3}
	if diff := cmp.Diff(convert(stereo48, 16000, 1), []int16{200}); diff != "" {
		t.Errorf("48k stereo to 16k mono (-got +want):\n%s", diff)
	}
	mono := session.AudioFrame{Data: []int16{1, 2}, SampleRate: 16000, NumChannels: 1, SamplesPerChannel: 2}
	if diff := cmp.Diff(convert(mono, 16000, 2), []int16{1, 1, 2, 2}); diff != "" {
		t.Errorf("mono to stereo (-got +want):\n%s", diff)
	}
}
