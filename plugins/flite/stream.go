package flite

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/livekit-go/agents/session"
)

var _ session.TTS = (*TTS)(nil)

// FrameSamples is the length of the frames a stream returns: 20 ms.
const FrameSamples = SampleRate / 50

// Stream opens a [session.TTSStream]. Text pushed is buffered until Flush,
// which synthesizes it in the caller's goroutine (flite makes a sentence in
// a few tens of milliseconds) and queues 20 ms frames for Recv, each
// carrying the flushed text, the last one marked SegmentEnd. No goroutine
// is started. Cancelling ctx ends the stream; the caller closes it.
func (t *TTS) Stream(ctx context.Context) (session.TTSStream, error) {
	s := &ttsStream{tts: t, ctx: ctx, wake: make(chan struct{}, 1)}
	s.stop = context.AfterFunc(ctx, func() { s.end(ctx.Err()) })
	return s, nil
}

var errStreamClosed = errors.New("flite: stream closed")

type ttsStream struct {
	tts  *TTS
	ctx  context.Context // the stream's lifetime, as the contract defines it
	stop func() bool

	inMu   sync.Mutex // PushText/Flush/EndInput
	text   strings.Builder
	ended  bool
	closed bool

	mu     sync.Mutex
	frames []session.SynthesizedAudio
	err    error
	drain  bool // err waits for the queue to empty
	wake   chan struct{}
}

func (s *ttsStream) PushText(text string) error {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	if s.closed || s.ended {
		return errStreamClosed
	}
	s.text.WriteString(text)
	return nil
}

func (s *ttsStream) Flush() error {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	if s.closed || s.ended {
		return errStreamClosed
	}
	return s.flushLocked()
}

func (s *ttsStream) flushLocked() error {
	seg := strings.TrimSpace(s.text.String())
	s.text.Reset()
	if seg == "" {
		return nil
	}
	pcm, err := s.tts.Synthesize(s.ctx, seg)
	if err != nil {
		if s.ctx.Err() != nil {
			return nil // the stream already ends with ctx's error
		}
		s.end(err)
		return err
	}
	var out []session.SynthesizedAudio
	for len(pcm) > 0 {
		n := min(FrameSamples, len(pcm))
		out = append(out, session.SynthesizedAudio{
			Frame: session.AudioFrame{Data: pcm[:n:n], SampleRate: SampleRate, NumChannels: 1, SamplesPerChannel: n},
			Text:  seg,
		})
		pcm = pcm[n:]
	}
	if len(out) == 0 {
		return nil
	}
	out[len(out)-1].SegmentEnd = true
	s.mu.Lock()
	s.frames = append(s.frames, out...)
	s.mu.Unlock()
	s.notify()
	return nil
}

func (s *ttsStream) EndInput() error {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	if s.closed {
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

func (s *ttsStream) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *ttsStream) Recv() (session.SynthesizedAudio, error) {
	for {
		s.mu.Lock()
		if s.err != nil && !s.drain {
			err := s.err
			s.mu.Unlock()
			return session.SynthesizedAudio{}, err
		}
		if len(s.frames) > 0 {
			a := s.frames[0]
			s.frames = s.frames[1:]
			s.mu.Unlock()
			return a, nil
		}
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return session.SynthesizedAudio{}, err
		}
		s.mu.Unlock()
		<-s.wake
	}
}

// end makes Recv return err at once; a pending drain is cut short.
func (s *ttsStream) end(err error) {
	s.mu.Lock()
	if s.err == nil || s.drain {
		s.err, s.drain = err, false
	}
	s.mu.Unlock()
	s.notify()
}

// Close ends the stream; a Flush already synthesizing finishes its sentence
// first (flite cannot be interrupted mid-sentence).
func (s *ttsStream) Close() error {
	s.stop()
	s.end(io.EOF)
	s.inMu.Lock()
	s.closed = true
	s.inMu.Unlock()
	return nil
}
