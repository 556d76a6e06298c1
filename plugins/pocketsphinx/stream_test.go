package pocketsphinx

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
)

func newSTT(t *testing.T, opts ...Option) *STT {
	t.Helper()
	s, err := NewSTT(opts...)
	if err != nil {
		newDecoder(t, opts...) // skips or fails the way the other tests do
		t.Fatal(err)
	}
	return s
}

// TestSTTStream drives the session adapter as the turn loop does: 48 kHz
// frames pushed on one goroutine, Recv on another, EndInput at the end.
func TestSTTStream(t *testing.T) {
	stt := newSTT(t, WithGrammar("#JSGF V1.0; grammar g; public <s> = turn (on | off) the (kitchen | bedroom) lights;"))
	st, err := stt.Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	type ev struct {
		Type session.SpeechEventType
		Text string
	}
	got := make(chan []ev, 1)
	go func() { // exits at io.EOF, after EndInput below
		var evs []ev
		for {
			e, err := st.Recv()
			if err != nil {
				if err != io.EOF {
					t.Errorf("Recv: %v", err)
				}
				got <- evs
				return
			}
			if e.Type == session.SpeechInterim {
				e.Text = "" // how many interims and what they say varies
			}
			if n := len(evs); n == 0 || evs[n-1] != (ev{e.Type, e.Text}) {
				evs = append(evs, ev{e.Type, e.Text})
			}
		}
	}()
	// The first sentence ends in silence; the second is cut off, so only
	// EndInput's flush finalizes it.
	first := say(t, "turn on the kitchen lights")
	second := say(t, "turn off the bedroom lights")
	pcm := append(first, second[:len(second)-SampleRate]...)
	for i := 0; i+160 <= len(pcm); i += 160 {
		f := session.AudioFrame{SampleRate: 48000, NumChannels: 1, SamplesPerChannel: 480, Data: make([]int16, 480)}
		for j := range 480 {
			f.Data[j] = pcm[i+j/3]
		}
		if err := st.Push(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.EndInput(); err != nil {
		t.Fatal(err)
	}
	want := []ev{
		{session.SpeechStarted, ""}, {session.SpeechInterim, ""}, {session.SpeechFinal, "turn on the kitchen lights"}, {session.SpeechEnded, ""},
		{session.SpeechStarted, ""}, {session.SpeechInterim, ""}, {session.SpeechFinal, "turn off the bedroom lights"}, {session.SpeechEnded, ""},
	}
	if diff := cmp.Diff(<-got, want); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
	if err := st.Push(session.NewSilence(10*time.Millisecond, 16000, 1)); err == nil {
		t.Error("Push after EndInput succeeded")
	}
}

func TestSTTStreamCancel(t *testing.T) {
	stt := newSTT(t, WithKeywords(Keyword{Phrase: "hello there"}))
	ctx, cancel := context.WithCancel(t.Context())
	st, err := stt.Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { // exits when Recv returns, at cancel
		_, err := st.Recv()
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Recv after cancel: %v, want context.Canceled", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := st.Flush(); err == nil {
		t.Error("Flush after Close succeeded")
	}
	if _, err := NewSTT(WithGrammar("#JSGF V1.0; grammar g; public <s> = blorptastic;")); err == nil {
		t.Error("NewSTT accepted a grammar with an unknown word")
	}
}
