package audio

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
)

// scriptTTS gives each stream the next script: its frames, then end (nil
// for io.EOF).
type scriptTTS struct {
	scripts [][]session.SynthesizedAudio
	end     error
}

func (t *scriptTTS) Stream(context.Context) (session.TTSStream, error) {
	s := &scriptStream{frames: t.scripts[0], end: t.end}
	t.scripts = t.scripts[1:]
	return s, nil
}

type scriptStream struct {
	frames []session.SynthesizedAudio
	end    error
}

func (s *scriptStream) PushText(string) error { return nil }
func (s *scriptStream) Flush() error          { return nil }
func (s *scriptStream) EndInput() error       { return nil }
func (s *scriptStream) Close() error          { return nil }
func (s *scriptStream) Recv() (session.SynthesizedAudio, error) {
	if len(s.frames) == 0 {
		if s.end != nil {
			return session.SynthesizedAudio{}, s.end
		}
		return session.SynthesizedAudio{}, io.EOF
	}
	a := s.frames[0]
	s.frames = s.frames[1:]
	return a, nil
}

const rate = 16000

// pcm is n ms of a 200 Hz tone at dbfs (RMS), mono 16 kHz.
func pcm(dbfs float64, ms int) []int16 {
	a := 32768 * math.Pow(10, dbfs/20) * math.Sqrt2
	out := make([]int16, ms*rate/1000)
	for i := range out {
		out[i] = int16(a * math.Sin(2*math.Pi*200*float64(i)/rate))
	}
	return out
}

// frames cuts samples into 20 ms frames of one segment (text), the last
// marked SegmentEnd when end is set.
func frames(text string, end bool, parts ...[]int16) []session.SynthesizedAudio {
	var all []int16
	for _, p := range parts {
		all = append(all, p...)
	}
	var out []session.SynthesizedAudio
	for len(all) > 0 {
		n := min(320, len(all))
		out = append(out, session.SynthesizedAudio{Text: text,
			Frame: session.AudioFrame{Data: all[:n:n], SampleRate: rate, NumChannels: 1, SamplesPerChannel: n}})
		all = all[n:]
	}
	out[len(out)-1].SegmentEnd = end
	return out
}

// collect reads a stream to its end: the audio, the segments' texts in
// order with how many samples each got, and the error that ended it.
type segOut struct {
	Text    string
	Samples int
	Ended   bool
}

func collect(t *testing.T, tts session.TTS) (audio []int16, segs []segOut, err error) {
	t.Helper()
	s, err := tts.Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	newSeg := true
	for {
		a, err := s.Recv()
		if err != nil {
			return audio, segs, err
		}
		f := a.Frame
		if f.SamplesPerChannel*max(f.NumChannels, 1) != len(f.Data) {
			t.Fatalf("frame fields disagree: %d per channel, %d channels, %d samples", f.SamplesPerChannel, f.NumChannels, len(f.Data))
		}
		audio = append(audio, f.Data...)
		if newSeg || segs[len(segs)-1].Text != a.Text {
			segs = append(segs, segOut{Text: a.Text})
		}
		newSeg = a.SegmentEnd
		segs[len(segs)-1].Samples += f.SamplesPerChannel
		segs[len(segs)-1].Ended = a.SegmentEnd
	}
}

func trimmed(t *testing.T, tts session.TTS, opts ...TrimOption) session.TTS {
	t.Helper()
	w, err := TrimLeadingSilence(tts, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// The near-silence before a reply's first sound goes, all but 10 ms;
// everything from there on is as the engine made it, the pause inside the
// reply and the second segment included.
func TestTrimStartsAtTheFirstSound(t *testing.T) {
	lead, speech, pause := pcm(-65, 200), pcm(-20, 100), pcm(-65, 300)
	first := frames("One.", true, lead, speech, pause, speech)
	second := frames("Two.", true, pcm(-65, 200), speech)
	tts := trimmed(t, &scriptTTS{scripts: [][]session.SynthesizedAudio{append(first, second...)}})
	audio, segs, err := collect(t, tts)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("end: %v, want io.EOF", err)
	}
	keep := 10 * rate / 1000
	var want []int16
	want = append(want, lead[len(lead)-keep:]...)
	want = append(want, speech...)
	want = append(want, pause...)
	want = append(want, speech...)
	want = append(want, pcm(-65, 200)...)
	want = append(want, speech...)
	if diff := cmp.Diff(audio, want); diff != "" {
		t.Errorf("audio differs from the input less all but 10 ms of the lead-in (%d samples, want %d)", len(audio), len(want))
	}
	wantSegs := []segOut{{"One.", keep + (100+300+100)*rate/1000, true}, {"Two.", 300 * rate / 1000, true}}
	if diff := cmp.Diff(segs, wantSegs); diff != "" {
		t.Errorf("segments (-got +want):\n%s", diff)
	}
}

// A sound that starts inside a frame is cut at the 5 ms window where it
// starts, the frame split there.
func TestTrimCutsInsideAFrame(t *testing.T) {
	in := frames("x", true, pcm(-70, 45), pcm(-10, 35))
	audio, _, _ := collect(t, trimmed(t, &scriptTTS{scripts: [][]session.SynthesizedAudio{in}}, WithTrimKeep(5*time.Millisecond)))
	// The sound starts at 45 ms, in the window 45-50 ms: 5 ms are kept
	// before it, 40-45 ms.
	if got, want := len(audio), 40*rate/1000; got != want {
		t.Errorf("%d samples, want %d (5 ms kept + 35 ms of sound)", got, want)
	}
}

// However long the near-silence, no more than the bound is removed.
func TestTrimIsBounded(t *testing.T) {
	in := frames("x", true, pcm(-65, 1000), pcm(-20, 100))
	audio, _, _ := collect(t, trimmed(t, &scriptTTS{scripts: [][]session.SynthesizedAudio{in}}))
	if got, want := len(audio), (1100-300)*rate/1000; got != want {
		t.Errorf("%d samples, want %d: 1.1 s less the 300 ms bound", got, want)
	}
}

// A first segment with no sound at all keeps its last 10 ms and its end,
// so its text still reaches the transcript; trimming is over then, and
// the next segment's own lead-in stays.
func TestTrimKeepsASilentSegment(t *testing.T) {
	in := append(frames("...", true, pcm(-70, 100)), frames("Hi.", true, pcm(-65, 100), pcm(-20, 60))...)
	_, segs, _ := collect(t, trimmed(t, &scriptTTS{scripts: [][]session.SynthesizedAudio{in}}))
	want := []segOut{{"...", 10 * rate / 1000, true}, {"Hi.", 160 * rate / 1000, true}}
	if diff := cmp.Diff(segs, want); diff != "" {
		t.Errorf("segments (-got +want):\n%s", diff)
	}
}

// Each stream is a reply and starts at its own first sound.
func TestTrimEveryStream(t *testing.T) {
	reply := func() []session.SynthesizedAudio { return frames("x", true, pcm(-65, 200), pcm(-20, 100)) }
	tts := trimmed(t, &scriptTTS{scripts: [][]session.SynthesizedAudio{reply(), reply()}})
	for i := range 2 {
		audio, _, _ := collect(t, tts)
		if got, want := len(audio), 110*rate/1000; got != want {
			t.Errorf("stream %d: %d samples, want %d", i, got, want)
		}
	}
}

// Interleaved stereo at 48 kHz is measured across both channels and cut
// on a sample of both.
func TestTrimStereo(t *testing.T) {
	quiet, loud := pcm(-65, 100), pcm(-20, 20)
	var data []int16
	for _, v := range append(quiet, loud...) {
		data = append(data, v, v) // 16 kHz samples, each twice: 32 kHz stereo-ish is enough
	}
	f := session.AudioFrame{Data: data, SampleRate: 16000, NumChannels: 2, SamplesPerChannel: len(data) / 2}
	audio, _, _ := collect(t, trimmed(t, &scriptTTS{scripts: [][]session.SynthesizedAudio{{{Frame: f, SegmentEnd: true}}}}))
	if got, want := len(audio), 2*30*rate/1000; got != want {
		t.Errorf("%d samples, want %d (two channels of 10 ms kept and 20 ms of sound)", got, want)
	}
}

// A stream that ends before any sound gives its last 10 ms and io.EOF; an
// error ends the stream as it is.
func TestTrimStreamEnds(t *testing.T) {
	audio, _, err := collect(t, trimmed(t, &scriptTTS{scripts: [][]session.SynthesizedAudio{frames("x", false, pcm(-70, 100))}}))
	if !errors.Is(err, io.EOF) || len(audio) != 10*rate/1000 {
		t.Errorf("quiet stream: %d samples, %v; want 10 ms and io.EOF", len(audio), err)
	}
	boom := errors.New("boom")
	_, _, err = collect(t, trimmed(t, &scriptTTS{scripts: [][]session.SynthesizedAudio{frames("x", false, pcm(-70, 40))}, end: boom}))
	if !errors.Is(err, boom) {
		t.Errorf("error: %v, want boom", err)
	}
}

func TestTrimOptions(t *testing.T) {
	for _, tc := range []struct {
		opt  TrimOption
		want string
	}{
		{WithTrimThreshold(3), "trim threshold"},
		{WithTrimKeep(0), "trim keep"},
		{WithTrimMax(0), "trim max"},
		{WithTrimKeep(time.Second), "trim keep 1s is more than trim max"},
	} {
		if _, err := TrimLeadingSilence(&scriptTTS{}, tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one naming %q", err, tc.want)
		}
	}
	if _, err := TrimLeadingSilence(nil); err == nil {
		t.Error("nil TTS: no error")
	}
}
