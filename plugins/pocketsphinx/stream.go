package pocketsphinx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/livekit-go/agents/audio"
	"github.com/livekit-go/agents/session"
)

// STT is a [session.STT] that opens a pocketsphinx [Decoder] per stream,
// configured with the options given to [NewSTT]. It is safe for
// concurrent use.
type STT struct {
	opts []Option
}

var _ session.STT = (*STT)(nil)

// NewSTT checks the options by loading a decoder once, so a missing model
// or a bad grammar fails here rather than when the first user speaks.
func NewSTT(opts ...Option) (*STT, error) {
	d, err := New(opts...)
	if err != nil {
		return nil, err
	}
	if err := d.Close(); err != nil {
		return nil, err
	}
	return &STT{opts: opts}, nil
}

// Stream loads a decoder (a fraction of a second with the full English
// language model) and returns a stream over it. Push decodes in the
// caller's goroutine; no goroutine is started. Frames of any rate and
// channel count are brought to 16 kHz mono. Cancelling ctx ends the stream;
// the caller closes it.
func (s *STT) Stream(ctx context.Context) (session.STTStream, error) {
	d, err := New(s.opts...)
	if err != nil {
		return nil, err
	}
	st := &sttStream{d: d, rs: audio.NewMonoResampler(SampleRate), wake: make(chan struct{}, 1)}
	st.stop = context.AfterFunc(ctx, func() { st.end(ctx.Err()) })
	return st, nil
}

var errStreamClosed = errors.New("pocketsphinx: stream closed")

type sttStream struct {
	stop func() bool

	decMu sync.Mutex // the decoder is not safe for concurrent use
	d     *Decoder
	rs    *audio.MonoResampler
	ended bool // EndInput was called

	mu     sync.Mutex
	events []session.SpeechEvent
	err    error // once set, Recv returns it after the queue drains (io.EOF) or at once
	drain  bool  // err waits for the queue to empty
	wake   chan struct{}
}

func (s *sttStream) Push(f session.AudioFrame) error {
	s.decMu.Lock()
	defer s.decMu.Unlock()
	if s.d == nil || s.ended {
		return errStreamClosed
	}
	pcm, err := s.rs.Push(f)
	if err != nil {
		return fmt.Errorf("pocketsphinx: %w", err)
	}
	evs, err := s.d.Process(pcm)
	if err != nil {
		return err
	}
	s.queue(evs...)
	return nil
}

// queue maps decoder events to session events: a final result is also the
// end of speech, as pocketsphinx only finalizes when its detector hears
// the utterance end.
func (s *sttStream) queue(evs ...Event) {
	var out []session.SpeechEvent
	for _, e := range evs {
		switch e.Type {
		case SpeechStarted:
			out = append(out, session.SpeechEvent{Type: session.SpeechStarted})
		case Interim:
			out = append(out, session.SpeechEvent{Type: session.SpeechInterim, Text: e.Text, Language: "en-US"})
		case Final:
			out = append(out, session.SpeechEvent{Type: session.SpeechFinal, Text: e.Text, Language: "en-US"},
				session.SpeechEvent{Type: session.SpeechEnded})
		}
	}
	if len(out) == 0 {
		return
	}
	s.mu.Lock()
	s.events = append(s.events, out...)
	s.mu.Unlock()
	s.notify()
}

func (s *sttStream) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Flush finalizes what was pushed so far. An utterance with no words gives
// no final (there is nothing to commit).
func (s *sttStream) Flush() error {
	s.decMu.Lock()
	defer s.decMu.Unlock()
	if s.d == nil || s.ended {
		return errStreamClosed
	}
	return s.flushLocked()
}

func (s *sttStream) flushLocked() error {
	wasSpeaking := s.d.speaking
	ev, err := s.d.Flush()
	if err != nil {
		return err
	}
	if ev.Text != "" || wasSpeaking {
		s.queue(ev)
	}
	return nil
}

func (s *sttStream) EndInput() error {
	s.decMu.Lock()
	defer s.decMu.Unlock()
	if s.d == nil {
		return errStreamClosed
	}
	if s.ended {
		return nil
	}
	s.ended = true
	err := s.flushLocked()
	s.mu.Lock()
	if s.err == nil {
		s.err, s.drain = io.EOF, true
	}
	s.mu.Unlock()
	s.notify()
	return err
}

func (s *sttStream) Recv() (session.SpeechEvent, error) {
	for {
		s.mu.Lock()
		if s.err != nil && !s.drain {
			err := s.err
			s.mu.Unlock()
			return session.SpeechEvent{}, err
		}
		if len(s.events) > 0 {
			e := s.events[0]
			s.events = s.events[1:]
			s.mu.Unlock()
			return e, nil
		}
		if s.err != nil { // drained
			err := s.err
			s.mu.Unlock()
			return session.SpeechEvent{}, err
		}
		s.mu.Unlock()
		<-s.wake
	}
}

// end makes Recv return err at once (the first error wins, but an end
// that interrupts stops a pending drain).
func (s *sttStream) end(err error) {
	s.mu.Lock()
	if s.err == nil || s.drain {
		s.err, s.drain = err, false
	}
	s.mu.Unlock()
	s.notify()
}

func (s *sttStream) Close() error {
	s.stop()
	s.end(io.EOF)
	s.decMu.Lock()
	defer s.decMu.Unlock()
	if s.d == nil {
		return nil
	}
	err := s.d.Close()
	s.d = nil
	return err
}
