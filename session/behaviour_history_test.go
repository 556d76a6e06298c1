package session_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

const threeSentences = "One two. Three four. Five six." // 400 ms of audio each

// Behaviour 2: a TTS or audio output that fails mid-reply leaves in history
// what was played, marked interrupted, and an error event that names the
// failing stage.
func TestOutputFailureKeepsOnlyWhatWasPlayed(t *testing.T) {
	tests := []struct {
		name       string
		tts        func(*sessiontest.TTS) session.TTS
		out        func(*sessiontest.AudioOutput) session.AudioOutput
		wantSource string
	}{
		{
			name: "tts fails after 800 ms of audio",
			tts: func(t *sessiontest.TTS) session.TTS {
				return &flakyTTS{TTS: t, failAfter: 40, err: sessiontest.ErrScripted}
			},
			out:        func(o *sessiontest.AudioOutput) session.AudioOutput { return o },
			wantSource: "tts",
		},
		{
			name: "audio output fails after 800 ms of audio",
			tts:  func(t *sessiontest.TTS) session.TTS { return t },
			out: func(o *sessiontest.AudioOutput) session.AudioOutput {
				return &brokenOutput{AudioOutput: o, okFrames: 40, err: errPipe}
			},
			wantSource: "audio_output",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &sessiontest.Recorder{}
				stt, vad, in := sessiontest.NewSTT(), sessiontest.NewVAD(), sessiontest.NewAudioInput()
				fake := sessiontest.NewAudioOutput()
				tout := &sessiontest.TextOutput{}
				s := startSession(t, nil, session.IO{Audio: in, AudioOut: tt.out(fake), TextOut: tout}, rec,
					session.WithLLM(sessiontest.NewLLM(sessiontest.Response{Text: threeSentences})),
					session.WithSTT(stt), session.WithVAD(vad), session.WithTTS(tt.tts(&sessiontest.TTS{})),
					session.WithPreemptiveGeneration(false))
				r := &rig{t: t, s: s, stt: stt, vad: vad}
				r.say("count")
				time.Sleep(5 * time.Second)
				synctest.Wait()
				want := []string{"user: count", "assistant: One two. Three four. [interrupted]"}
				if diff := cmp.Diff(history(s), want); diff != "" {
					t.Errorf("history (-got +want):\n%s", diff)
				}
				if diff := cmp.Diff(tout.Messages(), []string{"One two. Three four."}); diff != "" {
					t.Errorf("transcript (-got +want):\n%s", diff)
				}
				if got := errorSources(rec); !slices.Contains(got, tt.wantSource) {
					t.Errorf("error sources = %q, want one from %q", got, tt.wantSource)
				}
				if closed(s) {
					t.Error("one failed reply closed the session")
				}
			})
		})
	}
}

// Behaviour 3: a committed user turn is in history from its commit, even
// when the reply to it never runs.
func TestCommittedUserTurnIsNeverLost(t *testing.T) {
	for _, drop := range []string{"Interrupt", "Close"} {
		t.Run(drop, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newVoiceRig(t, sessiontest.NewLLM(), nil, session.WithPreemptiveGeneration(false))
				if _, err := r.s.Say(tenWords, session.AllowInterruptions(false)); err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				time.Sleep(300 * time.Millisecond)
				r.say("hello")
				time.Sleep(600 * time.Millisecond) // committed, queued behind the Say
				synctest.Wait()
				if got := history(r.s); !slices.Contains(got, "user: hello") {
					t.Errorf("history at commit = %q, want the user's turn", got)
				}
				switch drop {
				case "Interrupt":
					if err := r.s.Interrupt(); err != nil {
						t.Fatal(err)
					}
					time.Sleep(5 * time.Second)
					synctest.Wait()
					// The Say the user talked over started first: it goes first.
					if diff := cmp.Diff(history(r.s), []string{"assistant: " + tenWords, "user: hello"}); diff != "" {
						t.Errorf("history (-got +want):\n%s", diff)
					}
				case "Close":
					if err := r.s.Close(); err != nil {
						t.Fatal(err)
					}
				}
				if got := history(r.s); !slices.Contains(got, "user: hello") {
					t.Errorf("history after %s = %q, want the user's turn kept", drop, got)
				}
			})
		})
	}
}

// Behaviour 3, at the end of the audio: when the audio input ends (a file
// played to the session, a pipe), the user's last words, transcribed
// before the end or by the STT just after it, are a turn: committed and
// answered before the session closes, not dropped with the endpointing
// delay the drain cut short.
func TestLastWordsBeforeTheAudioEndsAreATurn(t *testing.T) {
	for _, when := range []string{"final before the end", "final after the end"} {
		t.Run(when, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &sessiontest.Recorder{}
				stt, vad, in := sessiontest.NewSTT(), sessiontest.NewVAD(), sessiontest.NewAudioInput()
				s := startSession(t, nil, session.IO{Audio: in, TextOut: &sessiontest.TextOutput{}}, rec,
					session.WithLLM(sessiontest.NewLLM(sessiontest.Response{Text: "Booked."})),
					session.WithSTT(stt), session.WithVAD(vad), session.WithPreemptiveGeneration(false))
				vad.StartOfSpeech()
				synctest.Wait()
				if when == "final before the end" {
					stt.Final("book a table")
					synctest.Wait()
				}
				vad.EndOfSpeech()
				synctest.Wait()
				in.Close()
				synctest.Wait()
				if when == "final after the end" {
					stt.Final("book a table") // the STT's flush of its last words
				}
				select {
				case <-s.Done():
				case <-time.After(time.Minute):
					t.Fatal("session still open a minute after its input ended")
				}
				if diff := cmp.Diff(history(s), []string{"user: book a table", "assistant: Booked."}); diff != "" {
					t.Errorf("history (-got +want):\n%s", diff)
				}
				if c := sessiontest.Of[session.CloseEvent](rec); len(c) != 1 || c[0].Reason != session.CloseInputEnded {
					t.Errorf("close events = %+v, want input_ended", c)
				}
			})
		})
	}
}

// Behaviour 10: an assistant message enters history only with text the
// user heard or saw.
func TestNoEmptyAssistantMessages(t *testing.T) {
	t.Run("reply interrupted before its audio", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			llm := sessiontest.NewLLM(sessiontest.Response{Text: "Hello there."}, sessiontest.Response{Text: "Yes?"})
			r := newVoiceRig(t, llm, nil, session.WithPreemptiveGeneration(false))
			r.tts.TTFB = time.Second
			r.say("hi")
			time.Sleep(800 * time.Millisecond) // committed; the LLM answered, TTS has not
			if err := r.s.Interrupt(); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			r.say("hello?")
			time.Sleep(5 * time.Second)
			synctest.Wait()
			want := []string{"user: hi", "user: hello?", "assistant: Yes?"}
			if diff := cmp.Diff(history(r.s), want); diff != "" {
				t.Errorf("history (-got +want):\n%s", diff)
			}
			reqs := llm.Requests()
			for _, it := range reqs[len(reqs)-1].Chat.Items {
				if m, ok := it.(*session.ChatMessage); ok && m.Role == session.RoleAssistant && m.Content == "" {
					t.Error("the next LLM request carries an empty assistant message")
				}
			}
		})
	})
	t.Run("empty Say", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newVoiceRig(t, sessiontest.NewLLM(), nil)
			h, err := r.s.Say("")
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if got := history(r.s); len(got) != 0 {
				t.Errorf("history = %q, want nothing for an empty Say", got)
			}
		})
	})
}

// Like the agent's, the user's side of history keeps no empty message: a
// GenerateReply with user input without words adds none, and Run refuses
// such input.
func TestNoEmptyUserMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTextRig(t, sessiontest.NewLLM(sessiontest.Response{Text: "Hello?"}), nil)
		h, err := r.s.GenerateReply(session.WithUserInput("  "))
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if diff := cmp.Diff(history(r.s), []string{"assistant: Hello?"}); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
		if _, err := r.s.Run(t.Context(), " "); err == nil || !strings.Contains(err.Error(), "user input") {
			t.Errorf("Run with no words = %v, want an error about the user input", err)
		}
	})
}

// Issue 12: the transcript of an answer follows playout word by word, in
// deltas, and an interrupted answer's transcript ends at the words heard:
// the same words history keeps.
func TestInterruptedTranscriptEndsAtTheWordsHeard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(sessiontest.Response{Text: "One two three four five six."}) // 1.2 s
		r := newVoiceRig(t, llm, nil, session.WithPreemptiveGeneration(false))
		s, tout := r.s, r.tout
		r.say("count")
		time.Sleep(500 * time.Millisecond) // commit; playout starts
		synctest.Wait()
		if got := tout.Current(); got != "" {
			t.Errorf("transcript at 0 ms = %q, want nothing before a word was heard", got)
		}
		time.Sleep(700 * time.Millisecond)
		synctest.Wait()
		// "three" ends 557 ms in (13 of 28 characters), "four" at 771 ms
		if got := tout.Current(); got != "One two three" {
			t.Errorf("transcript at 700 ms = %q, want the words heard", got)
		}
		if err := s.Interrupt(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if diff := cmp.Diff(tout.Messages(), []string{"One two three"}); diff != "" {
			t.Errorf("transcript (-got +want):\n%s", diff)
		}
		if diff := cmp.Diff(tout.Deltas(), []string{"One", " two", " three"}); diff != "" {
			t.Errorf("CaptureText calls (-got +want):\n%s", diff)
		}
		if diff := cmp.Diff(history(s), []string{"user: count", "assistant: One two three [interrupted]"}); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
	})
}

// The transcript of a whole answer is the answer, each word sent once, in
// order, and nothing of a sentence before its audio plays.
func TestTranscriptDeltasNeverRepeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newVoiceRig(t, sessiontest.NewLLM(sessiontest.Response{Text: threeSentences}), nil, session.WithPreemptiveGeneration(false))
		tout := r.tout
		r.say("count")
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		if got := tout.Current(); got != "One two." {
			t.Errorf("transcript at 500 ms = %q, want the first sentence and no more", got)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if diff := cmp.Diff(tout.Messages(), []string{threeSentences}); diff != "" {
			t.Errorf("transcript (-got +want):\n%s", diff)
		}
		if got := strings.Join(tout.Deltas(), ""); got != threeSentences {
			t.Errorf("deltas joined = %q", got)
		}
		if n := len(tout.Deltas()); n != 6 {
			t.Errorf("CaptureText calls = %d (%q), want one per word", n, tout.Deltas())
		}
		if errs := sessiontest.Of[session.ErrorEvent](r.rec); len(errs) != 0 {
			t.Errorf("errors = %+v", errs)
		}
	})
}

// brokenText is a text output that refuses every text.
type brokenText struct{ flushes int }

func (*brokenText) CaptureText(context.Context, string) error { return errPipe }
func (b *brokenText) Flush()                                  { b.flushes++ }

// Behaviour 2, text side: a text output that fails is reported (once a
// speech, source text_output), and history keeps only what was shown.
func TestTextOutputFailureIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &sessiontest.Recorder{}
		in := sessiontest.NewTextInput()
		s := startSession(t, nil, session.IO{Text: in, TextOut: &brokenText{}}, rec,
			session.WithLLM(sessiontest.NewLLM(sessiontest.Response{Text: "You will not see this."})))
		in.Send("hello")
		synctest.Wait()
		if diff := cmp.Diff(errorSources(rec), []string{"text_output"}); diff != "" {
			t.Errorf("error sources (-got +want):\n%s", diff)
		}
		if diff := cmp.Diff(history(s), []string{"user: hello"}); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
		if closed(s) {
			t.Error("a failing text output closed the session")
		}
	})
}
