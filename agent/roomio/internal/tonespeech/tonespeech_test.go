package tonespeech

import (
	"testing"

	"github.com/livekit-go/agents/internal/loudness"
	"github.com/livekit-go/agents/internal/simuser"
)

// The tone the simulated user speaks is voice to the tone VAD (whose
// Threshold is the user's voice level by construction: both are
// internal/loudness's).
func TestToneIsAboveTheVoiceLevel(t *testing.T) {
	if r := loudness.RMS(Tone(100e6, simuser.Rate)); r <= Threshold {
		t.Errorf("a tone's RMS %.0f is not above Threshold %.0f", r, float64(Threshold))
	}
}
