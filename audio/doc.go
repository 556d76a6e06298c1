// Package audio processes the session's PCM frames: mixing them down to mono
// and converting their sample rate for speech engines.
//
// It is pure Go, with no cgo, so every plugin can share it. The conversion
// here is for machines that listen (VAD, speech recognition): integer ratios
// average each group of samples, other ratios interpolate linearly. Audio a
// person hears is resampled by the room I/O, with a proper low-pass filter.
package audio
