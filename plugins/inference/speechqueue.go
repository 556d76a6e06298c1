package inference

import (
	"context"
	"sync"

	"github.com/livekit-go/agents/session"
)

// outbox carries what a speech stream's network goroutine produced to Recv:
// the items in order, then the error that ended the stream (io.EOF at a
// clean end). The zero value is not usable: make it with newOutbox. Safe for
// concurrent use.
type outbox[T any] struct {
	mu    sync.Mutex
	items []T
	err   error // set once, by finish
	ready chan struct{}
}

func newOutbox[T any]() *outbox[T] { return &outbox[T]{ready: make(chan struct{}, 1)} }

func (o *outbox[T]) wake() {
	select {
	case o.ready <- struct{}{}:
	default:
	}
}

// push queues one item.
func (o *outbox[T]) push(v T) {
	o.mu.Lock()
	o.items = append(o.items, v)
	o.mu.Unlock()
	o.wake()
}

// finish records why the stream ended; the first error given stands.
func (o *outbox[T]) finish(err error) {
	o.mu.Lock()
	if o.err == nil {
		o.err = err
	}
	o.mu.Unlock()
	o.wake()
}

// ended is the error finish recorded, or nil while the stream runs.
func (o *outbox[T]) ended() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// recv returns the next item, or once all were taken the error that ended
// the stream. It waits for either, and returns session.ErrStreamClosed when
// closed is closed.
func (o *outbox[T]) recv(closed <-chan struct{}) (T, error) {
	var zero T
	for {
		select {
		case <-closed:
			return zero, session.ErrStreamClosed
		default:
		}
		o.mu.Lock()
		if len(o.items) > 0 {
			v := o.items[0]
			o.items[0] = zero
			o.items = o.items[1:]
			o.mu.Unlock()
			return v, nil
		}
		err := o.err
		o.mu.Unlock()
		if err != nil {
			return zero, err
		}
		select {
		case <-o.ready:
		case <-closed:
		}
	}
}

// stopCause is why a speech stream must stop now: Close (closed) or its
// context; nil while neither happened.
func stopCause(ctx context.Context, closed <-chan struct{}) error {
	select {
	case <-closed:
		return session.ErrStreamClosed
	default:
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}
