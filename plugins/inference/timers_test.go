package inference

import (
	"context"
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"
)

// fakeBody feeds an attempt's watchedBody from a pipe, and ends the pipe
// when the attempt's context ends, as net/http ends a response body.
func fakeBody(a *attempt) (*watchedBody, *io.PipeWriter) {
	pr, pw := io.Pipe()
	context.AfterFunc(a.ctx, func() { pw.CloseWithError(context.Cause(a.ctx)) })
	return &watchedBody{rc: pr, a: a}, pw
}

// readUntilError reads b until an error and returns it with the time of the
// last successful read.
func readUntilError(b *watchedBody) (time.Time, error) {
	var last time.Time
	buf := make([]byte, 64)
	for {
		if _, err := b.Read(buf); err != nil {
			return last, err
		}
		last = time.Now()
	}
}

func TestIdleTimerResetsOnEveryRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateway{firstByte: 10 * time.Second, idleTimeout: 30 * time.Second}
		a := g.newAttempt(t.Context(), nil)
		defer a.end(context.Canceled)
		b, pw := fakeBody(a)
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			// A first chunk after 5 s, then 20 chunks 20 s apart: the stream
			// lasts 405 s, far past the first-byte timeout, and each gap is
			// inside the idle one. Then it goes quiet.
			time.Sleep(5 * time.Second)
			for range 21 {
				if _, err := pw.Write([]byte("x")); err != nil {
					return
				}
				time.Sleep(20 * time.Second)
			}
		}()
		last, err := readUntilError(b)
		<-done
		var te *TimeoutError
		if !errors.As(err, &te) || te.Phase != "idle" {
			t.Fatalf("err = %v, want an idle timeout", err)
		}
		if got := last.Sub(start); got != 405*time.Second {
			t.Errorf("stream lasted %v before going quiet, want 405s", got)
		}
		if got := time.Since(last); got != 30*time.Second {
			t.Errorf("timed out %v after the last read, want 30s", got)
		}
	})
}

func TestFirstByteTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateway{firstByte: 10 * time.Second, idleTimeout: 30 * time.Second}
		a := g.newAttempt(t.Context(), nil)
		defer a.end(context.Canceled)
		b, _ := fakeBody(a)
		start := time.Now()
		_, err := readUntilError(b)
		var te *TimeoutError
		if !errors.As(err, &te) || te.Phase != "first byte" || te.After != 10*time.Second {
			t.Fatalf("err = %v, want a first-byte timeout", err)
		}
		if got := time.Since(start); got != 10*time.Second {
			t.Errorf("timed out after %v, want 10s", got)
		}
	})
}

func TestBackoffSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stop := make(chan struct{})
		start := time.Now()
		if err := sleep(t.Context(), 5*time.Second, stop, errors.New("stopped")); err != nil || time.Since(start) != 5*time.Second {
			t.Fatalf("sleep = %v after %v, want nil after 5s", err, time.Since(start))
		}

		errCause := errors.New("barge-in")
		ctx, cancel := context.WithCancelCause(t.Context())
		time.AfterFunc(time.Second, func() { cancel(errCause) })
		start = time.Now()
		if err := sleep(ctx, time.Hour, stop, nil); !errors.Is(err, errCause) || time.Since(start) != time.Second {
			t.Fatalf("sleep = %v after %v, want the cause after 1s", err, time.Since(start))
		}

		errStop := errors.New("closed")
		time.AfterFunc(2*time.Second, func() { close(stop) })
		if err := sleep(t.Context(), time.Hour, stop, errStop); err != errStop {
			t.Fatalf("sleep = %v, want the stop error", err)
		}
	})
}
