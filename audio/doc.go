// Package audio processes the session's PCM frames: mixing them down to mono
// and converting their sample rate for speech engines ([MonoResampler]), and
// starting each reply of a TTS at its first sound ([TrimLeadingSilence]).
//
// It is pure Go, with no cgo, so every plugin can share it. The conversion
// here is for machines that listen (VAD, speech recognition): integer ratios
// average each group of samples, other ratios interpolate linearly. Audio a
// person hears is resampled by the room I/O, with a proper low-pass filter.
//
// TrimLeadingSilence wraps any session.TTS: a speech engine's lead-in (flite
// opens every utterance with about 200 ms at -65 dBFS) reaches the user as
// silence and is heard as the agent's latency, so each stream drops the
// near-silence before its first sound, bounded, and passes everything after
// it untouched.
//
// Frames may carry the time they were captured at (session.AudioFrame's
// CapturedAt). Whatever here cuts or converts a frame carries that time
// forward: [MonoResampler.PushFrame] gives its output the time of the input
// sample its first sample stands for, and a frame trimmed at its start
// starts later by what was cut. [SampleClock] answers, for a detector that
// counts samples, when the sample at a position was captured.
package audio
