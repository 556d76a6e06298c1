package pocketsphinx

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/livekit-go/agents/plugins/flite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newDecoder skips without the model, except in CI, where a missing engine
// is a failure.
func newDecoder(tb testing.TB, opts ...Option) *Decoder {
	tb.Helper()
	d, err := New(opts...)
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		tb.Skipf("%v (scripts/setup.sh installs it)", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// say is what every test here hears: flite's voice, with silence around it
// so pocketsphinx's voice detector sees the utterance begin and end.
func say(tb testing.TB, text string) []int16 {
	tb.Helper()
	tts, err := flite.New()
	if err != nil {
		tb.Fatal(err)
	}
	pcm, err := tts.Synthesize(tb.Context(), text)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]int16, SampleRate/2, len(pcm)+2*SampleRate)
	out = append(out, pcm...)
	return append(out, make([]int16, SampleRate)...)
}

// decode pushes pcm in 20 ms frames, as a room track would, and returns the
// events plus a final result from Flush if the utterance was still open.
func decode(tb testing.TB, d *Decoder, pcm []int16) []Event {
	tb.Helper()
	var evs []Event
	for len(pcm) > 0 {
		n := min(320, len(pcm))
		e, err := d.Process(pcm[:n])
		if err != nil {
			tb.Fatal(err)
		}
		evs = append(evs, e...)
		pcm = pcm[n:]
	}
	return evs
}

func finals(evs []Event) []string {
	var out []string
	for _, e := range evs {
		if e.Type == Final {
			out = append(out, e.Text)
		}
	}
	return out
}

func TestKeywordsHeard(t *testing.T) {
	d := newDecoder(t, WithKeywordList("kitchen lights\ngarage door /1e-30/\n# not said:\nweather forecast\nfront door"))
	evs := decode(t, d, say(t, "Close the garage door and turn on the kitchen lights."))
	t.Logf("events: %+v", evs)
	// Spotted phrases come in the order they were said.
	if diff := cmp.Diff(finals(evs), []string{"garage door kitchen lights"}); diff != "" {
		t.Errorf("finals (-got +want):\n%s", diff)
	}
	evs = decode(t, d, say(t, "Book a table for two at seven tonight."))
	if diff := cmp.Diff(finals(evs), []string{""}); diff != "" {
		t.Errorf("no keyword said: finals (-got +want):\n%s", diff)
	}
}

func TestGrammar(t *testing.T) {
	const jsgf = `#JSGF V1.0;
grammar lights;
public <cmd> = turn (on | off) the (kitchen | bedroom | garage) lights;
`
	d := newDecoder(t, WithGrammar(jsgf))
	for _, want := range []string{"turn off the bedroom lights", "turn on the garage lights"} {
		evs := decode(t, d, say(t, want))
		t.Logf("events: %+v", evs)
		if diff := cmp.Diff(finals(evs), []string{want}); diff != "" {
			t.Errorf("finals (-got +want):\n%s", diff)
		}
	}
}

func TestInterimThenFinal(t *testing.T) {
	d := newDecoder(t)
	evs := decode(t, d, say(t, "What is the weather like today?"))
	var types []EventType
	for _, e := range evs {
		if len(types) == 0 || types[len(types)-1] != e.Type {
			types = append(types, e.Type)
		}
	}
	if diff := cmp.Diff(types, []EventType{SpeechStarted, Interim, Final}); diff != "" {
		t.Errorf("event order (-got +want):\n%s", diff)
	}
}

func TestLanguageModel(t *testing.T) {
	d := newDecoder(t)
	evs := decode(t, d, say(t, "What is the weather like today?"))
	t.Logf("events: %+v", evs)
	types := map[EventType]int{}
	for _, e := range evs {
		types[e.Type]++
	}
	if types[SpeechStarted] != 1 || types[Final] != 1 || types[Interim] == 0 {
		t.Errorf("event counts %v, want one start, interims, one final", types)
	}
	got := strings.Join(finals(evs), " ")
	if !strings.Contains(got, "weather") {
		t.Errorf("final %q: want it to contain %q", got, "weather")
	}
}

func TestFlushEndsUtterance(t *testing.T) {
	d := newDecoder(t, WithGrammar("#JSGF V1.0; grammar g; public <s> = (yes | no) please;"))
	pcm := say(t, "yes please")
	pcm = pcm[:len(pcm)-SampleRate] // no trailing silence: only Flush ends it
	evs := decode(t, d, pcm)
	if got := finals(evs); len(got) != 0 {
		t.Fatalf("final before Flush: %q", got)
	}
	ev, err := d.Flush()
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != Final || ev.Text != "yes please" {
		t.Errorf("Flush = %+v, want final %q", ev, "yes please")
	}
	if ev, err := d.Flush(); err != nil || ev.Text != "" {
		t.Errorf("second Flush = %+v, %v; want empty final", ev, err)
	}
}

func TestErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		opts []Option
		want string
	}{
		"unknown keyword":  {[]Option{WithKeywords(Keyword{Phrase: "blorptastic widget"})}, `word "blorptastic" is not in the dictionary`},
		"grammar syntax":   {[]Option{WithGrammar("#JSGF V1.0; grammar g; public <s> = (a | ;")}, "pocketsphinx: grammar:"},
		"grammar and kws":  {[]Option{WithGrammar("x"), WithKeywords(Keyword{Phrase: "yes"})}, "pick one"},
		"bad threshold":    {[]Option{WithKeywords(Keyword{Phrase: "yes", Threshold: 2})}, "threshold"},
		"no model":         {[]Option{WithModelDir("/nonexistent")}, "not installed"},
		"odd args":         {[]Option{WithArgs("-beam")}, "name/value"},
		"empty grammar":    {[]Option{WithGrammar(" ")}, "grammar: empty"},
		"keyword list":     {[]Option{WithKeywordList("yes /abc/")}, "line 1: threshold"},
		"bad keyword char": {[]Option{WithKeywords(Keyword{Phrase: "a/b"})}, "not allowed"},
	} {
		_, err := New(tc.opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", name, err, tc.want)
		}
	}
}

func TestClosed(t *testing.T) {
	d, err := New(WithKeywords(Keyword{Phrase: "hello"}))
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := d.Process(make([]int16, 320)); !errors.Is(err, ErrClosed) {
		t.Errorf("Process after Close: %v", err)
	}
	if _, err := d.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
}

// TestDecodersInParallel: one decoder per goroutine is the contract; the
// race detector and the results check nothing global is shared unsafely.
func TestDecodersInParallel(t *testing.T) {
	const jsgf = "#JSGF V1.0; grammar g; public <s> = turn (on | off) the lights;"
	pcm := say(t, "turn off the lights")
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			d, err := New(WithGrammar(jsgf))
			if err != nil {
				t.Error(err)
				return
			}
			defer d.Close()
			var got []string
			rest := pcm // not decode(): t.Fatal must not run off the test goroutine
			for len(rest) > 0 {
				n := min(320, len(rest))
				evs, err := d.Process(rest[:n])
				if err != nil {
					t.Error(err)
					return
				}
				got = append(got, finals(evs)...)
				rest = rest[n:]
			}
			if diff := cmp.Diff(got, []string{"turn off the lights"}); diff != "" {
				t.Errorf("finals (-got +want):\n%s", diff)
			}
		})
	}
	wg.Wait()
}

func TestParseKeywords(t *testing.T) {
	got, err := ParseKeywords("# comment\n  Kitchen   LIGHTS \n\ngarage door /1e-10/\nfront door/1e-5/\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []Keyword{{"kitchen lights", DefaultKeywordThreshold}, {"garage door", 1e-10}, {"front door", 1e-5}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("ParseKeywords (-got +want):\n%s", diff)
	}
	if got, want := FormatKeywords(want), "kitchen lights /1e-30/\ngarage door /1e-10/\nfront door /1e-05/\n"; got != want {
		t.Errorf("FormatKeywords = %q, want %q", got, want)
	}
	for _, bad := range []string{"", "# only a comment", "a /1e-5", "a /0/", "a /NaN/", "/1e-5/", "a /1/ /2/"} {
		if kws, err := ParseKeywords(bad); err == nil {
			t.Errorf("ParseKeywords(%q) = %v, want error", bad, kws)
		}
	}
}

// FuzzParseKeywords: keyword lists come from users; parsing must never
// panic, and whatever it accepts must survive a format/parse round trip.
func FuzzParseKeywords(f *testing.F) {
	for _, s := range []string{"kitchen lights", "a /1e-20/\nb", "# x\n\n", "a //", "a /1e-400/", "\x00/", "x /-1/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kws, err := ParseKeywords(s)
		if err != nil {
			return
		}
		again, err := ParseKeywords(FormatKeywords(kws))
		if err != nil {
			t.Fatalf("round trip of %q: %v", FormatKeywords(kws), err)
		}
		if diff := cmp.Diff(again, kws); diff != "" {
			t.Fatalf("round trip (-got +want):\n%s", diff)
		}
	})
}

// FuzzDecoder pushes arbitrary bytes as PCM, in arbitrary frame sizes, into
// a grammar decoder: it must not crash and must keep its event order.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte{}, uint16(320))
	f.Add(make([]byte, 8000), uint16(1))
	f.Add([]byte("\xff\x7f\x00\x80\xff\x7f\x00\x80"), uint16(7))
	d := newDecoder(f, WithGrammar("#JSGF V1.0; grammar g; public <s> = (yes | no) [please];"))
	f.Fuzz(func(t *testing.T, raw []byte, frame uint16) {
		pcm := make([]int16, len(raw)/2)
		for i := range pcm {
			pcm[i] = int16(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
		}
		step := int(frame%4096) + 1
		for len(pcm) > 0 {
			n := min(step, len(pcm))
			if _, err := d.Process(pcm[:n]); err != nil {
				t.Fatal(err)
			}
			pcm = pcm[n:]
		}
		if _, err := d.Flush(); err != nil {
			t.Fatal(err)
		}
	})
}

// BenchmarkPocketsphinxRTF reports seconds of audio decoded per wall
// second, for the three kinds of search.
func BenchmarkPocketsphinxRTF(b *testing.B) {
	pcm := say(b, "Close the garage door and turn on the kitchen lights.")
	for _, bc := range []struct {
		name string
		opts []Option
	}{
		{"lm", nil},
		{"grammar", []Option{WithGrammar("#JSGF V1.0; grammar g; public <s> = (open | close) the (garage | front) door and turn (on | off) the kitchen lights;")}},
		{"keywords", []Option{WithKeywordList("kitchen lights\ngarage door")}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := newDecoder(b, bc.opts...)
			b.ReportAllocs()
			var samples int
			start := time.Now()
			for b.Loop() {
				for i := 0; i+320 <= len(pcm); i += 320 {
					if _, err := d.Process(pcm[i : i+320]); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := d.Flush(); err != nil {
					b.Fatal(err)
				}
				samples += len(pcm) / 320 * 320
			}
			b.ReportMetric(float64(samples)/SampleRate/time.Since(start).Seconds(), "rtf")
		})
	}
}
