package session

import (
	"context"
	"iter"
	"sync"
	"time"
)

// Events reach each subscriber through a queue of its own, bounded by
// WithEventBuffer: a subscriber that stops reading loses events (it is told
// how many by an EventsDroppedEvent) instead of making the session hold
// them all. The CloseEvent is never dropped.

// subscriber is one consumer of the session's events: a function run on a
// dispatcher goroutine, or an iterator read by its caller.
type subscriber struct {
	fn    func(Event) // nil for an iterator
	limit int

	mu      sync.Mutex
	queue   []Event
	spare   []Event // the last batch's slice, reused
	dropped int
	closed  bool          // no more events will be queued
	notify  chan struct{} // one pending wake-up at most
	done    chan struct{} // closed when the dispatcher returned (fn subscribers)
}

func newSubscriber(fn func(Event), limit int) *subscriber {
	return &subscriber{fn: fn, limit: limit, notify: make(chan struct{}, 1), done: make(chan struct{})}
}

// put queues e, or counts it as dropped when the queue is full. Once the
// queue is full everything is dropped until the next take, so the dropped
// events are all newer than the queued ones (the CloseEvent aside, which
// always goes in).
func (s *subscriber) put(e Event) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if _, last := e.(CloseEvent); !last && len(s.queue) >= s.limit {
		s.dropped++
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, e)
	s.mu.Unlock()
	s.wake()
}

func (s *subscriber) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// take returns the queued events and whether more may follow.
func (s *subscriber) take() ([]Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	batch := s.queue
	if s.dropped > 0 {
		// The dropped events came after the queued ones, before a CloseEvent.
		drop := Event(EventsDroppedEvent{Dropped: s.dropped})
		s.dropped = 0
		if n := len(batch); n > 0 {
			if _, last := batch[n-1].(CloseEvent); last {
				batch = append(batch[:n-1], drop, batch[n-1])
				drop = nil
			}
		}
		if drop != nil {
			batch = append(batch, drop)
		}
	}
	s.queue = s.spare[:0]
	s.spare = nil
	return batch, !s.closed
}

// recycle hands a delivered batch back for reuse.
func (s *subscriber) recycle(batch []Event) {
	clear(batch)
	s.mu.Lock()
	s.spare = batch[:0]
	s.mu.Unlock()
}

// close stops queueing; what is queued is still delivered.
func (s *subscriber) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wake()
}

// cancel stops queueing and forgets what is queued.
func (s *subscriber) cancel() {
	s.mu.Lock()
	s.closed = true
	clear(s.queue)
	s.queue = nil
	s.mu.Unlock()
	s.wake()
}

// dispatch delivers events to fn until the subscriber is closed and
// drained.
func (s *subscriber) dispatch() {
	defer close(s.done)
	for {
		batch, more := s.take()
		for _, e := range batch {
			s.fn(e)
		}
		s.recycle(batch)
		if !more {
			return
		}
		if len(batch) == 0 {
			<-s.notify
		}
	}
}

// subscribers is the session's list of subscribers.
type subscribers struct {
	mu      sync.Mutex
	list    []*subscriber // copied on change
	started bool          // dispatchers run from Start on
	ended   bool          // the CloseEvent went out
}

func (ss *subscribers) add(sub *subscriber) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.ended {
		return false
	}
	ss.list = append(ss.list[:len(ss.list):len(ss.list)], sub)
	if ss.started && sub.fn != nil {
		go sub.dispatch() // exits once the subscriber is closed and drained
	}
	return true
}

func (ss *subscribers) remove(sub *subscriber) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for i, x := range ss.list {
		if x == sub {
			list := make([]*subscriber, 0, len(ss.list)-1)
			ss.list = append(append(list, ss.list[:i]...), ss.list[i+1:]...)
			break
		}
	}
	sub.cancel()
}

// start runs the dispatchers of the function subscribers.
func (ss *subscribers) start() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.started = true
	for _, sub := range ss.list {
		if sub.fn != nil {
			go sub.dispatch() // exits once the subscriber is closed and drained
		}
	}
}

func (ss *subscribers) current() []*subscriber {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.list
}

// any reports whether anyone listens, so the loop can skip copies for
// events nobody reads.
func (ss *subscribers) any() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.list) > 0
}

func (ss *subscribers) emit(e Event) {
	for _, sub := range ss.current() {
		sub.put(e)
	}
}

// end closes every subscriber after the last event and waits, until
// deadline, for the dispatchers to deliver what is queued. It reports
// whether some handler was still running at the deadline.
func (ss *subscribers) end(deadline time.Time) (stuck bool) {
	ss.mu.Lock()
	ss.ended = true
	list, started := ss.list, ss.started
	ss.mu.Unlock()
	for _, sub := range list {
		sub.close()
	}
	if !started {
		return false
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for _, sub := range list {
		if sub.fn == nil {
			continue
		}
		select {
		case <-sub.done:
		case <-timer.C:
			return true
		}
	}
	return false
}

// Subscribe calls fn with every event from now on, in order, on a
// goroutine of its own; a slow fn delays only its own events. Events that
// find fn's queue full (see [WithEventBuffer]) are dropped and counted in
// an [EventsDroppedEvent]. The returned function unsubscribes; events still
// queued are then not delivered. Subscribing to a closed session does
// nothing.
func (s *Session) Subscribe(fn func(Event)) (unsubscribe func()) {
	if fn == nil {
		return func() {}
	}
	sub := newSubscriber(fn, s.o.eventBuffer)
	if !s.subs.add(sub) {
		return func() {}
	}
	return func() { s.subs.remove(sub) }
}

// Events returns the session's events from this call on, ending after the
// CloseEvent or when ctx is done. The subscription starts when Events is
// called (call it before Start to see every event) and ends when the loop
// over it does; like [Session.Subscribe], a reader that falls more than
// the event buffer behind loses events and is told so.
func (s *Session) Events(ctx context.Context) iter.Seq[Event] {
	sub := newSubscriber(nil, s.o.eventBuffer)
	if !s.subs.add(sub) {
		return func(func(Event) bool) {}
	}
	return func(yield func(Event) bool) {
		defer s.subs.remove(sub)
		for {
			batch, more := sub.take()
			for _, e := range batch {
				if !yield(e) {
					return
				}
			}
			if !more {
				return
			}
			if len(batch) == 0 {
				select {
				case <-sub.notify:
				case <-ctx.Done():
					return
				}
			}
		}
	}
}
