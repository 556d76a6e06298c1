package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// Preemptive generation is skipped for turns that were revised this many
// times or that run longer than this, as LiveKit Agents does: they change
// too often for a guess to survive, and cost a request each time.
const (
	maxPreemptTries  = 3
	maxPreemptSpeech = 10 * time.Second
)

// sttReopenInterval is the least time between two attempts to open an STT
// stream, so a failing STT is retried without spinning on every frame.
const sttReopenInterval = time.Second

// sttEndTimeout bounds the wait, once the audio input ended, for the STT's
// last transcripts (its stream ends after them).
const sttEndTimeout = 2 * time.Second

// An input that fails is read again after inputRetryDelay, doubled on each
// failure in a row; after maxInputRetries failures in a row the session
// closes with the input's error.
const (
	inputRetryDelay = 100 * time.Millisecond
	maxInputRetries = 5
)

// inputReader reads one input (audio or text) and keeps reading through
// errors: each is reported, and the next read waits a little longer, until
// too many in a row close the session.
type inputReader struct {
	l      *loop
	source string // SourceAudioInput or SourceTextInput
	fails  int
}

// failed handles a read error and reports whether to read on.
func (r *inputReader) failed(ctx context.Context, err error) bool {
	s := r.l.s
	if ctx.Err() != nil {
		return false // the session is closing: not the input's fault
	}
	if err == io.EOF {
		which := r.source
		_ = s.inbox.putWait(ctx, func(l *loop) { l.inputEnded(which) })
		return false
	}
	r.fails++
	source, n := r.source, r.fails
	if n > maxInputRetries {
		closeErr := fmt.Errorf("session: %s failed %d times in a row: %w", source, n, err)
		s.report(source, err)
		s.closeWith(CloseError, closeErr)
		return false
	}
	// Recoverable: the reader retries on its own; the close above is the
	// budget.
	s.report(source, recoverable{err})
	t := time.NewTimer(inputRetryDelay << (n - 1))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// recoverable marks an error the session handles itself (a retried read).
type recoverable struct{ error }

func (r recoverable) Unwrap() error     { return r.error }
func (r recoverable) Recoverable() bool { return true }

// startInputs starts the goroutines that read the inputs.
func (l *loop) startInputs() {
	s := l.s
	ctx := l.ctx
	if l.io.Text != nil {
		l.inputsOpen++
		r := &inputReader{l: l, source: SourceTextInput}
		s.spawn("text input", func() { // exits when the input ends, fails for good, or ctx ends
			for {
				text, err := l.io.Text.RecvText(ctx)
				if err != nil {
					if r.failed(ctx, err) {
						continue
					}
					return
				}
				r.fails = 0
				if s.inbox.putWait(ctx, func(l *loop) { l.onUserText(text) }) != nil {
					return
				}
			}
		})
	}
	if l.io.Audio != nil {
		l.inputsOpen++
		l.startAudio()
	}
}

// sttConn is one STT stream and its reader.
type sttConn struct {
	stream  STTStream
	failed  atomic.Bool   // the reader saw the stream fail
	closing atomic.Bool   // the audio reader closed it: errors are expected
	done    chan struct{} // closed when the reader returned
}

// awaitEnd waits up to d for the stream to end (its last events posted).
func (c *sttConn) awaitEnd(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
	case <-ctx.Done():
	}
}

// startAudio starts the goroutines that feed the user's audio to the VAD
// and the STT and read what they say. It runs before the loop handles
// anything, so it reports by posting like any other goroutine.
func (l *loop) startAudio() {
	s, ctx := l.s, l.ctx
	report := func(source string, err error) {
		if ctx.Err() == nil {
			s.report(source, err)
		}
	}
	// Without a working VAD, the STT's start and end of speech stand in.
	vadDown := func() { s.post(func(l *loop) { l.vadAlive = false }) }
	var vs VADStream
	if s.o.vad != nil {
		v, err := s.o.vad.Stream(ctx)
		if err != nil {
			report(SourceVAD, err)
		} else {
			vs = v
			l.vadAlive = true       // before the loop goroutine starts (see Start)
			s.spawn("vad", func() { // exits when the stream ends (closed by the audio reader)
				for {
					ev, err := v.Recv()
					if err != nil {
						if err != io.EOF && !errors.Is(err, ErrStreamClosed) {
							report(SourceVAD, err)
							vadDown()
						}
						return
					}
					if s.inbox.putWait(ctx, func(l *loop) { l.onVAD(ev) }) != nil {
						return
					}
				}
			})
		}
	}
	var stt *sttConn
	var sttOpened time.Time
	openSTT := func() {
		sttOpened = time.Now()
		st, err := s.o.stt.Stream(ctx)
		if err != nil {
			report(SourceSTT, err)
			return
		}
		c := &sttConn{stream: st, done: make(chan struct{})}
		stt = c
		s.spawn("stt", func() { // exits when the stream ends (closed by the audio reader)
			defer close(c.done)
			for {
				ev, err := st.Recv()
				if err != nil {
					if err != io.EOF && !c.closing.Load() {
						c.failed.Store(true)
						report(SourceSTT, err)
					}
					return
				}
				if s.inbox.putWait(ctx, func(l *loop) { l.onSTT(ev) }) != nil {
					return
				}
			}
		})
	}
	closeSTT := func() {
		stt.closing.Store(true)
		_ = stt.stream.Close()
		stt = nil
	}
	if s.o.stt != nil {
		openSTT()
	}
	r := &inputReader{l: l, source: SourceAudioInput}
	s.spawn("audio input", func() { // exits when the input ends, fails for good, or ctx ends; closes the streams
		defer func() {
			if vs != nil {
				_ = vs.Close()
			}
			if stt != nil {
				closeSTT()
			}
		}()
		for {
			f, err := l.io.Audio.RecvFrame(ctx)
			if err != nil {
				if stt != nil && err == io.EOF {
					// The STT's last transcripts come after the end of its
					// input; the loop hears of the end once they are in.
					_ = stt.stream.EndInput()
					stt.awaitEnd(ctx, sttEndTimeout)
				}
				if r.failed(ctx, err) {
					continue
				}
				return
			}
			r.fails = 0
			if vs != nil {
				if err := vs.Push(f); err != nil {
					report(SourceVAD, err)
					vadDown()
					_ = vs.Close()
					vs = nil
				}
			}
			if s.o.stt == nil {
				continue
			}
			// One failed connection must not leave the session deaf: reopen.
			if stt != nil && stt.failed.Load() {
				closeSTT()
			}
			if stt == nil && time.Since(sttOpened) >= sttReopenInterval {
				openSTT()
			}
			if stt == nil {
				continue
			}
			if l.sttFlush.Swap(false) {
				_ = stt.stream.Flush() // the VAD heard speech end: ask for the final now
			}
			if err := stt.stream.Push(f); err != nil {
				report(SourceSTT, err)
				closeSTT()
			}
		}
	})
}

// inputEnded handles the clean end (io.EOF) of an input.
func (l *loop) inputEnded(which string) {
	if l.closing {
		return
	}
	l.inputsOpen--
	if which == SourceAudioInput {
		// No more audio: the user is not speaking any more, and a start of
		// speech still in flight (onSpeechStart) is void. Without this a
		// speech paused by them would wait for an end that never comes.
		l.audioEnded = true
		if l.userSpeaking {
			l.onSpeechEnd(time.Time{})
		}
		if len(l.finals) > 0 || strings.TrimSpace(l.interim) != "" {
			// No more words can come: the turn ended with the audio.
			// Waiting for endpointing would let the drain below close
			// the session without it.
			l.commitTurn(time.Now(), false)
		}
	}
	if l.inputsOpen <= 0 {
		// Finish what was asked, then close.
		l.draining = true
		l.maybeDrained()
	}
}
