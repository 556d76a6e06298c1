package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/livekit-go/agents/internal/resample"
	"github.com/livekit-go/agents/internal/simuser"
	"github.com/livekit-go/agents/plugins/pocketsphinx"
)

// userEar is the demo user's hearing (a simuser.Ear): it transcribes the
// agent's voice with its own pocketsphinx decoder, at 16 kHz, on a
// goroutine of its own, so the SDK's goroutine that delivers the audio is
// never held up; what it cannot keep up with it counts and skips.
type userEar struct {
	log    *slog.Logger
	frames chan earItem // to the recognizer goroutine
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	mu      sync.Mutex
	heard   []heardUtterance
	dropped int
}

// heardUtterance is one utterance of the agent as the user's recognizer
// heard it.
type heardUtterance struct {
	Text string
	At   time.Time
}

// earItem is a piece of the agent's audio (at simuser.Rate) for the
// recognizer, or a request to end the utterance.
type earItem struct {
	pcm   []int16
	flush chan struct{}
}

var _ simuser.Ear = (*userEar)(nil)

// newUserEar starts a recognizer with opts (default: the general English
// model); Close stops it.
func newUserEar(log *slog.Logger, opts ...pocketsphinx.Option) (*userEar, error) {
	dec, err := pocketsphinx.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("the user's recognizer: %w", err)
	}
	e := &userEar{
		log:    log,
		frames: make(chan earItem, 500), // 10 s of 20 ms frames
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go e.recognize(dec) // exits when e.stop closes (Close)
	return e, nil
}

// Hear implements simuser.Ear.
func (e *userEar) Hear(pcm []int16) {
	select {
	case e.frames <- earItem{pcm: append([]int16(nil), pcm...)}:
	default: // the recognizer is behind: count it rather than hold up the SDK
		e.mu.Lock()
		e.dropped++
		e.mu.Unlock()
	}
}

// recognize runs the decoder over the agent's audio until stop.
func (e *userEar) recognize(dec *pocketsphinx.Decoder) {
	defer close(e.done)
	defer func() { _ = dec.Close() }()
	down := resample.NewDown(simuser.Rate / pocketsphinx.SampleRate)
	for {
		select {
		case <-e.stop:
			return
		case it := <-e.frames:
			var evs []pocketsphinx.Event
			var err error
			if it.flush != nil {
				var ev pocketsphinx.Event
				ev, err = dec.Flush()
				evs = []pocketsphinx.Event{ev}
			} else {
				evs, err = dec.Process(down.Process(it.pcm))
			}
			if err != nil {
				e.log.Warn("the user's recognizer", "err", err)
			}
			for _, ev := range evs {
				if ev.Type == pocketsphinx.Final && ev.Text != "" {
					e.mu.Lock()
					e.heard = append(e.heard, heardUtterance{Text: ev.Text, At: time.Now()})
					e.mu.Unlock()
				}
			}
			if it.flush != nil {
				close(it.flush)
			}
		}
	}
}

// Heard returns the agent's utterances as the recognizer heard them.
func (e *userEar) Heard() []heardUtterance {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]heardUtterance(nil), e.heard...)
}

// Dropped is how many pieces of audio the recognizer could not keep up
// with.
func (e *userEar) Dropped() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dropped
}

// Flush ends the recognizer's open utterance, so what it heard so far is
// in Heard, and returns once it has.
func (e *userEar) Flush(ctx context.Context) error {
	f := make(chan struct{})
	select {
	case e.frames <- earItem{flush: f}:
	case <-e.done:
		return errors.New("the user's recognizer: closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-f:
		return nil
	case <-e.done:
		return errors.New("the user's recognizer: closed")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the recognizer and waits for it; idempotent. Hear may still
// be called (it is dropped).
func (e *userEar) Close() {
	e.once.Do(func() { close(e.stop) })
	<-e.done
}
