package worker

import (
	"context"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// recordConn records what the worker writes; it has nothing to read.
type recordConn struct {
	mu     sync.Mutex
	msgs   []*livekit.WorkerMessage
	closed bool
}

func (c *recordConn) ReadMessage() (int, []byte, error) { return 0, nil, io.EOF }
func (c *recordConn) WriteMessage(_ int, b []byte) error {
	m := &livekit.WorkerMessage{}
	if err := proto.Unmarshal(b, m); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
	return nil
}
func (c *recordConn) WriteControl(int, []byte, time.Time) error { return nil }
func (c *recordConn) SetReadDeadline(time.Time) error           { return nil }
func (c *recordConn) SetWriteDeadline(time.Time) error          { return nil }
func (c *recordConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *recordConn) counts() (statuses, pings int, closed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		switch {
		case m.GetUpdateWorker() != nil:
			statuses++
		case m.GetPing() != nil:
			pings++
		}
	}
	return statuses, pings, c.closed
}

// The status/ping loop on a fake clock: a status at once and every
// interval, a ping every ping interval, and the connection closed at the
// first ping after the server has been silent longer than the timeout.
func TestStatusLoopClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newTestWorker(t, "ws://127.0.0.1:1", func(ctx context.Context, job *Job) error { return nil },
			WithStatusInterval(time.Second), WithPing(4700*time.Millisecond, 12*time.Second))
		c := &recordConn{}
		s := newSession(c)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := make(chan struct{})
		go func() { // exits when it closes the silent connection, or ctx ends
			defer close(done)
			w.statusLoop(ctx, s)
		}()

		check := func(at string, wantStatuses, wantPings int, wantClosed bool) {
			t.Helper()
			synctest.Wait()
			statuses, pings, closed := c.counts()
			if statuses != wantStatuses || pings != wantPings || closed != wantClosed {
				t.Errorf("at %s: %d statuses, %d pings, closed %v; want %d, %d, %v",
					at, statuses, pings, closed, wantStatuses, wantPings, wantClosed)
			}
		}
		time.Sleep(3500 * time.Millisecond)
		check("3.5s", 4, 0, false)
		time.Sleep(2 * time.Second)
		check("5.5s", 6, 1, false)
		time.Sleep(10 * time.Second) // silent 14.1 s > 12 s at the third ping, at 14.1 s
		check("15.5s", 15, 2, true)
		<-done
	})
}
