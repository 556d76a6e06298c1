package silero

import (
	"errors"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/livekit-go/agents/plugins/flite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// load opens the VAD from the environment. Without the model it skips,
// except in CI, where a missing engine is a failure.
func load(tb testing.TB, opts ...Option) *VAD {
	tb.Helper()
	v, err := Load(opts...)
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		tb.Skipf("%v (scripts/setup.sh installs it)", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := v.Close(); err != nil {
			tb.Error(err)
		}
	})
	return v
}

// speech synthesizes text with flite, the audio every test here listens to.
func speech(tb testing.TB, text string) []int16 {
	tb.Helper()
	tts, err := flite.New()
	if err != nil {
		tb.Fatal(err)
	}
	pcm, err := tts.Synthesize(tb.Context(), text)
	if err != nil {
		tb.Fatal(err)
	}
	return pcm
}

// voiced returns the first and last sample whose amplitude passes a
// threshold: where the speech in flite's output really is.
func voiced(pcm []int16) (first, last int) {
	first, last = -1, -1
	for i, s := range pcm {
		if s > 800 || s < -800 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	return first, last
}

func detect(tb testing.TB, v *VAD, pcm []int16, frame int) []Event {
	tb.Helper()
	d, err := v.NewDetector()
	if err != nil {
		tb.Fatal(err)
	}
	defer d.Close()
	var evs []Event
	for len(pcm) > 0 {
		n := min(frame, len(pcm))
		e, err := d.Push(pcm[:n])
		if err != nil {
			tb.Fatal(err)
		}
		evs = append(evs, e...)
		pcm = pcm[n:]
	}
	return append(evs, d.Finish()...)
}

func speechEvents(evs []Event) []Event {
	var out []Event
	for _, e := range evs {
		if e.Type != Inference {
			out = append(out, e)
		}
	}
	return out
}

// TestSegmentsSpeech is the acceptance test: a sentence, one second of
// silence, a sentence, must give exactly two segments whose boundaries sit
// where the voiced audio starts and ends.
func TestSegmentsSpeech(t *testing.T) {
	v := load(t)
	a := speech(t, "The quick brown fox jumps over the lazy dog.")
	b := speech(t, "Please call me back tomorrow morning.")
	lead := make([]int16, SampleRate/2)
	gap := make([]int16, SampleRate)
	tail := make([]int16, SampleRate)
	audio := concat(lead, a, gap, b, tail)

	a0, a1 := voiced(a)
	b0, b1 := voiced(b)
	offA := int64(len(lead))
	offB := int64(len(lead) + len(a) + len(gap))
	want := [][2]int64{{offA + int64(a0), offA + int64(a1)}, {offB + int64(b0), offB + int64(b1)}}

	for _, frame := range []int{160, 320, 512, 1000} { // 10 ms, 20 ms, one window, odd
		evs := speechEvents(detect(t, v, audio, frame))
		if len(evs) != 4 {
			t.Fatalf("frame %d: got %d speech events, want 4 (start, end, start, end): %+v", frame, len(evs), summary(evs))
		}
		t.Logf("frame %d: voiced %v..%v and %v..%v; detected %v..%v and %v..%v", frame,
			Pos(want[0][0]), Pos(want[0][1]), Pos(want[1][0]), Pos(want[1][1]),
			Pos(evs[0].SpeechStart), Pos(evs[1].SpeechEnd), Pos(evs[2].SpeechStart), Pos(evs[3].SpeechEnd))
		for i, w := range want {
			start, end := evs[2*i], evs[2*i+1]
			if start.Type != StartOfSpeech || end.Type != EndOfSpeech {
				t.Fatalf("frame %d: segment %d: types %v, %v", frame, i, start.Type, end.Type)
			}
			// Windows are 32 ms and the score is smoothed: allow 100 ms
			// early (a window straddling the onset) and 150 ms late.
			within(t, "start", Pos(start.SpeechStart), Pos(w[0]), 100*time.Millisecond, 150*time.Millisecond)
			within(t, "end", Pos(end.SpeechEnd), Pos(w[1]), 100*time.Millisecond, 200*time.Millisecond)
			if end.SpeechStart != start.SpeechStart {
				t.Errorf("end.SpeechStart = %d, want %d", end.SpeechStart, start.SpeechStart)
			}
			// The end is decided after min silence; the start after min speech.
			if lag := Pos(end.At - end.SpeechEnd); lag < DefaultMinSilenceDuration || lag > DefaultMinSilenceDuration+64*time.Millisecond {
				t.Errorf("end decided %v after speech end, want min silence %v (+1 window)", lag, DefaultMinSilenceDuration)
			}
			// The end event carries the segment with prefix padding.
			if got, want := end.AudioStart, max(0, start.SpeechStart-int64(DefaultPrefixPadding.Seconds()*SampleRate)); got > want+WindowSize || got < want-WindowSize {
				t.Errorf("AudioStart = %d, want about %d", got, want)
			}
			if n := int64(len(end.Audio)); end.AudioStart+n != end.At {
				t.Errorf("audio ends at %d, want %d", end.AudioStart+n, end.At)
			}
		}
	}
}

func within(t *testing.T, what string, got, want, early, late time.Duration) {
	t.Helper()
	if got < want-early || got > want+late {
		t.Errorf("%s = %v, want %v (-%v/+%v)", what, got, want, early, late)
	}
}

type ev struct {
	Type   string
	At     time.Duration
	Bounds [2]time.Duration
}

func summary(evs []Event) []ev {
	var out []ev
	for _, e := range evs {
		out = append(out, ev{e.Type.String(), Pos(e.At), [2]time.Duration{Pos(e.SpeechStart), Pos(e.SpeechEnd)}})
	}
	return out
}

func concat(parts ...[]int16) []int16 {
	var out []int16
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestSilenceAndNoiseAreNotSpeech(t *testing.T) {
	v := load(t)
	r := rand.New(rand.NewPCG(1, 2))
	noise := make([]int16, 3*SampleRate)
	for i := range noise {
		noise[i] = int16(r.NormFloat64() * 100) // quiet hiss
	}
	for name, pcm := range map[string][]int16{"silence": make([]int16, 3*SampleRate), "hiss": noise} {
		if evs := speechEvents(detect(t, v, pcm, 320)); len(evs) != 0 {
			t.Errorf("%s: %+v, want no speech", name, summary(evs))
		}
	}
}

func TestInferenceEvents(t *testing.T) {
	v := load(t)
	pcm := speech(t, "Hello.")
	d, err := v.NewDetector()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	evs, err := d.Push(pcm)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var maxP float64
	for _, e := range evs {
		if e.Type == Inference {
			n++
			if e.At != int64(n*WindowSize) {
				t.Fatalf("inference %d at %d, want %d", n, e.At, n*WindowSize)
			}
			if e.Probability < 0 || e.Probability > 1 {
				t.Fatalf("probability %v outside [0,1]", e.Probability)
			}
			maxP = max(maxP, e.Probability)
		}
	}
	if n != len(pcm)/WindowSize {
		t.Errorf("inferences = %d, want %d", n, len(pcm)/WindowSize)
	}
	if maxP < 0.9 {
		t.Errorf("max probability on speech = %.2f, want > 0.9", maxP)
	}

	// Reset restarts positions and state: the same audio scores the same.
	d.Reset()
	again, err := d.Push(pcm)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(summary(again), summary(evs)); diff != "" {
		t.Errorf("after Reset (-got +want):\n%s", diff)
	}
}

func TestConcurrentDetectorsShareModel(t *testing.T) {
	v := load(t)
	pcm := concat(make([]int16, SampleRate/2), speech(t, "Testing one two three."), make([]int16, SampleRate))
	want := summary(speechEvents(detect(t, v, pcm, 320)))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got := summary(speechEvents(detect(t, v, pcm, 320)))
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("concurrent detector (-got +want):\n%s", diff)
			}
		})
	}
	wg.Wait()
}

func TestClosed(t *testing.T) {
	v := load(t)
	d, err := v.NewDetector()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Push(make([]int16, WindowSize)); !errors.Is(err, ErrClosed) {
		t.Errorf("Push after VAD.Close: %v, want ErrClosed", err)
	}
	if _, err := v.NewDetector(); !errors.Is(err, ErrClosed) {
		t.Errorf("NewDetector after Close: %v, want ErrClosed", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := d.Push(nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Push after Close: %v, want ErrClosed", err)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(WithModelPath("/nonexistent/silero.onnx"), WithRuntimeLibrary("/nonexistent/lib.so")); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("missing model: %v, want ErrNotInstalled", err)
	}
	for name, opt := range map[string]Option{
		"activation":   WithActivationThreshold(1.5),
		"deactivation": WithDeactivationThreshold(0),
		"min speech":   WithMinSpeechDuration(-1),
		"min silence":  WithMinSilenceDuration(-1),
		"padding":      WithPrefixPadding(-1),
		"max buffered": WithMaxBufferedSpeech(0),
	} {
		if _, err := Load(opt); err == nil || errors.Is(err, ErrNotInstalled) {
			t.Errorf("%s: %v, want an option error", name, err)
		}
	}
	if _, err := Load(WithActivationThreshold(0.3), WithDeactivationThreshold(0.6)); err == nil {
		t.Error("deactivation above activation: no error")
	}
}

// FuzzDetector pushes arbitrary bytes as PCM, in arbitrary frame sizes:
// the detector must not panic, and its events must stay well formed.
func FuzzDetector(f *testing.F) {
	f.Add([]byte{}, uint16(160))
	f.Add(make([]byte, 4096), uint16(1))
	f.Add([]byte("\xff\x7f\x00\x80\xff\x7f\x00\x80"), uint16(513))
	v := load(f)
	f.Fuzz(func(t *testing.T, raw []byte, frame uint16) {
		pcm := make([]int16, len(raw)/2)
		for i := range pcm {
			pcm[i] = int16(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
		}
		evs := detect(t, v, pcm, int(frame)+1)
		speaking := false
		var last int64
		for _, e := range evs {
			if e.At < last || e.At > int64(len(pcm)) {
				t.Fatalf("event at %d after %d (len %d)", e.At, last, len(pcm))
			}
			last = e.At
			switch e.Type {
			case StartOfSpeech:
				if speaking {
					t.Fatal("two starts in a row")
				}
				speaking = true
			case EndOfSpeech:
				if !speaking {
					t.Fatal("end without start")
				}
				if e.SpeechEnd < e.SpeechStart || e.VoiceEnd < e.SpeechStart || e.VoiceEnd > e.SpeechEnd {
					t.Fatalf("segment [%d, %d], voice ends at %d", e.SpeechStart, e.SpeechEnd, e.VoiceEnd)
				}
				speaking = false
			}
		}
		if speaking {
			t.Fatal("speech left open after Finish")
		}
	})
}

// BenchmarkSileroRTF reports seconds of audio scored per wall second for
// one stream (the floor is 50).
func BenchmarkSileroRTF(b *testing.B) {
	v := load(b)
	pcm := concat(speech(b, "The quick brown fox jumps over the lazy dog."), make([]int16, SampleRate))
	d, err := v.NewDetector()
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	b.ReportAllocs()
	var samples int
	start := time.Now()
	for b.Loop() {
		for i := 0; i+320 <= len(pcm); i += 320 { // 20 ms frames, as from a room
			if _, err := d.Push(pcm[i : i+320]); err != nil {
				b.Fatal(err)
			}
			samples += 320
		}
	}
	b.ReportMetric(float64(samples)/SampleRate/time.Since(start).Seconds(), "rtf")
}

// BenchmarkSileroRTFStreams runs one detector per CPU in parallel on the
// shared model and reports the real-time factor of each stream, to show
// how many live streams a machine can carry.
func BenchmarkSileroRTFStreams(b *testing.B) {
	v := load(b)
	pcm := concat(speech(b, "The quick brown fox jumps over the lazy dog."), make([]int16, SampleRate))
	var mu sync.Mutex
	var samples int
	var busy time.Duration
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d, err := v.NewDetector()
		if err != nil {
			b.Error(err)
			return
		}
		defer d.Close()
		n := 0
		start := time.Now()
		for pb.Next() {
			for i := 0; i+320 <= len(pcm); i += 320 {
				if _, err := d.Push(pcm[i : i+320]); err != nil {
					b.Error(err)
					return
				}
				n += 320
			}
		}
		mu.Lock()
		samples += n
		busy += time.Since(start)
		mu.Unlock()
	})
	if busy > 0 {
		b.ReportMetric(float64(samples)/SampleRate/busy.Seconds(), "rtf/stream")
	}
}
