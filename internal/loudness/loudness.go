// Package loudness holds the two levels this module measures speech by,
// and the RMS they are measured with, so that the agent's VAD, the trim of
// a TTS's lead-in, the simulated user and the web page agree.
//
//   - [VoiceRMS] (-36 dBFS): a 20 ms frame at or above it is voice. The
//     user's end of speech is the end of its last such frame, measured
//     where it is spoken (internal/simuser's microphone) and where it is
//     heard (plugins/silero's end of speech, agent/roomio's tone VAD).
//     Speech from a browser microphone sits near -20 to -30 dBFS;
//     noise-suppressed room noise below -50.
//   - [AudibleDBFS] (-50 dBFS): a 20 ms frame at or above it is heard.
//     Latencies are measured to the first such frame of an answer
//     (internal/simuser, the web page's AUDIBLE_DBFS), and a TTS's lead-in
//     below it is trimmed (audio.TrimLeadingSilence). Flite's lead-in sits
//     near -65 dBFS, its speech above -30.
package loudness

import "math"

const (
	// VoiceRMS is the voice level as an RMS in int16 units (about
	// -36.3 dBFS).
	VoiceRMS = 500.0
	// AudibleDBFS is the audible level in dB below full scale.
	AudibleDBFS = -50.0
)

// FromDBFS returns the RMS, in int16 units, of a level in dBFS (full scale
// is 32768).
func FromDBFS(dbfs float64) float64 { return 32768 * math.Pow(10, dbfs/20) }

// RMS returns the root mean square of s (0 for no samples).
func RMS(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}
