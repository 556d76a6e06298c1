package session_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

// Behaviour 4: min_interruption_words filters words over a speaking agent
// only. Typed text and a turn said to an agent already stopped always
// count.
func TestShortTurnFilterNeverDropsTypedTextOrTurnsAfterInterruption(t *testing.T) {
	t.Run("typed text", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			llm := sessiontest.NewLLM(sessiontest.Response{Text: tenWords}, sessiontest.Response{Text: "Stopped."})
			rec := &sessiontest.Recorder{}
			stt, vad, in, text := sessiontest.NewSTT(), sessiontest.NewVAD(), sessiontest.NewAudioInput(), sessiontest.NewTextInput()
			s := startSession(t, nil, session.IO{Audio: in, Text: text, AudioOut: sessiontest.NewAudioOutput()}, rec,
				session.WithLLM(llm), session.WithSTT(stt), session.WithVAD(vad), session.WithTTS(&sessiontest.TTS{}),
				session.WithMinInterruptionWords(2), session.WithPreemptiveGeneration(false))
			r := &rig{t: t, s: s, stt: stt, vad: vad}
			r.say("count")
			time.Sleep(500 * time.Millisecond) // commit
			synctest.Wait()
			time.Sleep(time.Second) // five words played
			text.Send("stop")
			time.Sleep(5 * time.Second)
			synctest.Wait()
			want := []string{"user: count", "assistant: One two three four five [interrupted]", "user: stop", "assistant: Stopped."}
			if diff := cmp.Diff(history(s), want); diff != "" {
				t.Errorf("history (-got +want):\n%s", diff)
			}
		})
	})
	t.Run("one word to an agent already stopped", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			llm := sessiontest.NewLLM(
				sessiontest.Response{Text: "Let me see.", ToolCalls: []session.FunctionCall{{CallID: "1", Name: "stubborn", Arguments: "{}"}}},
				sessiontest.Response{Text: "Great."},
			)
			a := &session.Agent{Tools: []session.Tool{tool("stubborn", func(context.Context, string) (session.ToolResult, error) {
				time.Sleep(10 * time.Second) // ignores its context
				return session.ToolResult{Output: "late"}, nil
			})}}
			r := newVoiceRig(t, llm, a, session.WithMinInterruptionWords(2), session.WithPreemptiveGeneration(false))
			r.say("check")
			time.Sleep(2 * time.Second) // commit; "Let me see." played; the tool runs
			synctest.Wait()
			if err := r.s.Interrupt(); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			r.say("yes")
			time.Sleep(3 * time.Second)
			synctest.Wait()
			want := []string{"user: check", "assistant: Let me see.", "user: yes", "assistant: Great."}
			if diff := cmp.Diff(history(r.s), want); diff != "" {
				t.Errorf("history (-got +want):\n%s", diff)
			}
			time.Sleep(10 * time.Second) // let the stubborn tool return
		})
	})
}

// Behaviour 5: a paused speech ends only when the user really spoke (a
// final transcript with words, or a committed turn); a cough, an interim
// "hm" or an empty final lets it resume after the false interruption
// timeout, in the state it paused in.
func TestPausedSpeechResumesUnlessUserReallySpoke(t *testing.T) {
	for _, noise := range []string{"interim", "empty final"} {
		t.Run(noise, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newVoiceRig(t, sessiontest.NewLLM(sessiontest.Response{Text: tenWords}), nil, session.WithPreemptiveGeneration(false))
				r.say("count")
				time.Sleep(500 * time.Millisecond) // commit
				synctest.Wait()
				time.Sleep(500 * time.Millisecond)
				r.vad.StartOfSpeech() // a cough
				time.Sleep(600 * time.Millisecond)
				synctest.Wait()
				if !r.out.Paused() {
					t.Fatal("output not paused on a possible interruption")
				}
				switch noise {
				case "interim":
					r.stt.Interim("hm")
				case "empty final":
					r.stt.Final("")
				}
				synctest.Wait()
				r.vad.EndOfSpeech()
				time.Sleep(2 * time.Second) // false_interruption_timeout
				synctest.Wait()
				if r.out.Paused() {
					t.Error("output still paused after the false interruption timeout")
				}
				if ev := sessiontest.Of[session.AgentFalseInterruptionEvent](r.rec); len(ev) != 1 || !ev[0].Resumed {
					t.Errorf("false interruption events = %+v, want one that resumed", ev)
				}
				time.Sleep(5 * time.Second)
				synctest.Wait()
				if diff := cmp.Diff(history(r.s), []string{"user: count", "assistant: " + tenWords}); diff != "" {
					t.Errorf("history (-got +want):\n%s", diff)
				}
			})
		})
	}
	t.Run("words said end it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newVoiceRig(t, sessiontest.NewLLM(sessiontest.Response{Text: tenWords}), nil, session.WithPreemptiveGeneration(false))
			r.say("count")
			time.Sleep(time.Second) // commit; 500 ms played
			r.vad.StartOfSpeech()
			time.Sleep(100 * time.Millisecond)
			r.stt.Final("stop") // words before min_interruption_duration
			time.Sleep(500 * time.Millisecond)
			synctest.Wait()
			if segs := r.out.Segments(); len(segs) != 1 || !segs[0].Interrupted {
				t.Errorf("playback = %+v, want it interrupted, not paused", segs)
			}
			if n := len(sessiontest.Of[session.AgentFalseInterruptionEvent](r.rec)); n != 0 {
				t.Errorf("false interruption events = %d", n)
			}
		})
	})
	t.Run("thinking stays thinking", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			llm := sessiontest.NewLLM(sessiontest.Response{Text: "Done thinking.", TTFT: 10 * time.Second})
			r := newVoiceRig(t, llm, nil, session.WithPreemptiveGeneration(false))
			r.say("think hard")
			time.Sleep(time.Second) // committed, thinking
			r.vad.StartOfSpeech()
			time.Sleep(600 * time.Millisecond)
			synctest.Wait()
			r.vad.EndOfSpeech()
			time.Sleep(2 * time.Second)
			synctest.Wait()
			st := sessiontest.Of[session.AgentStateChangedEvent](r.rec)
			if got := st[len(st)-1].New; got != session.AgentThinking {
				t.Errorf("agent state after the false interruption = %v, want thinking", got)
			}
			time.Sleep(10 * time.Second)
			synctest.Wait()
			if diff := cmp.Diff(history(r.s), []string{"user: think hard", "assistant: Done thinking."}); diff != "" {
				t.Errorf("history (-got +want):\n%s", diff)
			}
		})
	})
}

// Behaviour 12: SpeechHandle.Interrupt decides and acts at once: an
// uninterruptible speech, queued or playing, says so and plays on; an
// interruptible one is interrupted when Interrupt returns.
func TestSpeechHandleInterruptIsAtomic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newVoiceRig(t, sessiontest.NewLLM(), nil)
		h1, err := r.s.Say("Playing now.", session.AllowInterruptions(false))
		if err != nil {
			t.Fatal(err)
		}
		h2, _ := r.s.Say("Queued and kept.", session.AllowInterruptions(false))
		h3, _ := r.s.Say("Queued and dropped.")
		synctest.Wait()
		if err := h2.Interrupt(); !errors.Is(err, session.ErrUninterruptible) {
			t.Errorf("Interrupt of a queued uninterruptible speech = %v, want ErrUninterruptible", err)
		}
		if err := h3.Interrupt(); err != nil {
			t.Errorf("Interrupt of a queued speech = %v", err)
		}
		if !h3.Interrupted() {
			t.Error("speech not marked interrupted when Interrupt returned")
		}
		for _, h := range []*session.SpeechHandle{h1, h2, h3} {
			if err := h.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if h2.Interrupted() {
			t.Error("uninterruptible speech marked interrupted")
		}
		want := []string{"assistant: Playing now.", "assistant: Queued and kept."}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
	})
}

// callOrder is an audio output that records its Pause, Resume and
// ClearBuffer calls in order.
type callOrder struct {
	*sessiontest.AudioOutput
	mu    sync.Mutex
	calls []string
}

func (o *callOrder) note(c string) {
	o.mu.Lock()
	o.calls = append(o.calls, c)
	o.mu.Unlock()
}

func (o *callOrder) Pause()       { o.note("pause"); o.AudioOutput.Pause() }
func (o *callOrder) Resume()      { o.note("resume"); o.AudioOutput.Resume() }
func (o *callOrder) ClearBuffer() { o.note("clear"); o.AudioOutput.ClearBuffer() }

func (o *callOrder) Calls() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.calls)
}

// Behaviour 5: a paused speech that turns out to be an interruption has
// its audio cleared before the output resumes, as LiveKit Agents'
// _cancel_speech_pause waits for the interrupted generation before it
// resumes: the user never hears a moment more of what they talked over.
func TestInterruptedPauseClearsBeforeResuming(t *testing.T) {
	for _, how := range []string{"final transcript", "Interrupt"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				out := &callOrder{AudioOutput: sessiontest.NewAudioOutput()}
				rec := &sessiontest.Recorder{}
				stt, vad, in := sessiontest.NewSTT(), sessiontest.NewVAD(), sessiontest.NewAudioInput()
				s := startSession(t, nil, session.IO{Audio: in, AudioOut: out}, rec,
					session.WithLLM(sessiontest.NewLLM(sessiontest.Response{Text: tenWords})),
					session.WithSTT(stt), session.WithVAD(vad), session.WithTTS(&sessiontest.TTS{}), session.WithPreemptiveGeneration(false))
				r := &rig{t: t, s: s, stt: stt, vad: vad}
				r.say("count")
				time.Sleep(time.Second) // commit; 500 ms played
				vad.StartOfSpeech()
				time.Sleep(600 * time.Millisecond) // paused
				synctest.Wait()
				switch how {
				case "final transcript":
					stt.Final("stop now")
				case "Interrupt":
					if err := s.Interrupt(); err != nil {
						t.Fatal(err)
					}
				}
				synctest.Wait()
				if diff := cmp.Diff(out.Calls(), []string{"pause", "clear", "resume"}); diff != "" {
					t.Errorf("audio output calls (-got +want):\n%s", diff)
				}
			})
		})
	}
}
