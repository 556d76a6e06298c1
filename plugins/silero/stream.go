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
//
// An end of speech carries, as SpeechEndedAt, when the voice stopped
// ([Event.VoiceEnd], not the later [Event.SpeechEnd]): the capture time of
// that sample when the frames carry one (session.AudioFrame's CapturedAt),
// else the time the frame holding the latest sample was pushed, less the
// audio after the voice's end.
func (v *VAD) Stream(ctx context.Context) (session.VADStream, error) {
	d, err := v.NewDetector()
	if err != nil {
		return nil, err
	}
	s := &vadStream{d: d, rs: audio.NewMonoResampler(SampleRate), clock: audio.NewSampleClock(SampleRate), wake: make(chan struct{}, 1)}
	s.stop = context.AfterFunc(ctx, func() { s.end(ctx.Err()) })
	return s, nil
}

type vadStream struct {
	stop func() bool

	pushMu sync.Mutex // serializes Push with Close: the detector is not shared
	d      *Detector
	rs     *audio.MonoResampler
	clock  *audio.SampleClock // capture times by position at 16 kHz
	pushed int64              // samples given to the detector

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
	mono, err := s.rs.PushFrame(f)
	if err != nil {
		return fmt.Errorf("silero: %w", err)
	}
	s.clock.Mark(s.pushed, mono.CapturedAt)
	s.pushed += int64(len(mono.Data))
	evs, err := s.d.Push(mono.Data)
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
				SpeechDuration: Pos(e.VoiceEnd - e.SpeechStart),
				SpeechEndedAt:  s.timeOf(e.VoiceEnd, now),
			})
		}
	}
	s.clock.Forget(s.d.seg.oldest())
	if len(out) > 0 {
		s.mu.Lock()
		s.events = append(s.events, out...)
		s.mu.Unlock()
		s.notify()
	}
	return nil
}

// timeOf returns when the sample at pos was spoken: its capture time, or,
// for frames that carry none, now (when the latest sample was pushed) less
// the audio after it, as audio comes in real time.
func (s *vadStream) timeOf(pos int64, now time.Time) time.Time {
	if at, ok := s.clock.At(pos); ok {
		return at
	}
	return now.Add(-Pos(s.pushed - pos))
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
