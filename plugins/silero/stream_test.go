package silero

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/livekit-go/agents/session"
)

// TestStreamAt48k drives the session adapter the way a room does: 48 kHz
// stereo, 10 ms frames, Recv on another goroutine.
func TestStreamAt48k(t *testing.T) {
	v := load(t)
	pcm := concat(make([]int16, SampleRate/2), speech(t, "Hello, can you hear me?"), make([]int16, SampleRate))
	st, err := v.Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []session.VADEventType, 1)
	go func() { // exits after the end of speech, or when Recv fails
		var types []session.VADEventType
		defer func() { got <- types }()
		for {
			e, err := st.Recv()
			if err != nil {
				t.Errorf("Recv: %v", err)
				return
			}
			types = append(types, e.Type)
			if e.Type == session.VADEndOfSpeech {
				if e.SpeechDuration < time.Second || e.SpeechEndedAt.IsZero() {
					t.Errorf("end of speech: %+v", e)
				}
				return
			}
		}
	}()
	for i := 0; i+160 <= len(pcm); i += 160 {
		f := session.AudioFrame{SampleRate: 48000, NumChannels: 2, SamplesPerChannel: 480, Data: make([]int16, 960)}
		for j := range 480 {
			s := pcm[i+j/3]
			f.Data[2*j], f.Data[2*j+1] = s, s
		}
		if err := st.Push(f); err != nil {
			t.Fatal(err)
		}
	}
	want := []session.VADEventType{session.VADStartOfSpeech, session.VADEndOfSpeech}
	if g := <-got; len(g) != 2 || g[0] != want[0] || g[1] != want[1] {
		t.Errorf("events %v, want %v", g, want)
	}
	// Close ends Recv cleanly, whatever was still queued.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != io.EOF {
		t.Errorf("Recv after Close: %v, want io.EOF", err)
	}
	if err := st.Push(session.NewSilence(10*time.Millisecond, 16000, 1)); err == nil {
		t.Error("Push after Close succeeded")
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStreamContextEnds(t *testing.T) {
	v := load(t)
	ctx, cancel := context.WithCancel(t.Context())
	st, err := v.Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	done := make(chan error, 1)
	go func() { // exits when Recv returns, at cancel
		_, err := st.Recv()
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Recv after cancel: %v, want context.Canceled", err)
	}
	if err := st.Push(session.AudioFrame{SampleRate: 16000, NumChannels: 1, SamplesPerChannel: 10}); err == nil {
		t.Error("malformed frame accepted")
	}
}

// voiceEndFrames returns where the voice in pcm ends as a user's
// measurement has it: the end of the last 20 ms frame (counted from the
// start of pcm) whose RMS is above -36 dBFS.
func voiceEndFrames(pcm []int16) int {
	const frame = SampleRate / 50
	end := -1
	for i := 0; i < len(pcm); i += frame {
		j := min(i+frame, len(pcm))
		var sum float64
		for _, v := range pcm[i:j] {
			sum += float64(v) * float64(v)
		}
		if sum/float64(j-i) > 500*500 {
			end = j
		}
	}
	return end
}

// The stream's end of speech is when the voice stopped, on the frames'
// capture times: within one 20 ms frame of the end of the voice measured
// as a user measures it (the last 20 ms above -36 dBFS), for every
// sentence, not where Silero's probability fell below the deactivation
// threshold (60 to 200 ms later) nor at the time the audio was pushed.
// When the capture times jump (the input dropped 300 ms of audio before
// the sentence), the end follows the times, not the count of samples.
func TestStreamEndOfSpeechIsTheEndOfTheVoice(t *testing.T) {
	v := load(t)
	t0 := time.Unix(1000, 0)
	for i, text := range []string{
		"What time is it in Paris right now?", "The quick brown fox jumps over the lazy dog.",
		"Hello, can you hear me?", "Yes.", "Stop.", "Tell me a joke.", "Remind me to buy milk.",
		"Send a message to Alice saying I am late.",
	} {
		voice := speech(t, text)
		lead := SampleRate / 2
		pcm := concat(make([]int16, lead), voice, make([]int16, SampleRate))
		var jump time.Duration
		if i%2 == 1 {
			jump = 300 * time.Millisecond
		}
		stamp := func(pos int) time.Time {
			at := t0.Add(Pos(int64(pos)))
			if pos >= lead/2 {
				at = at.Add(jump)
			}
			return at
		}
		want := stamp(lead + voiceEndFrames(voice))
		st, err := v.Stream(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// 20 ms frames at 48 kHz stereo, as a room gives them, each
		// stamped with when it was spoken.
		for i := 0; i+320 <= len(pcm); i += 320 {
			f := session.AudioFrame{SampleRate: 48000, NumChannels: 2, SamplesPerChannel: 960, Data: make([]int16, 1920),
				CapturedAt: stamp(i)}
			for j := range 960 {
				s := pcm[i+j/3]
				f.Data[2*j], f.Data[2*j+1] = s, s
			}
			if err := st.Push(f); err != nil {
				t.Fatal(err)
			}
		}
		// Push ran the model: the events are queued (read here rather
		// than by Recv, which returns io.EOF once closed).
		var ends []session.VADEvent
		for _, e := range st.(*vadStream).events {
			if e.Type == session.VADEndOfSpeech {
				ends = append(ends, e)
			}
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if len(ends) != 1 {
			t.Errorf("%q: %d ends of speech, want 1", text, len(ends))
			continue
		}
		got := ends[0].SpeechEndedAt
		t.Logf("%-45q voice ends at %v; end of speech %+v off it", text, want.Sub(t0), got.Sub(want))
		if d := got.Sub(want); d.Abs() > 20*time.Millisecond {
			t.Errorf("%q: end of speech %v off the end of the voice, want within one 20 ms frame", text, d)
		}
	}
}
