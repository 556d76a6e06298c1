package session

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// ClosedError says why a session closed: [Session.Err] and
// [Session.Wait] return it once the session is done, and Close returns it
// when it had to abandon work. errors.Is(err, ErrSessionClosed) holds for
// it, and so does errors.Is(err, e.Err) for the error behind the close.
type ClosedError struct {
	Reason CloseReason
	// Err is the error behind CloseError, or the one CloseWith or the
	// context's cause gave.
	Err error
	// Abandoned names the work that still ran when the close grace (see
	// [WithCloseTimeout]) ran out, e.g. `tool "lookup"` or "event handler".
	// The session stopped waiting for it; it runs on until it returns.
	Abandoned []string
}

func (e *ClosedError) Error() string {
	var b strings.Builder
	b.WriteString("session: closed (")
	b.WriteString(string(e.Reason))
	b.WriteString(")")
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if len(e.Abandoned) > 0 {
		b.WriteString("; abandoned after the close grace: ")
		b.WriteString(strings.Join(e.Abandoned, ", "))
	}
	return b.String()
}

// Unwrap returns ErrSessionClosed and the error behind the close.
func (e *ClosedError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrSessionClosed}
	}
	return []error{ErrSessionClosed, e.Err}
}

// workers are the goroutines a session starts, by name, so that Close can
// wait for them and say which ones it gave up on.
type workers struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	next    uint64
	running map[uint64]string
}

// spawn runs fn on a goroutine the session waits for when it closes; name
// says what it is, for the close report.
func (s *Session) spawn(name string, fn func()) {
	w := &s.workers
	w.wg.Add(1)
	w.mu.Lock()
	if w.running == nil {
		w.running = make(map[uint64]string)
	}
	id := w.next
	w.next++
	w.running[id] = name
	w.mu.Unlock()
	go func() {
		defer func() {
			w.mu.Lock()
			delete(w.running, id)
			w.mu.Unlock()
			w.wg.Done()
		}()
		fn()
	}()
}

// stillRunning names the workers that have not returned, sorted, each
// once with a count when several share a name.
func (w *workers) stillRunning() []string {
	w.mu.Lock()
	count := make(map[string]int, len(w.running))
	for _, name := range w.running {
		count[name]++
	}
	w.mu.Unlock()
	out := make([]string, 0, len(count))
	for name, n := range count {
		if n > 1 {
			name = fmt.Sprintf("%s (x%d)", name, n)
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// awaitWorkers posts done to the loop once every worker returned, or with
// the ones still running at deadline.
func (s *Session) awaitWorkers(deadline time.Time, done func(abandoned []string)) {
	go func() { // exits when the workers are done or the deadline passed
		finished := make(chan struct{})
		go func() { // exits when the last worker returns, abandoned or not
			s.workers.wg.Wait()
			close(finished)
		}()
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		var abandoned []string
		select {
		case <-finished:
		case <-timer.C:
			abandoned = s.workers.stillRunning()
		}
		s.post(func(*loop) { done(abandoned) })
	}()
}

// Err returns nil while the session runs and, once [Session.Done] is
// closed, a *[ClosedError] with the reason it closed for.
func (s *Session) Err() error {
	select {
	case <-s.done:
	default:
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeErr
}

// Wait blocks until the session closed, then returns [Session.Err], or
// returns ctx's cause if ctx ends first.
func (s *Session) Wait(ctx context.Context) error {
	if err := waitFor(ctx, s.done); err != nil {
		return err
	}
	return s.Err()
}

// finish records why the session closed and closes Done.
func (s *Session) finish(e *ClosedError) {
	s.mu.Lock()
	s.closeErr = e
	s.mu.Unlock()
	close(s.done)
}
