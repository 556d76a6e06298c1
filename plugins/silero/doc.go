// Package silero is voice activity detection with Silero VAD v5 on ONNX
// Runtime (through github.com/yalue/onnxruntime_go), behaving like LiveKit
// Agents' Silero plugin.
//
// The model (Silero VAD v5, MIT, 2.3 MB) is embedded in the package, as
// LiveKit's plugins bundle it, so a built program needs only the ONNX
// Runtime library. [Load] looks for it at [WithRuntimeLibrary]'s path, else
// $ONNXRUNTIME_LIB, else where scripts/setup.sh installs it
// ($LKGO_CACHE/silero, then ~/.cache/livekit-go-agents/silero); a missing
// library is an error wrapping [ErrNotInstalled] that names the command
// installing it. [WithModelPath] or $SILERO_VAD_MODEL load another model
// file. One [VAD] serves any number of streams; each stream gets a
// [Detector], which owns the model's recurrent state.
//
// A Detector scores 16 kHz audio in 512-sample (32 ms) windows, each
// preceded by the last 64 samples of the one before, and smooths the score
// (a = 0.35). A window is speech at or above the activation threshold (0.5),
// or, once speaking, above the deactivation threshold (activation - 0.15).
// Speech starts after the minimum speech duration (50 ms) and ends after
// the minimum silence duration (550 ms); events carry sample-accurate
// positions, the window's probability, and the segment's audio with the
// prefix padding (500 ms) before it.
//
// The probability stays high for 60 to 200 ms after the voice stops, so
// the silence that ends speech ([Event.SpeechEnd], from which the minimum
// silence is counted, as in LiveKit's plugin) begins that much after the
// user's last sound. An end of speech also says where the voice really
// ended ([Event.VoiceEnd]): the end of the last 20 ms block (cut from the
// start of each Push: a room's packets) of the speech's last 320 ms whose
// RMS reaches -36 dBFS (or comes within 20 dB of the speech's loudest
// block, for a quieter voice). On 20 flite sentences it is exactly the end
// of the last 20 ms frame above -36 dBFS; through Opus the median is the
// same and most lie within 20 ms, but a sentence whose last sound hovers
// at -36 dBFS can land 60 to 180 ms off either way (Opus moves its level
// across the threshold, as it would the user's own measure). SpeechEnd
// lies 70 to 210 ms after the voice's end. The event fires when it did
// before: only the position it reports moved.
//
// *VAD also implements session.VAD: [VAD.Stream] resamples room audio to
// 16 kHz mono and reports start and end of speech. The end's SpeechEndedAt
// is the moment the voice ended on the user's timeline: the capture time
// of that sample when the frames carry one (session.AudioFrame's
// CapturedAt, which a room's input sets), else the time it was pushed,
// less the audio after it. The session measures endpointing and its
// latency metrics from it.
//
// Everything C is freed by Close: a Detector's tensors, the VAD's session,
// and the runtime once the last of them is closed.
package silero
