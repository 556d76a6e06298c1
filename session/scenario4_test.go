package session_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

// A sentence reaches TTS when its terminator arrives, not when the next
// token does.
func TestSentenceGoesToTTSOnItsTerminator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(sessiontest.Response{Deltas: []string{"Hello", " there.", " How", " are", " you?"}, ChunkDelay: time.Second})
		r := newVoiceRig(t, llm, nil, session.WithPreemptiveGeneration(false))
		r.say("hi")
		time.Sleep(500 * time.Millisecond) // commit
		synctest.Wait()
		time.Sleep(1500 * time.Millisecond) // "Hello", then " there." at +1 s; " How" is due at +2 s
		synctest.Wait()
		if diff := cmp.Diff(r.tts.Segments(), []string{"Hello there."}); diff != "" {
			t.Errorf("TTS segments before the next token (-got +want):\n%s", diff)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if diff := cmp.Diff(r.tts.Segments(), []string{"Hello there.", "How are you?"}); diff != "" {
			t.Errorf("TTS segments (-got +want):\n%s", diff)
		}
	})
}

// Interrupting a reply cancels its running tools; the calls that finished
// are kept with their outputs, and no further LLM step follows.
func TestInterruptedReplyKeepsFinishedToolOutputs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(sessiontest.Response{Text: "Let me look.", ToolCalls: []session.FunctionCall{
			{CallID: "1", Name: "lookup", Arguments: "{}"},
			{CallID: "2", Name: "wait", Arguments: "{}"},
		}})
		cause := make(chan error, 1)
		a := &session.Agent{Tools: []session.Tool{
			tool("lookup", func(context.Context, string) (session.ToolResult, error) {
				return session.ToolResult{Output: "found it"}, nil
			}),
			tool("wait", func(ctx context.Context, _ string) (session.ToolResult, error) {
				<-ctx.Done()
				cause <- context.Cause(ctx)
				return session.ToolResult{}, ctx.Err()
			}),
		}}
		r := newTextRig(t, llm, a)
		r.text.Send("find my order")
		synctest.Wait()
		if err := r.s.Interrupt(); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := <-cause; !errors.Is(got, session.ErrInterrupted) {
			t.Errorf("running tool's context cause = %v, want ErrInterrupted", got)
		}
		// The text was all shown before the interruption, so it is kept whole.
		want := []string{"user: find my order", "assistant: Let me look.", "call lookup({})", "output lookup: found it"}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
		if n := len(llm.Requests()); n != 1 {
			t.Errorf("LLM requests = %d, want no step after the interruption", n)
		}
	})
}

func TestSTTFlushedAtEndOfSpeech(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newVoiceRig(t, sessiontest.NewLLM(), nil)
		frame := session.NewSilence(sessiontest.FrameDuration, 16000, 1)
		r.vad.StartOfSpeech()
		r.in.Push(frame)
		synctest.Wait()
		r.vad.EndOfSpeech()
		synctest.Wait()
		r.in.Push(frame)
		r.in.Push(frame)
		synctest.Wait()
		if got := r.stt.Flushes(); got != 1 {
			t.Errorf("STT flushes = %d, want 1 after end of speech", got)
		}
		if got := r.stt.Frames(); got != 3 {
			t.Errorf("STT frames = %d, want 3", got)
		}
	})
}

// With min_interruption_words set, a short backchannel over the agent is
// neither an interruption nor a user turn.
func TestBackchannelIsNotATurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newVoiceRig(t, sessiontest.NewLLM(sessiontest.Response{Text: tenWords}), nil,
			session.WithMinInterruptionWords(2), session.WithPreemptiveGeneration(false))
		r.say("count")
		time.Sleep(time.Second)
		r.vad.StartOfSpeech()
		time.Sleep(300 * time.Millisecond)
		r.stt.Final("uh-huh")
		r.vad.EndOfSpeech()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		want := []string{"user: count", "assistant: " + tenWords}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
	})
}

// A vetoed turn ends the preemptive generation started for it at once.
func TestVetoEndsPreemptiveGeneration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(sessiontest.Response{Text: "Never said.", TTFT: time.Hour})
		a := &session.Agent{OnUserTurnCompleted: func(context.Context, *session.ChatContext, *session.ChatMessage) error {
			return session.ErrStopResponse
		}}
		r := newVoiceRig(t, llm, a)
		r.say("hi")
		time.Sleep(time.Second)
		synctest.Wait()
		if diff := cmp.Diff(llm.Cancelled(), []error{session.ErrPreemptiveDiscarded}, cmpErrors); diff != "" {
			t.Errorf("cancel causes (-got +want):\n%s", diff)
		}
	})
}

func TestStartAfterClose(t *testing.T) {
	s, err := session.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context(), &session.Agent{}, session.IO{}); !errors.Is(err, session.ErrSessionClosed) {
		t.Errorf("Start after Close = %v, want ErrSessionClosed", err)
	}
	<-s.Done()
}

// An interruption that lands while no audio is queued (between tool steps)
// must not cut the next speech.
func TestIdleClearDoesNotCutNextSpeech(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(sessiontest.Response{Text: "Checking.", ToolCalls: []session.FunctionCall{{CallID: "1", Name: "slow", Arguments: "{}"}}})
		release := make(chan struct{})
		a := &session.Agent{Tools: []session.Tool{tool("slow", func(context.Context, string) (session.ToolResult, error) {
			<-release
			return session.ToolResult{Output: "done"}, nil
		})}}
		r := newVoiceRig(t, llm, a, session.WithPreemptiveGeneration(false))
		r.say("check")
		time.Sleep(2 * time.Second) // commit, "Checking." played out; the tool still runs
		synctest.Wait()
		if err := r.s.Interrupt(); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		close(release)
		synctest.Wait()
		h, err := r.s.Say("All good now.")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		segs := r.out.Segments()
		if last := segs[len(segs)-1]; last.Interrupted || last.Position != 600*time.Millisecond {
			t.Errorf("last playback = %+v, want all 600ms of the Say", last)
		}
	})
}

type failingTTS struct{}

func (failingTTS) Stream(context.Context) (session.TTSStream, error) {
	return nil, sessiontest.ErrScripted
}

// A TTS that always fails closes the session after three replies even
// though the LLM answers each time: errors count until the agent speaks.
func TestTTSErrorsInARowClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &sessiontest.Recorder{}
		s, err := session.New(session.WithLLM(sessiontest.NewLLM()), session.WithTTS(failingTTS{}), session.WithEventHandler(rec.Handle))
		if err != nil {
			t.Fatal(err)
		}
		in := sessiontest.NewTextInput()
		if err := s.Start(t.Context(), &session.Agent{}, session.IO{Text: in, AudioOut: sessiontest.NewAudioOutput()}); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, text := range []string{"one", "two", "three"} {
			in.Send(text)
			synctest.Wait()
		}
		<-s.Done()
		c := sessiontest.Of[session.CloseEvent](rec)
		if len(c) != 1 || c[0].Reason != session.CloseError {
			t.Errorf("close events = %+v, want reason error", c)
		}
		if n := len(sessiontest.Of[session.ErrorEvent](rec)); n != 3 {
			t.Errorf("error events = %d, want 3", n)
		}
	})
}

// A failed STT stream is reported and reopened, so the session hears again.
func TestSTTReopensAfterFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newVoiceRig(t, sessiontest.NewLLM(sessiontest.Response{Text: "Hi again."}), nil)
		frame := session.NewSilence(sessiontest.FrameDuration, 16000, 1)
		r.stt.Fail(sessiontest.ErrScripted)
		synctest.Wait()
		r.in.Push(frame) // too soon to reopen
		synctest.Wait()
		if n := r.stt.Streams(); n != 1 {
			t.Fatalf("streams = %d right after the failure, want 1", n)
		}
		time.Sleep(time.Second)
		r.in.Push(frame)
		synctest.Wait()
		if n := r.stt.Streams(); n != 2 {
			t.Fatalf("streams = %d after a second, want 2 (reopened)", n)
		}
		r.say("hello")
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if diff := cmp.Diff(history(r.s), []string{"user: hello", "assistant: Hi again."}); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
		errs := sessiontest.Of[session.ErrorEvent](r.rec)
		if len(errs) != 1 || errs[0].Source != "stt" {
			t.Errorf("errors = %+v, want the one stt failure", errs)
		}
	})
}

// The agent's words reach the text output as they are heard, word by word,
// and an interruption stops them where playback stopped.
func TestTranscriptFollowsPlayout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(sessiontest.Response{Text: "One two. Three four. Five six."}) // 400 ms each
		r := newVoiceRig(t, llm, nil, session.WithPreemptiveGeneration(false), session.WithFalseInterruptionTimeout(0))
		r.say("count")
		time.Sleep(500 * time.Millisecond) // commit; playout starts
		synctest.Wait()
		if got := r.tout.Current(); got != "" {
			t.Errorf("text at 0 ms = %q, want nothing yet", got)
		}
		time.Sleep(700 * time.Millisecond)
		synctest.Wait()
		// "Three" ends at 400 + 400*5/11 = 582 ms, "four." at 800 ms
		if got := r.tout.Current(); got != "One two. Three" {
			t.Errorf("text at 700 ms = %q, want the words heard", got)
		}
		r.s.Interrupt()
		synctest.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		if diff := cmp.Diff(r.tout.Messages(), []string{"One two. Three"}); diff != "" {
			t.Errorf("text messages (-got +want):\n%s", diff)
		}
		if diff := cmp.Diff(history(r.s), []string{"user: count", "assistant: One two. Three [interrupted]"}); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
	})
}

// Say with its own audio plays it instead of TTS, and keeps the text.
func TestSayWithAudio(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newVoiceRig(t, sessiontest.NewLLM(), nil)
		frames := func(yield func(session.AudioFrame) bool) {
			for range 50 { // 1 s
				if !yield(session.NewSilence(sessiontest.FrameDuration, 16000, 1)) {
					return
				}
			}
		}
		h, err := r.s.Say("Welcome to the clinic.", session.WithAudio(frames))
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if segs := r.out.Segments(); len(segs) != 1 || segs[0].Position != time.Second || segs[0].Interrupted {
			t.Errorf("playback = %+v, want 1 s played whole", segs)
		}
		if n := len(r.tts.Segments()); n != 0 {
			t.Errorf("TTS synthesised %d segments for a Say with audio", n)
		}
		if diff := cmp.Diff(history(r.s), []string{"assistant: Welcome to the clinic."}); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
		if diff := cmp.Diff(r.tout.Messages(), []string{"Welcome to the clinic."}); diff != "" {
			t.Errorf("text out (-got +want):\n%s", diff)
		}
	})
}

// While tools run after the agent spoke, it is thinking again; the next
// step's words make it speak.
func TestAgentStatesAcrossToolSteps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(
			sessiontest.Response{Text: "Checking.", ToolCalls: []session.FunctionCall{{CallID: "1", Name: "slow", Arguments: "{}"}}},
			sessiontest.Response{Text: "Done."},
		)
		a := &session.Agent{Tools: []session.Tool{tool("slow", func(context.Context, string) (session.ToolResult, error) {
			time.Sleep(time.Second)
			return session.ToolResult{Output: "ok"}, nil
		})}}
		r := newTextRig(t, llm, a)
		r.text.Send("go")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		var states []session.AgentState
		for _, e := range sessiontest.Of[session.AgentStateChangedEvent](r.rec) {
			states = append(states, e.New)
		}
		want := []session.AgentState{session.AgentListening, session.AgentThinking, session.AgentSpeaking, session.AgentThinking, session.AgentSpeaking, session.AgentListening}
		if diff := cmp.Diff(states, want); diff != "" {
			t.Errorf("agent states (-got +want):\n%s", diff)
		}
	})
}

// No preemptive generation while the agent is still speaking, and at most
// three per turn.
func TestPreemptiveGenerationLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(sessiontest.Response{Text: tenWords})
		r := newVoiceRig(t, llm, nil, session.WithMinInterruptionWords(5))
		_, _ = r.s.Say(tenWords)
		synctest.Wait()
		r.vad.StartOfSpeech()
		r.stt.Final("uh huh")
		synctest.Wait()
		if n := len(llm.Requests()); n != 0 {
			t.Errorf("requests while the agent speaks = %d, want 0", n)
		}
		r.vad.EndOfSpeech()
		time.Sleep(5 * time.Second) // the backchannel turn is dropped; the Say ends
		synctest.Wait()
		if n := len(llm.Requests()); n != 0 {
			t.Fatalf("requests after a backchannel = %d, want 0", n)
		}
		r.vad.StartOfSpeech()
		for _, w := range []string{"one", "two", "three", "four", "five"} {
			r.stt.Final(w)
			synctest.Wait()
		}
		if n := len(llm.Requests()); n != 3 {
			t.Errorf("preemptive requests over five finals = %d, want 3", n)
		}
	})
}

type brokenVAD struct{}

func (brokenVAD) Stream(context.Context) (session.VADStream, error) { return brokenVADStream{}, nil }

type brokenVADStream struct{}

func (brokenVADStream) Push(session.AudioFrame) error { return nil }
func (brokenVADStream) Recv() (session.VADEvent, error) {
	return session.VADEvent{}, sessiontest.ErrScripted
}
func (brokenVADStream) Close() error { return nil }

// When the VAD fails, the STT's own start and end of speech drive turns.
func TestSTTStandsInForAFailedVAD(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &sessiontest.Recorder{}
		stt := sessiontest.NewSTT()
		s, err := session.New(session.WithLLM(sessiontest.NewLLM(sessiontest.Response{Text: "Yes?"})), session.WithSTT(stt),
			session.WithVAD(brokenVAD{}), session.WithEventHandler(rec.Handle))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context(), &session.Agent{}, session.IO{Audio: sessiontest.NewAudioInput()}); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		synctest.Wait()
		stt.Emit(session.SpeechEvent{Type: session.SpeechStarted})
		stt.Final("hello")
		stt.Emit(session.SpeechEvent{Type: session.SpeechEnded})
		time.Sleep(time.Second)
		synctest.Wait()
		if diff := cmp.Diff(history(s), []string{"user: hello", "assistant: Yes?"}); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
	})
}

func TestContextCauseReachesCloseEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errUserLeft := errors.New("user left")
		ctx, cancel := context.WithCancelCause(t.Context())
		rec := &sessiontest.Recorder{}
		s, err := session.New(session.WithLLM(sessiontest.NewLLM()), session.WithEventHandler(rec.Handle))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx, &session.Agent{}, session.IO{}); err != nil {
			t.Fatal(err)
		}
		cancel(errUserLeft)
		<-s.Done()
		c := sessiontest.Of[session.CloseEvent](rec)
		if len(c) != 1 || c[0].Reason != session.CloseContextDone || !errors.Is(c[0].Err, errUserLeft) {
			t.Errorf("close events = %+v, want context_done with the cause", c)
		}
	})
}

func TestCloseWithReportsReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errLeft := errors.New("user left")
		rec := &sessiontest.Recorder{}
		s, err := session.New(session.WithLLM(sessiontest.NewLLM()), session.WithEventHandler(rec.Handle))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context(), &session.Agent{}, session.IO{}); err != nil {
			t.Fatal(err)
		}
		if err := s.CloseWith(session.CloseParticipantDisconnected, errLeft); err != nil {
			t.Fatal(err)
		}
		_ = s.Close() // a second close changes nothing
		c := sessiontest.Of[session.CloseEvent](rec)
		if len(c) != 1 || c[0].Reason != session.CloseParticipantDisconnected || !errors.Is(c[0].Err, errLeft) {
			t.Errorf("close events = %+v, want one participant_disconnected with the error", c)
		}
	})
}
