package silero

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSegmenterRules drives the threshold logic with made-up raw
// probabilities (no model), one per 32 ms window.
func TestSegmenterRules(t *testing.T) {
	const W = WindowSize
	type seg struct{ Type, Start, End, At int64 }
	rep := func(p float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = p
		}
		return out
	}
	join := func(ps ...[]float64) []float64 {
		var out []float64
		for _, p := range ps {
			out = append(out, p...)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		opts  []Option
		probs []float64
		want  []seg
	}{
		{"silence", nil, rep(0, 50), nil},
		{
			// 2 windows reach 50 ms; 18 windows reach 550 ms of silence.
			"one segment", nil,
			join(rep(0, 10), rep(1, 20), rep(0, 30)),
			[]seg{{int64(StartOfSpeech), 10 * W, 0, 12 * W}, {int64(EndOfSpeech), 10 * W, 30 * W, 48 * W}},
		},
		{
			// A single speech window is not 50 ms of speech.
			"blip", nil, join(rep(0, 5), rep(1, 1), rep(0, 20)), nil,
		},
		{
			// A pause shorter than min silence does not split the segment.
			"short pause", nil,
			join(rep(1, 10), rep(0, 10), rep(1, 10), rep(0, 20)),
			[]seg{{int64(StartOfSpeech), 0, 0, 2 * W}, {int64(EndOfSpeech), 0, 30 * W, 48 * W}},
		},
		{
			// Between deactivation (0.35) and activation: keeps speech
			// going once started, does not start it.
			"hysteresis", nil,
			join(rep(0.4, 10), rep(1, 5), rep(0.4, 30), rep(0, 20)),
			[]seg{{int64(StartOfSpeech), 10 * W, 0, 12 * W}, {int64(EndOfSpeech), 10 * W, 45 * W, 63 * W}},
		},
		{
			"custom durations",
			[]Option{WithMinSpeechDuration(200 * time.Millisecond), WithMinSilenceDuration(100 * time.Millisecond)},
			join(rep(1, 10), rep(0, 5)),
			[]seg{{int64(StartOfSpeech), 0, 0, 7 * W}, {int64(EndOfSpeech), 0, 10 * W, 14 * W}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaultConfig()
			for _, o := range tc.opts {
				if err := o(&cfg); err != nil {
					t.Fatal(err)
				}
			}
			s := newSegmenter(&cfg)
			// Feed the filter's fixed point so the test states raw
			// probabilities as steps: smoothing is tested separately.
			var got []seg
			win := make([]int16, W)
			for _, p := range tc.probs {
				s.filtered, s.primed = p, true
				for _, e := range s.window(win, p, nil) {
					if e.Type != Inference {
						got = append(got, seg{int64(e.Type), e.SpeechStart, e.SpeechEnd, e.At})
					}
				}
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("events (-got +want):\n%s", diff)
			}
		})
	}
}

func TestSegmenterSpeakingFlag(t *testing.T) {
	cfg := defaultConfig()
	s := newSegmenter(&cfg)
	win := make([]int16, WindowSize)
	var got []bool
	for _, p := range []float64{1, 1, 1} {
		s.filtered, s.primed = p, true
		got = append(got, s.window(win, p, nil)[0].Speaking)
	}
	// 50 ms of speech is reached in the second window.
	if diff := cmp.Diff(got, []bool{false, true, true}); diff != "" {
		t.Errorf("Speaking after each window (-got +want):\n%s", diff)
	}
}

func TestSegmenterSmoothing(t *testing.T) {
	cfg := defaultConfig()
	s := newSegmenter(&cfg)
	win := make([]int16, WindowSize)
	var got []float64
	for _, p := range []float64{0, 1, 1} {
		evs := s.window(win, p, nil)
		got = append(got, evs[0].Probability)
	}
	want := []float64{0, 0.65, 0.65 + 0.35*0.65}
	if diff := cmp.Diff(got, want, cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })); diff != "" {
		t.Errorf("smoothed (-got +want):\n%s", diff)
	}
}

func TestSegmenterPaddingAndCap(t *testing.T) {
	cfg := defaultConfig()
	cfg.prefixPad = 64 * time.Millisecond // 2 windows
	cfg.maxBuffered = 128 * time.Millisecond
	s := newSegmenter(&cfg)
	mk := func(v int16) []int16 {
		w := make([]int16, WindowSize)
		for i := range w {
			w[i] = v
		}
		return w
	}
	var evs []Event
	for i := range 5 { // silence windows 0..4
		s.filtered, s.primed = 0, true
		evs = s.window(mk(int16(i)), 0, evs)
	}
	for i := 5; i < 15; i++ { // speech windows 5..14
		s.filtered = 1
		evs = s.window(mk(int16(i)), 1, evs)
	}
	var start Event
	for _, e := range evs {
		if e.Type == StartOfSpeech {
			start = e
		}
	}
	if start.Type == 0 {
		t.Fatal("no start of speech")
	}
	if start.AudioStart != 3*WindowSize || start.Audio[0] != 3 {
		t.Errorf("start audio begins at %d with window %d, want window 3 (two of padding)", start.AudioStart, start.Audio[0])
	}
	for i := 15; i < 40; i++ {
		s.filtered = 0
		evs = s.window(mk(int16(i)), 0, evs)
	}
	end := evs[len(evs)-1]
	for _, e := range evs {
		if e.Type == EndOfSpeech {
			end = e
		}
	}
	if end.Type != EndOfSpeech {
		t.Fatal("no end of speech")
	}
	if got, want := len(end.Audio), 2*WindowSize+4*WindowSize; got != want {
		t.Errorf("end audio = %d samples, want %d (padding + max buffered)", got, want)
	}
}

// The end of the voice is the end of the last block loud enough to be
// voice among the speech's last 320 ms, not where the probability fell
// (Silero's stays high after the voice stops). Windows here are 32 ms of
// a constant level (RMS) with a made-up probability, each pushed alone:
// blocks of 20 and 12 ms.
func TestSegmenterVoiceEndIsTheLastLoudBlock(t *testing.T) {
	const W = WindowSize
	type win struct {
		rms  int16
		prob float64
		n    int
	}
	for _, tc := range []struct {
		name string
		wins []win
		want int64 // VoiceEnd
	}{
		// Loud to the end of window 12, the probability high 3 windows
		// more: the voice ends with the loud audio.
		{"hangover", []win{{0, 0, 2}, {3000, 1, 10}, {10, 1, 3}, {0, 0, 20}}, 12 * W},
		// A voice that ends inside a window ends with the block that
		// holds its last loud sample (the window's first 20 ms).
		{"inside a window", []win{{0, 0, 2}, {3000, 1, 10}, {-1, 1, 1}, {10, 1, 2}, {0, 0, 20}}, 12*W + voiceBlock},
		// A quiet voice (-40 dBFS) counts from 20 dB under its loudest.
		{"quiet voice", []win{{0, 0, 2}, {330, 1, 10}, {10, 1, 3}, {0, 0, 20}}, 12 * W},
		// Speech that goes on quietly for longer than the look-back
		// (a soft tail Silero still calls speech) keeps Silero's end.
		{"long quiet tail", []win{{0, 0, 2}, {3000, 1, 10}, {100, 1, 12}, {0, 0, 20}}, 24 * W},
		// Noise as loud as the voice to the end: Silero's end.
		{"loud to the end", []win{{0, 0, 2}, {3000, 1, 10}, {3000, 0, 20}}, 12 * W},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaultConfig()
			s := newSegmenter(&cfg)
			var evs []Event
			for _, w := range tc.wins {
				for range w.n {
					pcm := make([]int16, W)
					for i := range pcm {
						v := w.rms
						if w.rms == -1 { // loud for 250 samples, then quiet
							v = 10
							if i < 250 {
								v = 3000
							}
						}
						if i%2 == 1 {
							v = -v
						}
						pcm[i] = v
					}
					s.measure(pcm)
					s.filtered, s.primed = w.prob, true
					evs = s.window(pcm, w.prob, evs)
				}
			}
			var end *Event
			for i := range evs {
				if evs[i].Type == EndOfSpeech {
					end = &evs[i]
				}
			}
			if end == nil {
				t.Fatal("no end of speech")
			}
			if end.VoiceEnd != tc.want || end.VoiceEnd > end.SpeechEnd || end.VoiceEnd < end.SpeechStart {
				t.Errorf("voice ends at %d (%v), want %d (%v); speech %d..%d", end.VoiceEnd, Pos(end.VoiceEnd), tc.want, Pos(tc.want), end.SpeechStart, end.SpeechEnd)
			}
		})
	}
}

// What the segmenter keeps to find the end of the voice stays bounded
// however long the silence or the speech: ten minutes of each keep no
// more blocks than the look-back and the minimum silence hold.
func TestSegmenterKeepsLevelsBounded(t *testing.T) {
	cfg := defaultConfig()
	s := newSegmenter(&cfg)
	win := make([]int16, WindowSize)
	bound := int((voiceLookback+cfg.minSilence)/(10*time.Millisecond)) + 8 // blocks of 10 to 20 ms
	for _, p := range []float64{0, 1} {
		for range 10 * 60 * SampleRate / WindowSize {
			s.measure(win)
			s.filtered, s.primed = p, true
			s.window(win, p, nil)
			if n := len(s.levels); n > bound {
				t.Fatalf("probability %v: %d blocks kept at %v, want at most %d", p, n, Pos(s.pos), bound)
			}
		}
	}
}
