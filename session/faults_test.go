package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

// Fakes that fail on cue, for the scenarios of what the session does when a
// part breaks. They wrap the sessiontest fakes.

// flakyTTS is a TTS whose streams fail once they delivered failAfter
// frames.
type flakyTTS struct {
	*sessiontest.TTS
	failAfter int
	err       error
}

func (f *flakyTTS) Stream(ctx context.Context) (session.TTSStream, error) {
	st, err := f.TTS.Stream(ctx)
	if err != nil {
		return nil, err
	}
	return &flakyTTSStream{TTSStream: st, left: f.failAfter, err: f.err}, nil
}

type flakyTTSStream struct {
	session.TTSStream
	left int
	err  error
}

func (s *flakyTTSStream) Recv() (session.SynthesizedAudio, error) {
	if s.left <= 0 {
		return session.SynthesizedAudio{}, s.err
	}
	s.left--
	return s.TTSStream.Recv()
}

// brokenOutput is an audio output whose CaptureFrame fails once it took
// okFrames frames, as room I/O does once its track is gone.
type brokenOutput struct {
	*sessiontest.AudioOutput
	mu       sync.Mutex
	okFrames int
	err      error
}

func (o *brokenOutput) CaptureFrame(ctx context.Context, f session.AudioFrame) error {
	o.mu.Lock()
	if o.okFrames <= 0 {
		o.mu.Unlock()
		return o.err
	}
	o.okFrames--
	o.mu.Unlock()
	return o.AudioOutput.CaptureFrame(ctx, f)
}

// flakyAudioInput returns the errors queued with Fail before the frames
// pushed after them.
type flakyAudioInput struct {
	*sessiontest.AudioInput
	mu   sync.Mutex
	errs []error
}

func (a *flakyAudioInput) Fail(errs ...error) {
	a.mu.Lock()
	a.errs = append(a.errs, errs...)
	a.mu.Unlock()
}

func (a *flakyAudioInput) RecvFrame(ctx context.Context) (session.AudioFrame, error) {
	a.mu.Lock()
	if len(a.errs) > 0 {
		err := a.errs[0]
		a.errs = a.errs[1:]
		a.mu.Unlock()
		return session.AudioFrame{}, err
	}
	a.mu.Unlock()
	return a.AudioInput.RecvFrame(ctx)
}

// startSession starts a session with rec as its event handler and closes it
// when the test ends.
func startSession(t *testing.T, agent *session.Agent, io session.IO, rec *sessiontest.Recorder, opts ...session.Option) *session.Session {
	t.Helper()
	if agent == nil {
		agent = &session.Agent{}
	}
	s, err := session.New(append([]session.Option{session.WithEventHandler(rec.Handle)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context(), agent, io); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// closed reports whether the session closed.
func closed(s *session.Session) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

// errorSources lists the sources of the recorded error events.
func errorSources(rec *sessiontest.Recorder) []string {
	var out []string
	for _, e := range sessiontest.Of[session.ErrorEvent](rec) {
		out = append(out, e.Source)
	}
	return out
}

// waitOrFail waits for ch up to d (of the bubble's clock).
func waitOrFail[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s: still waiting after %v", what, d)
	}
	var zero T
	return zero
}

var errPipe = errors.New("broken pipe")
