package silero

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/livekit-go/agents/audio"
	"github.com/livekit-go/agents/session"
)

var _ session.VAD = (*VAD)(nil)

// Stream opens a [session.VADStream]: frames of any rate and channel count
// are mixed down and resampled to 16 kHz, scored by a fresh [Detector], and
// turned into start and end of speech events (inference events are not
// sent: the session does not use them). Push runs the model in the caller's
// goroutine, about 3 ms per 20 ms frame here, so no goroutine is started.
// Cancelling ctx ends the stream; the caller closes it.
func (v *VAD) Stream(ctx context.Context) (session.VADStream, error) {
	d, err := v.NewDetector()
	if err != nil {
		return nil, err
	}
	s := &vadStream{d: d, rs: audio.NewMonoResampler(SampleRate), wake: make(chan struct{}, 1)}
	s.stop = context.AfterFunc(ctx, func() { s.end(ctx.Err()) })
	return s, nil
}

type vadStream struct {
	stop func() bool

	pushMu sync.Mutex // serializes Push with Close: the detector is not shared
	d      *Detector
	rs     *audio.MonoResampler

	mu     sync.Mutex
	events []session.VADEvent
	err    error // set once: io.EOF after Close, or ctx's error
	wake   chan struct{}
}

var errStreamClosed = errors.New("silero: stream closed")

func (s *vadStream) Push(f session.AudioFrame) error {
	s.pushMu.Lock()
	defer s.pushMu.Unlock()
	if s.d == nil {
		return errStreamClosed
	}
	pcm, err := s.rs.Push(f)
	if err != nil {
		return fmt.Errorf("silero: %w", err)
	}
	evs, err := s.d.Push(pcm)
	if err != nil {
		return err
	}
	now := time.Now()
	var out []session.VADEvent
	for _, e := range evs {
		switch e.Type {
		case StartOfSpeech:
			out = append(out, session.VADEvent{
				Type: session.VADStartOfSpeech, Probability: e.Probability,
				SpeechDuration: Pos(e.At - e.SpeechStart),
			})
		case EndOfSpeech:
			out = append(out, session.VADEvent{
				Type: session.VADEndOfSpeech, Probability: e.Probability,
				SpeechDuration: Pos(e.SpeechEnd - e.SpeechStart),
				// Audio arrives in real time, so the silence that ended
				// speech began this long before now.
				SpeechEndedAt: now.Add(-Pos(e.At - e.SpeechEnd)),
			})
		}
	}
	if len(out) > 0 {
		s.mu.Lock()
		s.events = append(s.events, out...)
		s.mu.Unlock()
		s.notify()
	}
	return nil
}

func (s *vadStream) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *vadStream) Recv() (session.VADEvent, error) {
	for {
		s.mu.Lock()
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return session.VADEvent{}, err
		}
		if len(s.events) > 0 {
			e := s.events[0]
			s.events = s.events[1:]
			s.mu.Unlock()
			return e, nil
		}
		s.mu.Unlock()
		<-s.wake
	}
}

// end makes Recv return err from now on (the first caller wins).
func (s *vadStream) end(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.notify()
}

func (s *vadStream) Close() error {
	s.stop()
	s.end(io.EOF)
	s.pushMu.Lock()
	defer s.pushMu.Unlock()
	if s.d == nil {
		return nil
	}
	err := s.d.Close()
	s.d = nil
	return err
}
