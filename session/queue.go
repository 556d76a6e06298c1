package session

import (
	"context"
	"sync"
)

// mailbox is the loop's FIFO of work. put never blocks, so reply tasks,
// timers and API callers can always hand work to the loop (the loop posts
// to itself too); their number is bounded by the work in flight. putWait
// blocks while the mailbox is over its limit: the input readers use it, so
// a flood of recognition events waits for the loop instead of piling up.
type mailbox[T any] struct {
	mu     sync.Mutex
	items  []T
	limit  int
	notify chan struct{} // one pending wake-up at most
	space  chan struct{} // signalled when take empties the box
}

func newMailbox[T any](limit int) *mailbox[T] {
	return &mailbox[T]{limit: limit, notify: make(chan struct{}, 1), space: make(chan struct{}, 1)}
}

func (m *mailbox[T]) put(v T) {
	m.mu.Lock()
	m.items = append(m.items, v)
	m.mu.Unlock()
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// putWait puts v once the mailbox holds fewer than its limit, or returns
// ctx's cause.
func (m *mailbox[T]) putWait(ctx context.Context, v T) error {
	for {
		m.mu.Lock()
		if len(m.items) < m.limit {
			m.mu.Unlock()
			m.put(v)
			return nil
		}
		m.mu.Unlock()
		select {
		case <-m.space:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// take returns everything queued, oldest first, reusing buf.
func (m *mailbox[T]) take(buf []T) []T {
	m.mu.Lock()
	buf = append(buf[:0], m.items...)
	clear(m.items)
	m.items = m.items[:0]
	m.mu.Unlock()
	select {
	case m.space <- struct{}{}:
	default:
	}
	return buf
}
