package session

import "sync"

// mailbox is an unbounded FIFO: senders never block, so reply tasks,
// readers and API callers can always hand an event to the loop, and the loop
// can always hand one to the event dispatcher.
type mailbox[T any] struct {
	mu     sync.Mutex
	items  []T
	notify chan struct{} // one pending wake-up at most
}

func newMailbox[T any]() *mailbox[T] {
	return &mailbox[T]{notify: make(chan struct{}, 1)}
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

// take returns everything queued, oldest first, reusing buf.
func (m *mailbox[T]) take(buf []T) []T {
	m.mu.Lock()
	buf = append(buf[:0], m.items...)
	clear(m.items)
	m.items = m.items[:0]
	m.mu.Unlock()
	return buf
}
