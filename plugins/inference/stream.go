package inference

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/livekit-go/agents/session"
)

// stream is the session.LLMStream of one request. Recv is for one goroutine;
// Close may be called from any goroutine, also while Recv is blocked.
//
// After Close, Recv returns session.ErrStreamClosed. When ctx is cancelled,
// Recv returns context.Cause(ctx).
type stream struct {
	g     *gateway
	model string
	body  []byte
	// n is how many choices were asked for (0: the default, 1), which
	// bounds the choices the decoder keeps.
	n int
	// extras puts the extra headers and query on each attempt (setExtras).
	extras func(*http.Request)
	start  time.Time
	// ctx is the request's context, kept because a retry inside Recv opens a
	// new HTTP request under it.
	ctx context.Context

	// Owned by the Recv goroutine.
	oa        *openai.ChatCompletionStream
	dec       decoder
	queue     []session.ChatChunk // decoded, not yet returned: queue[head:]
	head      int
	delivered bool // a chunk reached the caller: no more retries
	err       error

	closed    chan struct{}
	closeOnce sync.Once
	endOnce   sync.Once

	// mu guards the current attempt (Close cancels it) and what metrics
	// read (Close may deliver them).
	mu       sync.Mutex
	cur      *attempt
	isClosed bool
	attempts int
	ttft     time.Duration
	usage    *session.Usage
	complID  string
}

// open makes attempts until one gets a response. lastErr, when not nil, is
// the failure of the attempt before, decides whether to retry, and sets
// the wait.
func (s *stream) open(lastErr error) error {
	for {
		if lastErr != nil {
			s.mu.Lock()
			n := s.attempts
			s.mu.Unlock()
			if !retryable(lastErr) || n > s.g.maxRetries {
				return lastErr
			}
			wait := backoff(s.g.backoffBase, n, lastErr)
			s.g.logger.LogAttrs(s.ctx, slog.LevelWarn, "inference request failed, retrying",
				slog.Int("attempt", n), slog.Duration("wait", wait), slog.String("error", lastErr.Error()))
			if err := sleep(s.ctx, wait, s.closed, session.ErrStreamClosed); err != nil {
				return err
			}
		}
		lastErr = s.try()
		if lastErr == nil {
			return nil
		}
	}
}

// try makes one attempt.
func (s *stream) try() error {
	a := s.g.newAttempt(s.ctx, s.body)
	a.extras = s.extras
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		a.end(session.ErrStreamClosed)
		return session.ErrStreamClosed
	}
	s.cur = a
	s.attempts++
	s.mu.Unlock()

	// go-openai gets the model only: the body on the wire is s.body (the
	// doer swaps it in), so its client-side checks of other fields never
	// see, and never reject, what our rules accept.
	oa, err := s.g.client.CreateChatCompletionStream(a.ctx, openai.ChatCompletionRequest{Model: s.model})
	if err != nil {
		a.end(context.Canceled)
		return fromOpenAIError(s.ctx, err)
	}
	s.oa = oa
	s.dec = newDecoder(s.model, s.n)
	return nil
}

// Recv returns the next chunk, io.EOF after the last, or the error that
// ended the stream. An error before any chunk reached the caller is retried
// when it is retryable and retries remain.
func (s *stream) Recv() (session.ChatChunk, error) {
	for {
		select {
		case <-s.closed:
			// Nothing more after Close, not even chunks already decoded.
			if s.err == nil {
				s.end(session.ErrStreamClosed)
			}
			return session.ChatChunk{}, session.ErrStreamClosed
		default:
		}
		// Nor after cancellation (a barge-in must not be followed by text
		// go-openai had already buffered), unless the stream had already
		// ended: then what is queued is the whole answer, and it is given.
		if s.err != io.EOF {
			select {
			case <-s.ctx.Done():
				if s.err == nil {
					s.end(context.Cause(s.ctx))
				}
				return session.ChatChunk{}, s.err
			default:
			}
		}
		if s.head < len(s.queue) {
			c := s.queue[s.head]
			s.queue[s.head] = session.ChatChunk{}
			s.head++
			if s.head == len(s.queue) {
				// Reuse the queue's array: most lines yield one chunk.
				s.queue, s.head = s.queue[:0], 0
			}
			s.delivered = true
			return c, nil
		}
		if s.err != nil {
			if s.err == io.EOF {
				s.release()
			}
			return session.ChatChunk{}, s.err
		}
		raw, err := s.oa.RecvRaw()
		if err == nil {
			if len(raw) == 0 {
				// go-openai returns an empty line with no error when an
				// error event could not be parsed together with other
				// lines it collected; the body's filter keeps such lines
				// from it, so this is a safeguard.
				err = &APIError{InStream: true, Message: "unreadable error event"}
			} else if err = s.dec.decodeLine(raw, &s.queue); err == nil {
				s.noteProgress()
				continue
			}
		}
		if err == io.EOF {
			if ev := s.cur.errorEvent(); ev != nil {
				// The body ended at an error event (see sseFilter).
				err = streamError(ev)
			}
		}
		if err == io.EOF {
			s.dec.flush(&s.queue)
			s.noteProgress()
			// The stream is over; the connection is released (and its end
			// read, for reuse) once the caller has taken the last chunk.
			s.err = io.EOF
			s.finish(io.EOF)
			continue
		}
		err = fromOpenAIError(s.ctx, err)
		if !s.delivered && len(s.queue) == 0 && retryable(err) {
			s.dec = newDecoder(s.model, s.n)
			s.cur.end(err)
			if err = s.open(err); err == nil {
				continue
			}
		}
		s.end(err)
	}
}

// noteProgress records what metrics need from the decoder: the time of the
// first content, the completion id and the usage.
func (s *stream) noteProgress() {
	if len(s.queue) == 0 && s.dec.usage == nil {
		return
	}
	s.mu.Lock()
	if s.ttft == 0 && s.dec.sawContent {
		s.ttft = time.Since(s.start)
	}
	s.complID = s.dec.id
	if u := s.dec.usage; u != nil {
		// A copy: the decoder keeps adding to its own without the lock.
		uc := *u
		s.usage = &uc
	}
	s.mu.Unlock()
}

// release ends the attempt of a stream that ended cleanly, reading the
// rest of its body first so that the connection can be reused. Only the
// first call does anything.
func (s *stream) release() {
	s.mu.Lock()
	a := s.cur
	s.mu.Unlock()
	if a == nil || a.ended.Load() {
		return
	}
	a.drain(s.g.drainWait)
	a.end(io.EOF)
}

// end finishes the stream with err (io.EOF for a clean end): the connection
// is released and the metrics delivered.
func (s *stream) end(err error) {
	s.err = err
	s.mu.Lock()
	a := s.cur
	s.mu.Unlock()
	if a != nil {
		a.end(err)
	}
	s.finish(err)
}

// Close ends the stream and releases its connection; a blocked Recv returns
// session.ErrStreamClosed. It is idempotent and returns nil.
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.mu.Lock()
		s.isClosed = true
		a := s.cur
		s.mu.Unlock()
		if a != nil {
			a.end(session.ErrStreamClosed)
		}
		s.finish(session.ErrStreamClosed)
	})
	return nil
}

// finish delivers the metrics, once.
func (s *stream) finish(err error) {
	s.endOnce.Do(func() {
		if s.g.onMetrics == nil {
			return
		}
		m := Metrics{Model: s.model, Start: s.start, Duration: time.Since(s.start)}
		if err != io.EOF {
			m.Err = err
		}
		s.mu.Lock()
		m.Attempts = s.attempts
		m.TTFT = s.ttft
		m.CompletionID = s.complID
		if s.cur != nil {
			m.RequestID = s.cur.reqID()
		}
		if u := s.usage; u != nil {
			m.PromptTokens, m.CompletionTokens = u.PromptTokens, u.CompletionTokens
			m.TotalTokens, m.CachedPromptTokens = u.TotalTokens, u.CachedPromptTokens
		}
		s.mu.Unlock()
		if m.CompletionTokens > 0 && m.Duration > 0 {
			m.TokensPerSecond = float64(m.CompletionTokens) / m.Duration.Seconds()
		}
		// Called without locks held: the hook may do anything.
		s.g.onMetrics(m)
	})
}

// fromOpenAIError converts an error event go-openai parsed itself into an
// *APIError. Errors from the doer and the body are already this package's
// (or the context's cause) and pass through; anything else go-openai made
// up is prefixed.
func fromOpenAIError(ctx context.Context, err error) error {
	var oe *openai.APIError
	if errors.As(err, &oe) {
		e := &APIError{InStream: true, Message: oe.Message, Type: oe.Type}
		switch c := oe.Code.(type) {
		case nil:
		case string:
			e.Code = c
		case int:
			e.Code = strconv.Itoa(c)
			// Some providers put the HTTP status in the code.
			if c >= 400 && c < 600 {
				e.Status = c
			}
		default:
			e.Code = fmt.Sprint(c)
		}
		return e
	}
	var (
		ae *APIError
		ce *ConnectionError
		te *TimeoutError
	)
	if cause := context.Cause(ctx); cause != nil && errors.Is(err, cause) {
		return err
	}
	switch {
	case err == io.EOF, errors.Is(err, session.ErrStreamClosed), errors.As(err, &ae), errors.As(err, &ce), errors.As(err, &te),
		strings.HasPrefix(err.Error(), "inference: "):
		return err
	}
	return fmt.Errorf("inference: %w", err)
}
