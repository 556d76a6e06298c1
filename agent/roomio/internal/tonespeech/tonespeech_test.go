package tonespeech

import (
	"testing"

	"github.com/livekit-go/agents/internal/simuser"
)

// The tone VAD hears speech where the simulated user's voice is loud, so
// the end of voice the user measures is the end the VAD can see.
func TestThresholdIsTheUsersVoiceLevel(t *testing.T) {
	if Threshold != simuser.VoiceRMS {
		t.Errorf("Threshold = %v, simuser.VoiceRMS = %v", Threshold, simuser.VoiceRMS)
	}
	if r := RMS(Tone(100e6, simuser.Rate)); r <= Threshold {
		t.Errorf("a tone's RMS %.0f is not above Threshold", r)
	}
}
