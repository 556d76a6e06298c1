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
