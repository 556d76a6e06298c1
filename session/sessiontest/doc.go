// Package sessiontest holds fakes of the session's contracts, for tests of
// the session and of code built on it: a scriptable [LLM], an [STT] and a
// [VAD] the test drives event by event, an instant [TTS], audio and text
// inputs and outputs, and an event [Recorder].
//
// The fakes keep no goroutines of their own and wait only on channels and
// timers, so scenarios run deterministically under testing/synctest: the
// [AudioOutput] "plays" audio by the bubble's clock, so time.Sleep in a test
// advances playback exactly.
package sessiontest
