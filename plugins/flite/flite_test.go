package flite

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func rms(pcm []int16) float64 {
	var s float64
	for _, v := range pcm {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(len(pcm), 1)))
}

func TestSynthesizeSentence(t *testing.T) {
	for _, v := range []Voice{VoiceSLT, VoiceKAL16} {
		t.Run(string(v), func(t *testing.T) {
			tts, err := New(WithVoice(v))
			if err != nil {
				t.Fatal(err)
			}
			pcm, err := tts.Synthesize(t.Context(), "The weather in Paris is sunny today.")
			if err != nil {
				t.Fatal(err)
			}
			// About two seconds of speech; anything outside 1-5 s means the
			// sample rate or the voice is wrong.
			d := time.Duration(len(pcm)) * time.Second / SampleRate
			if d < time.Second || d > 5*time.Second {
				t.Errorf("duration = %v, want 1s..5s", d)
			}
			if r := rms(pcm); r < 300 {
				t.Errorf("rms = %.0f, want audible speech (> 300)", r)
			}
		})
	}
}

func TestSpeedShortens(t *testing.T) {
	normal, err := New()
	if err != nil {
		t.Fatal(err)
	}
	fast, err := New(WithSpeed(2))
	if err != nil {
		t.Fatal(err)
	}
	const text = "Counting slowly from one to ten."
	a, err := normal.Synthesize(t.Context(), text)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fast.Synthesize(t.Context(), text)
	if err != nil {
		t.Fatal(err)
	}
	if ratio := float64(len(b)) / float64(len(a)); ratio < 0.35 || ratio > 0.7 {
		t.Errorf("fast/normal length = %.2f, want about 0.5", ratio)
	}
}

func TestOptionsErrors(t *testing.T) {
	for name, opt := range map[string]Option{
		"voice": WithVoice("nope"),
		"speed": WithSpeed(0),
		"nan":   WithSpeed(math.NaN()),
	} {
		if _, err := New(opt); err == nil {
			t.Errorf("%s: New succeeded, want error", name)
		}
	}
}

func TestSentencesStream(t *testing.T) {
	tts, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for c, err := range tts.Sentences(t.Context(), "Hello there. How are you today? Fine!") {
		if err != nil {
			t.Fatal(err)
		}
		if len(c.PCM) == 0 {
			t.Errorf("%q: no audio", c.Text)
		}
		got = append(got, c.Text)
	}
	want := []string{"Hello there.", "How are you today?", "Fine!"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("sentences (-got +want):\n%s", diff)
	}

	// Stopping early must not call yield again.
	n := 0
	for range tts.Sentences(t.Context(), "One. Two. Three.") {
		n++
		break
	}
	if n != 1 {
		t.Errorf("iterations after break = %d, want 1", n)
	}
}

func TestCanceledContext(t *testing.T) {
	tts, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := tts.Synthesize(ctx, "Never spoken."); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	tts, err := New()
	if err != nil {
		t.Fatal(err)
	}
	kal, err := New(WithVoice(VoiceKAL16))
	if err != nil {
		t.Fatal(err)
	}
	want, err := tts.Synthesize(t.Context(), "Same words every time.")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			if i%2 == 1 {
				if _, err := kal.Synthesize(t.Context(), "Another voice."); err != nil {
					t.Error(err)
				}
				return
			}
			got, err := tts.Synthesize(t.Context(), "Same words every time.")
			if err != nil {
				t.Error(err)
				return
			}
			if len(got) != len(want) {
				t.Errorf("len = %d, want %d (synthesis must be deterministic)", len(got), len(want))
			}
		})
	}
	wg.Wait()
}

func TestSplitSentences(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hi.", []string{"Hi."}},
		{"Dr. Who? Yes!", []string{"Dr.", "Who?", "Yes!"}},
		{"3.14 is pi. ok", []string{"3.14 is pi.", "ok"}},
		{"Wait ... what", []string{"Wait ...", "what"}},
		{"... start", []string{"start"}},
		{"para one\n\npara two", []string{"para one", "para two"}},
	} {
		got := SplitSentences(tc.in)
		if diff := cmp.Diff(got, tc.want); diff != "" {
			t.Errorf("SplitSentences(%q) (-got +want):\n%s", tc.in, diff)
		}
	}
}

func TestClean(t *testing.T) {
	got := Clean("  a\x00b\tc\n\n d\xff\x01e  ")
	if want := "ab c de"; got != want {
		t.Errorf("Clean = %q, want %q", got, want)
	}
}

// FuzzSynthesize feeds arbitrary text (as an LLM or a user might send) to
// the splitter, the cleaner and flite itself: none may panic or crash.
func FuzzSynthesize(f *testing.F) {
	for _, s := range []string{"Hello.", "", "\x00", "1,000,000 dollars!", "a.b.c. ? ! ;;", "日本語", "$%^&*()", "e.g. Mr. Smith"} {
		f.Add(s)
	}
	tts, err := New(WithVoice(VoiceKAL16))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 200 {
			s = s[:200]
		}
		for _, p := range SplitSentences(s) {
			if p == "" {
				t.Fatalf("empty sentence from %q", s)
			}
		}
		c := Clean(s)
		if !utf8Valid(c) {
			t.Fatalf("Clean(%q) = %q: invalid UTF-8", s, c)
		}
		if _, err := tts.Synthesize(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	})
}

// BenchmarkFliteRTF reports the real-time factor (seconds of audio made per
// wall second) for each voice; a ratio, so it compares across machines.
func BenchmarkFliteRTF(b *testing.B) {
	const text = "Thanks for calling. Your order will arrive on Tuesday between nine and eleven in the morning."
	for _, v := range []Voice{VoiceSLT, VoiceKAL16} {
		b.Run(string(v), func(b *testing.B) {
			tts, err := New(WithVoice(v))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			samples := 0
			start := time.Now()
			for b.Loop() {
				pcm, err := tts.Synthesize(b.Context(), text)
				if err != nil {
					b.Fatal(err)
				}
				samples += len(pcm)
			}
			audio := float64(samples) / SampleRate
			b.ReportMetric(audio/time.Since(start).Seconds(), "rtf")
		})
	}
}

func utf8Valid(s string) bool { return utf8.ValidString(s) }
