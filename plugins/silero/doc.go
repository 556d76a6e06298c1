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
// *VAD also implements session.VAD: [VAD.Stream] resamples room audio to
// 16 kHz mono and reports start and end of speech, with the moment speech
// really ended for endpointing.
//
// Everything C is freed by Close: a Detector's tensors, the VAD's session,
// and the runtime once the last of them is closed.
package silero
