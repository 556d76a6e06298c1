package main

import (
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/livekit-go/agents/internal/simuser"
	"github.com/livekit-go/agents/plugins/flite"
	"github.com/livekit-go/agents/session"
)

// firstAudibleFrame is the index of the first 20 ms frame a user hears
// (simuser's measure), in 16 kHz mono audio.
func firstAudibleFrame(pcm []int16) int {
	for i := 0; i+320 <= len(pcm); i += 320 {
		if simuser.Audible(pcm[i : i+320]) {
			return i / 320
		}
	}
	return -1
}

func speak(t *testing.T, tts session.TTS, text string) []int16 {
	t.Helper()
	s, err := tts.Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if err := s.PushText(text); err != nil {
		t.Fatal(err)
	}
	if err := s.EndInput(); err != nil {
		t.Fatal(err)
	}
	var pcm []int16
	for {
		a, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return pcm
		}
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, a.Frame.Data...)
	}
}

// The agent's voice starts at its first sound: flite leads every
// utterance with about 200 ms of near-silence, which the agent's TTS
// (loadSpeech) trims to the 10 ms before the sound, so the first 20 ms
// frame a user hears is the first or second, not the tenth.
func TestAgentVoiceStartsAtItsFirstSound(t *testing.T) {
	liveSpeech(t)
	sp, err := loadSpeech(envOf(nil), discardLog())
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	raw, err := flite.New()
	if err != nil {
		t.Fatal(err)
	}
	const text = "The time in Tokyo is Monday 21:30 JST."
	before, after := speak(t, raw, text), speak(t, sp.tts, text)
	b, a := firstAudibleFrame(before), firstAudibleFrame(after)
	t.Logf("first audible 20 ms frame: %d (%d ms) from flite, %d (%d ms) from the agent's TTS; %d ms trimmed",
		b, 20*b, a, 20*a, (len(before)-len(after))/16)
	if b < 5 {
		t.Fatalf("flite's first audible frame is %d: the lead-in this test is about is gone", b)
	}
	if a < 0 || a > 1 {
		t.Errorf("the agent's first audible frame is %d, want 0 or 1", a)
	}
	cut := len(before) - len(after)
	if cut <= 0 || cut > 300*16 {
		t.Errorf("%d samples trimmed, want some and at most 300 ms", cut)
	}
	// Only the lead-in went: what follows the first sound is as long, and
	// as often audible, as flite's. (Flite's slt voice is not sample-exact
	// from one run to the next; audio.TrimLeadingSilence's own tests check
	// sample by sample.)
	if d := (len(before) - 320*b) - (len(after) - 320*a); d < -320 || d > 320 {
		t.Errorf("from the first sound on, the agent's audio is %d samples shorter than flite's, want within one frame", d)
	}
	// Flite's audio varies from one synthesis to the next: the same text
	// through the same TTS twice gave 165 to 169 audible frames over 30
	// calls, so two draws differ by up to 4. A cut inside the reply takes a
	// word, 15 or more frames.
	if nb, na := audibleFrames(before), audibleFrames(after); na < nb-5 || na > nb+5 {
		t.Errorf("%d audible frames from the agent's TTS, %d from flite: trimmed inside the reply?", na, nb)
	}
}

func audibleFrames(pcm []int16) int {
	n := 0
	for i := 0; i+320 <= len(pcm); i += 320 {
		if simuser.Audible(pcm[i : i+320]) {
			n++
		}
	}
	return n
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
