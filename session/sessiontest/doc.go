// Package sessiontest holds fakes of the session's contracts, for tests of
// the session and of code built on it: a scriptable [LLM], an [STT] and a
// [VAD] the test drives event by event, an instant [TTS], audio and text
// inputs and outputs, and an event [Recorder].
//
// The fakes keep no goroutines of their own and wait only on channels and
// timers, so scenarios run deterministically under testing/synctest: the
// [AudioOutput] "plays" audio by the bubble's clock, so time.Sleep in a test
// advances playback exactly.
//
// [Expect] checks what one user turn did, the Go counterpart of LiveKit
// Agents' RunResult.expect: run the turn with session.Session.Run, then
// step through its messages, function calls and outputs and handoffs:
//
//	s, _ := session.New(session.WithLLM(llm)) // a sessiontest.LLM or a real one
//	_ = s.Start(ctx, agent, session.IO{})     // text only
//	res, err := s.Run(ctx, "what's the weather in Paris?")
//	e := sessiontest.Expect(t, res)
//	e.NextEvent().IsFunctionCall("get_weather").WithArgs(map[string]any{"city": "Paris"})
//	e.NextEvent().IsFunctionCallOutput()
//	e.NextEvent().IsMessage(session.RoleAssistant).Contains("sunny")
//	e.NoMoreEvents()
//
// A failed expectation ends the test with the run's events listed and the
// one at fault marked.
package sessiontest
