// Package flite is a local text-to-speech engine: CMU Flite, linked over
// cgo, speaking English at 16 kHz, 16-bit mono.
//
// [New] registers a voice ([VoiceSLT] by default, or [VoiceKAL16]) once for
// the process; [TTS.Synthesize] turns text into samples, and
// [TTS.Sentences] yields them a sentence at a time so playback can start
// before a long reply is done. Text passes through [Clean] (no control bytes
// or invalid UTF-8 reach C) and [SplitSentences].
//
// [TTS] also implements session.TTS: [TTS.Stream] buffers pushed text until
// Flush, synthesizes it, and returns it as 20 ms frames that carry the
// flushed text.
//
// Flite keeps global state and is not documented as reentrant, so calls into
// it are serialized by one process-wide lock; a [TTS] is safe for concurrent
// use. Synthesis holds no C memory between calls, so there is nothing to
// Close.
//
// Requires Debian's flite and flite1-dev (scripts/setup.sh installs them).
package flite
