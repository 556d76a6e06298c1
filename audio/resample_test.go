package audio

import (
	"math"
	"strings"
	"testing"

	"github.com/livekit-go/agents/session"
)

func frame(rate, ch int, samples []int16) session.AudioFrame {
	return session.AudioFrame{Data: samples, SampleRate: rate, NumChannels: ch, SamplesPerChannel: len(samples) / ch}
}

func sine(rate int, hz float64, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(10000 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return s
}

// The number of samples out matches the rate ratio over a stream of frames,
// for integer and non-integer ratios and frames that split groups.
func TestMonoResamplerLength(t *testing.T) {
	for _, tc := range []struct{ from, to, frameLen int }{
		{48000, 16000, 480}, {48000, 16000, 481}, {32000, 16000, 320},
		{16000, 16000, 160}, {44100, 16000, 441}, {22050, 16000, 100}, {8000, 16000, 80},
	} {
		r := NewMonoResampler(tc.to)
		in, out := 0, 0
		for range 100 {
			got, err := r.Push(frame(tc.from, 1, sine(tc.from, 440, tc.frameLen)))
			if err != nil {
				t.Fatal(err)
			}
			in += tc.frameLen
			out += len(got)
		}
		want := float64(in) * float64(tc.to) / float64(tc.from)
		if math.Abs(float64(out)-want) > 2 {
			t.Errorf("%d -> %d Hz in frames of %d: %d samples out, want %.0f", tc.from, tc.to, tc.frameLen, out, want)
		}
	}
}

// A tone keeps its level and frequency (zero crossings) through the
// conversion, and stereo is mixed down.
func TestMonoResamplerKeepsTheTone(t *testing.T) {
	const from, to, hz = 48000, 16000, 300
	mono := sine(from, hz, from) // 1 s
	stereo := make([]int16, 2*len(mono))
	for i, s := range mono {
		stereo[2*i], stereo[2*i+1] = s, s
	}
	out, err := NewMonoResampler(to).Push(frame(from, 2, stereo))
	if err != nil {
		t.Fatal(err)
	}
	crossings, peak := 0, 0
	for i := 1; i < len(out); i++ {
		if (out[i-1] < 0) != (out[i] < 0) {
			crossings++
		}
		peak = max(peak, int(out[i]))
	}
	if crossings < 2*hz-4 || crossings > 2*hz+4 {
		t.Errorf("zero crossings = %d, want about %d (a %d Hz tone for 1 s)", crossings, 2*hz, hz)
	}
	if peak < 9000 || peak > 10000 {
		t.Errorf("peak = %d, want about 10000", peak)
	}
}

func TestMonoResamplerErrors(t *testing.T) {
	r := NewMonoResampler(16000)
	if _, err := r.Push(frame(48000, 1, make([]int16, 480))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    session.AudioFrame
		want string
	}{
		{frame(16000, 1, make([]int16, 160)), "sample rate changed from 48000 to 16000 Hz"},
		{session.AudioFrame{Data: make([]int16, 10), SampleRate: 48000, NumChannels: 1, SamplesPerChannel: 20}, "malformed frame"},
		{session.AudioFrame{SampleRate: 0, SamplesPerChannel: 1, Data: []int16{1}}, "malformed frame"},
	} {
		if _, err := r.Push(tc.f); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Push(%+v) error = %v, want %q", tc.f, err, tc.want)
		}
	}
	if _, err := NewMonoResampler(0).Push(frame(16000, 1, []int16{1})); err == nil {
		t.Error("a zero target rate was accepted")
	}
}

// Any frame either converts or is rejected with an error; nothing panics.
func FuzzMonoResampler(f *testing.F) {
	f.Add(48000, 2, 480, 16000, []byte{1, 2, 3, 4})
	f.Add(44100, 1, 3, 16000, []byte{0xff, 0x7f})
	f.Fuzz(func(t *testing.T, rate, ch, n, to int, data []byte) {
		if to <= 0 || to > 192000 || rate > 1<<20 || n > 1<<16 {
			t.Skip()
		}
		samples := make([]int16, len(data)/2)
		for i := range samples {
			samples[i] = int16(data[2*i]) | int16(data[2*i+1])<<8
		}
		r := NewMonoResampler(to)
		for range 2 {
			_, _ = r.Push(session.AudioFrame{Data: samples, SampleRate: rate, NumChannels: ch, SamplesPerChannel: n})
		}
	})
}

// A constant signal stays that constant at every rate, and stereo channels
// are averaged.
func TestMonoResamplerConstantAndMix(t *testing.T) {
	for _, rate := range []int{16000, 48000, 44100, 24000, 8000} {
		r := NewMonoResampler(16000)
		var out []int16
		for range 100 { // one second in 10 ms frames
			n := rate / 100
			stereo := make([]int16, 2*n)
			for i := range n {
				stereo[2*i], stereo[2*i+1] = 1500, 500
			}
			pcm, err := r.Push(frame(rate, 2, stereo))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, pcm...)
		}
		for i, s := range out {
			if s != 1000 {
				t.Fatalf("%d Hz: sample %d = %d, want the channels' mean 1000", rate, i, s)
			}
		}
	}
}
