package session_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

// Behaviour 6: an audio input error is reported and reading goes on; errors
// that persist close the session with that error.
func TestAudioInputErrorsAreNeverSilent(t *testing.T) {
	t.Run("one error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec := &sessiontest.Recorder{}
			stt := sessiontest.NewSTT()
			in := &flakyAudioInput{AudioInput: sessiontest.NewAudioInput()}
			in.Fail(errPipe)
			s := startSession(t, nil, session.IO{Audio: in}, rec, session.WithLLM(sessiontest.NewLLM()), session.WithSTT(stt))
			time.Sleep(time.Second)
			in.Push(session.NewSilence(sessiontest.FrameDuration, 16000, 1))
			time.Sleep(time.Second)
			synctest.Wait()
			if got := stt.Frames(); got != 1 {
				t.Errorf("frames reaching the STT after the error = %d, want 1: the input is read again", got)
			}
			errs := sessiontest.Of[session.ErrorEvent](rec)
			if len(errs) != 1 || errs[0].Source != "audio_input" || !errors.Is(errs[0].Err, errPipe) {
				t.Errorf("errors = %+v, want the audio input's", errs)
			}
			if closed(s) {
				t.Error("session closed after one input error")
			}
		})
	})
	t.Run("errors that persist", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec := &sessiontest.Recorder{}
			in := &flakyAudioInput{AudioInput: sessiontest.NewAudioInput()}
			in.Fail(errPipe, errPipe, errPipe, errPipe, errPipe, errPipe, errPipe, errPipe)
			s := startSession(t, nil, session.IO{Audio: in}, rec, session.WithLLM(sessiontest.NewLLM()), session.WithSTT(sessiontest.NewSTT()))
			time.Sleep(10 * time.Second)
			synctest.Wait()
			if !closed(s) {
				t.Fatal("session still open, deaf, after its input failed for good")
			}
			c := sessiontest.Of[session.CloseEvent](rec)
			if len(c) != 1 || c[0].Reason != session.CloseError || !errors.Is(c[0].Err, errPipe) {
				t.Errorf("close events = %+v, want reason error with the input's error", c)
			}
		})
	})
}

// Behaviour 7: Close returns after a bounded grace even when a tool, a hook
// or the event handler ignores its context, and says what it abandoned.
func TestCloseAlwaysReturns(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the session's agent and options; block is what the
		// stuck code waits on.
		setup func(block <-chan struct{}) (*session.Agent, []session.Option)
		// start makes the stuck code run.
		start func(in *sessiontest.TextInput)
		want  string // in Close's error
	}{
		{
			name: "tool",
			setup: func(block <-chan struct{}) (*session.Agent, []session.Option) {
				return &session.Agent{Tools: []session.Tool{tool("stuck", func(context.Context, string) (session.ToolResult, error) {
					<-block
					return session.ToolResult{}, nil
				})}}, nil
			},
			start: func(in *sessiontest.TextInput) { in.Send("go") },
			want:  "stuck",
		},
		{
			name: "hook",
			setup: func(block <-chan struct{}) (*session.Agent, []session.Option) {
				return &session.Agent{OnEnter: func(context.Context, *session.Session) error {
					<-block
					return nil
				}}, nil
			},
			start: func(*sessiontest.TextInput) {},
			want:  "OnEnter",
		},
		{
			name: "event handler",
			setup: func(block <-chan struct{}) (*session.Agent, []session.Option) {
				return nil, []session.Option{session.WithEventHandler(func(session.Event) { <-block })}
			},
			start: func(in *sessiontest.TextInput) { in.Send("hi") },
			want:  "event handler",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				block := make(chan struct{})
				defer close(block)
				a, opts := tt.setup(block)
				if a == nil {
					a = &session.Agent{}
				}
				llm := sessiontest.NewLLM(sessiontest.Response{ToolCalls: []session.FunctionCall{{CallID: "1", Name: "stuck", Arguments: "{}"}}})
				s, err := session.New(append([]session.Option{session.WithLLM(llm)}, opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				in := sessiontest.NewTextInput()
				if err := s.Start(t.Context(), a, session.IO{Text: in}); err != nil {
					t.Fatal(err)
				}
				tt.start(in)
				synctest.Wait()
				start := time.Now()
				done := make(chan error, 1)
				go func() { done <- s.Close() }()
				err = waitOrFail(t, done, time.Minute, "Close")
				if took := time.Since(start); took > 10*time.Second {
					t.Errorf("Close took %v", took)
				}
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Close = %v, want an error naming the abandoned %s", err, tt.want)
				}
				if !closed(s) {
					t.Error("Done not closed after Close returned")
				}
			})
		})
	}
}

// Behaviour 8: unrecoverable errors are counted per model, reset by that
// model's success; one STT failure and two LLM failures do not close the
// session.
func TestErrorBudgetsArePerSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(
			sessiontest.Response{ChatErr: sessiontest.ErrScripted},
			sessiontest.Response{ChatErr: sessiontest.ErrScripted},
			sessiontest.Response{Text: "Back."},
		)
		r := newVoiceRig(t, llm, nil, session.WithPreemptiveGeneration(false))
		r.stt.Fail(sessiontest.ErrScripted)
		synctest.Wait()
		time.Sleep(time.Second)
		r.in.Push(session.NewSilence(sessiontest.FrameDuration, 16000, 1)) // the STT stream reopens
		synctest.Wait()
		for _, text := range []string{"one", "two", "three"} {
			r.say(text)
			time.Sleep(3 * time.Second)
			synctest.Wait()
			if closed(r.s) {
				t.Fatalf("session closed after the turn %q; errors: %q", text, errorSources(r.rec))
			}
		}
		if diff := cmp.Diff(errorSources(r.rec), []string{"stt", "llm", "llm"}); diff != "" {
			t.Errorf("error sources (-got +want):\n%s", diff)
		}
		h := history(r.s)
		if h[len(h)-1] != "assistant: Back." {
			t.Errorf("history = %q", h)
		}
	})
}

// Behaviour 16: a handler that stops reading does not make the session
// queue events without bound.
func TestSlowEventHandlersHaveBoundedMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var delivered atomic.Int64
		stt := sessiontest.NewSTT()
		s, err := session.New(session.WithLLM(sessiontest.NewLLM()), session.WithSTT(stt), session.WithEventHandler(func(session.Event) {
			<-release
			delivered.Add(1)
		}))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context(), &session.Agent{}, session.IO{Audio: sessiontest.NewAudioInput()}); err != nil {
			t.Fatal(err)
		}
		const sent = 20000
		go func() { // exits once it sent them all
			for range sent {
				stt.Interim("la")
			}
		}()
		synctest.Wait()
		close(release)
		synctest.Wait()
		if got := delivered.Load(); got >= sent/2 {
			t.Errorf("a stuck handler got %d queued events of %d: the queue grew without bound", got, sent)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// blockingDefTool is a tool whose Definition, once armed, blocks until
// gate closes.
type blockingDefTool struct {
	armed *atomic.Bool
	gate  chan struct{}
}

func (b blockingDefTool) Definition() session.ToolDefinition {
	if b.armed.Load() {
		<-b.gate
	}
	return session.ToolDefinition{Name: "slow_def"}
}

func (blockingDefTool) Call(context.Context, string) (session.ToolResult, error) {
	return session.ToolResult{Output: "ok"}, nil
}

// stuckPause is an audio output whose Pause blocks until gate closes.
type stuckPause struct {
	*sessiontest.AudioOutput
	gate chan struct{}
}

func (o *stuckPause) Pause() {
	<-o.gate
	o.AudioOutput.Pause()
}

// Behaviour 16: user code (a tool's Definition, the audio output) never
// runs on the loop goroutine, so when it is slow the session still follows
// the user.
func TestUserCodeRunsOffTheLoop(t *testing.T) {
	t.Run("tool definition", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			gate := make(chan struct{})
			defer close(gate)
			def := blockingDefTool{armed: new(atomic.Bool), gate: gate}
			r := newVoiceRig(t, sessiontest.NewLLM(), &session.Agent{Tools: []session.Tool{def}}) // Start reads the definition
			def.armed.Store(true)
			r.vad.StartOfSpeech()
			synctest.Wait()
			r.stt.Final("hello") // a preemptive generation reads the tool definitions
			synctest.Wait()
			r.vad.EndOfSpeech()
			synctest.Wait()
			if got := userStates(r.rec); !slices.Equal(got, []session.UserState{session.UserSpeaking, session.UserListening}) {
				t.Errorf("user states = %v, want speaking then listening while a Definition blocks", got)
			}
		})
	})
	t.Run("audio output pause", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			gate := make(chan struct{})
			defer close(gate)
			rec := &sessiontest.Recorder{}
			stt, vad, in := sessiontest.NewSTT(), sessiontest.NewVAD(), sessiontest.NewAudioInput()
			out := &stuckPause{AudioOutput: sessiontest.NewAudioOutput(), gate: gate}
			s := startSession(t, nil, session.IO{Audio: in, AudioOut: out}, rec,
				session.WithLLM(sessiontest.NewLLM(sessiontest.Response{Text: tenWords})),
				session.WithSTT(stt), session.WithVAD(vad), session.WithTTS(&sessiontest.TTS{}), session.WithPreemptiveGeneration(false))
			r := &rig{t: t, s: s, stt: stt, vad: vad}
			r.say("count")
			time.Sleep(time.Second)
			vad.StartOfSpeech()
			time.Sleep(600 * time.Millisecond) // the session pauses the output, which blocks
			synctest.Wait()
			vad.EndOfSpeech()
			synctest.Wait()
			states := userStates(rec)
			if len(states) == 0 || states[len(states)-1] != session.UserListening {
				t.Errorf("user states = %v, want listening last while Pause blocks", states)
			}
		})
	})
}

func userStates(rec *sessiontest.Recorder) []session.UserState {
	var out []session.UserState
	for _, e := range sessiontest.Of[session.UserStateChangedEvent](rec) {
		out = append(out, e.New)
	}
	return out
}

// Closing while a speech is paused (the user talking over it) ends the
// speech with the words heard and leaves the audio output unpaused, as
// LiveKit Agents' activity does when it closes (_cancel_speech_pause).
func TestCloseDuringAPausedSpeech(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newVoiceRig(t, sessiontest.NewLLM(sessiontest.Response{Text: tenWords}), nil, session.WithPreemptiveGeneration(false))
		r.say("count")
		time.Sleep(time.Second) // commit; 500 ms played
		r.vad.StartOfSpeech()
		time.Sleep(600 * time.Millisecond)
		synctest.Wait()
		if !r.out.Paused() {
			t.Fatal("output not paused")
		}
		if err := r.s.Close(); err != nil {
			t.Fatalf("Close = %v", err)
		}
		if r.out.Paused() {
			t.Error("output still paused after the session closed")
		}
		for _, e := range sessiontest.Of[session.SpeechCreatedEvent](r.rec) {
			if !e.Speech.Interrupted() {
				t.Errorf("speech %s not interrupted", e.Speech.ID())
			}
		}
		want := []string{"user: count", "assistant: One two three four five [interrupted]"}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
	})
}

// lateVAD is a VAD whose stream delivers one start of speech when the
// test releases it, even after the session closed the stream: a real VAD's
// last event can be in flight when the audio ends.
type lateVAD struct{ release chan struct{} }

func (v lateVAD) Stream(context.Context) (session.VADStream, error) { return lateVADStream(v), nil }

type lateVADStream struct{ release chan struct{} }

func (lateVADStream) Push(session.AudioFrame) error { return nil }
func (lateVADStream) Close() error                  { return nil }

func (s lateVADStream) Recv() (session.VADEvent, error) {
	if _, ok := <-s.release; ok {
		return session.VADEvent{Type: session.VADStartOfSpeech}, nil
	}
	return session.VADEvent{}, io.EOF
}

// Once the audio input ended, nobody can be speaking: a start of speech
// that arrives after the end (from a VAD or STT event in flight) is
// ignored, so it cannot pause the agent for ever and keep the session
// from draining and closing.
func TestSpeechStartAfterTheAudioEndedIsIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &sessiontest.Recorder{}
		in, out := sessiontest.NewAudioInput(), sessiontest.NewAudioOutput()
		vad := lateVAD{release: make(chan struct{}, 1)}
		s := startSession(t, nil, session.IO{Audio: in, AudioOut: out}, rec,
			session.WithVAD(vad), session.WithTTS(&sessiontest.TTS{}), session.WithLLM(sessiontest.NewLLM()))
		if _, err := s.Say(tenWords); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		in.Close() // the input ends; the session closes once the Say played
		synctest.Wait()
		vad.release <- struct{}{}
		close(vad.release)
		select {
		case <-s.Done():
		case <-time.After(time.Minute):
			t.Fatalf("session still open a minute after its input ended; output paused: %v", out.Paused())
		}
		if c := sessiontest.Of[session.CloseEvent](rec); len(c) != 1 || c[0].Reason != session.CloseInputEnded {
			t.Errorf("close events = %+v, want input_ended", c)
		}
		if got := history(s); len(got) != 1 || got[0] != "assistant: "+tenWords {
			t.Errorf("history = %q, want the whole Say", got)
		}
	})
}
