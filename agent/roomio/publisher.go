package roomio

import "sync"

// publisher runs sends to the room on one goroutine, in order, so that
// neither the session's loop nor its event handler waits for the network.
// The room has two: one for the agent's state (a participant attribute,
// on the signal connection) and one for transcripts (data packets), so
// that a state change never waits behind text.
type publisher struct {
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []func()
	stopped bool
	wg      sync.WaitGroup
}

func newPublisher() *publisher {
	p := &publisher{}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go func() { // exits when stop is called and the queue is done
		defer p.wg.Done()
		p.run()
	}()
	return p
}

func (p *publisher) run() {
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.stopped {
			p.cond.Wait()
		}
		if len(p.queue) == 0 {
			p.mu.Unlock()
			return
		}
		fn := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		p.mu.Unlock()
		fn()
	}
}

// do queues fn; after stop it is dropped.
func (p *publisher) do(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.queue = append(p.queue, fn)
	p.cond.Signal()
}

// stop runs what is queued, then ends the goroutine and waits for it.
func (p *publisher) stop() {
	p.mu.Lock()
	p.stopped = true
	p.cond.Signal()
	p.mu.Unlock()
	p.wg.Wait()
}
