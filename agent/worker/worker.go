package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Worker registers with a LiveKit server as an agent worker and runs the jobs
// the server assigns to it, each on its own goroutine. Its methods are safe
// for concurrent use.
type Worker struct {
	wsURL     string // the server's /agent endpoint
	serverURL string // given to jobs whose assignment names no URL
	apiKey    string
	apiSecret string
	entry     EntryPoint
	cfg       config
	log       *slog.Logger
	load      loadKind
	cpus      float64  // the CPUs the worker may use, for the first guess of a job's cost
	cpu       *cpuLoad // the CPU sampler, when the load is the CPU's
	metrics   *workerMetrics
	registry  *prometheus.Registry

	mu         sync.Mutex
	started    bool
	draining   bool
	closing    bool // Run is shutting down: no job may start any more
	cancelRun  context.CancelCauseFunc
	done       chan struct{} // closed when Run returns
	sess       *session      // the registered connection, nil while (re)connecting
	lastLoad   float64       // the last measure
	reported   float64       // the load last reported, with reservations
	full       bool          // last status sent
	overTarget bool          // last status was available at or above the server's target load
	jobs       map[string]*runningJob
	pending    map[string]chan *livekit.JobAssignment // accepted, awaiting assignment
	changed    chan struct{}                          // closed and replaced when jobs or pending change
	unsent     []*livekit.UpdateJobStatus             // job statuses not yet delivered, oldest first
	httpAddr   string                                 // where the HTTP server listens, once it does

	statusMu sync.Mutex     // one worker status computed and sent at a time, so they go out in order
	flushMu  sync.Mutex     // one flush of unsent job statuses at a time, so they go out in order
	jobWG    sync.WaitGroup // job goroutines; Add only under mu while !closing
	offerWG  sync.WaitGroup // goroutines answering offers
}

type runningJob struct {
	job     *Job
	cancel  context.CancelCauseFunc
	started time.Time
}

// errDrained ends Run once Drain has finished.
var errDrained = errors.New("worker: drained")

// New returns a worker for the LiveKit server at url (ws://, wss://, http:// or
// https://), authenticating with apiKey and apiSecret, that runs entry for
// every job it is assigned. Call Run to start it.
func New(url, apiKey, apiSecret string, entry EntryPoint, opts ...Option) (*Worker, error) {
	wsURL, err := agentURL(url)
	if err != nil {
		return nil, err
	}
	if apiKey == "" {
		return nil, errors.New("worker: api key: empty")
	}
	if apiSecret == "" {
		return nil, errors.New("worker: api secret: empty")
	}
	if entry == nil {
		return nil, errors.New("worker: entry point: nil")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	log := cfg.logger
	if log == nil {
		log = slog.Default()
	}
	w := &Worker{
		wsURL:     wsURL,
		serverURL: url,
		apiKey:    apiKey,
		apiSecret: apiSecret,
		entry:     entry,
		cfg:       cfg,
		log:       log.With("agent_name", cfg.agentName),
		cpus:      defaultCPUSource().cpus,
		jobs:      make(map[string]*runningJob),
		pending:   make(map[string]chan *livekit.JobAssignment),
		changed:   make(chan struct{}),
	}
	switch {
	case cfg.load != nil:
		w.load = loadUser
	case cfg.maxJobs > 0:
		w.load = loadJobs
	default:
		w.load = loadCPU
		w.cpu = newCPULoad(defaultCPUSource())
	}
	w.registry = prometheus.NewRegistry()
	for _, c := range append([]prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}, cfg.collectors...) {
		if err := w.registry.Register(c); err != nil {
			return nil, fmt.Errorf("worker: metrics: %w", err)
		}
	}
	if w.metrics, err = newWorkerMetrics(w, w.registry); err != nil {
		return nil, err
	}
	return w, nil
}

func agentURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("worker: url: %w", err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("worker: url: scheme must be ws, wss, http or https, got %q", u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("worker: url: no host in %q", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/agent"
	u.RawPath = ""
	return u.String(), nil
}

// ID returns the id the server gave the worker at its last registration, or
// "" while it is not registered.
func (w *Worker) ID() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sess == nil {
		return ""
	}
	return w.sess.workerID
}

// ActiveJobs returns the number of jobs running.
func (w *Worker) ActiveJobs() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.jobs)
}

// Run connects to the server, registers, and serves jobs until ctx ends or
// Drain completes; it reconnects (and registers again) with exponential
// backoff whenever the connection is lost, while running jobs go on. When ctx
// ends, the jobs' contexts are cancelled with cause ErrStopped and Run waits
// for them to return. Run returns nil after such a stop, and an error only when
// it cannot serve: the server refused the credentials, or WithMaxRetries was
// exhausted. A worker runs once; Run after Drain returns an error at once.
func (w *Worker) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return errors.New("worker: Run called more than once")
	}
	w.started = true
	if w.draining {
		w.mu.Unlock()
		return errDrained
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	w.cancelRun = cancel
	w.done = make(chan struct{})
	done := w.done
	w.mu.Unlock()
	defer close(done)
	defer cancel(nil)

	var bg sync.WaitGroup
	defer bg.Wait()
	if w.cfg.httpAddr != "" {
		stopHTTP, err := w.serveHTTP(runCtx, &bg)
		if err != nil {
			return err
		}
		defer stopHTTP()
	}
	if w.cpu != nil {
		var once sync.Once
		bg.Go(func() { // exits when runCtx is cancelled, just before Run returns
			w.cpu.run(runCtx, func(err error) {
				once.Do(func() { w.log.Warn("worker: cannot read the CPU use; load stays at its last value", "err", err) })
			})
		})
	}

	// Jobs keep the values of ctx but not its cancellation: they are
	// cancelled one by one, after their status can still be reported.
	jobBase := context.WithoutCancel(ctx)
	err := w.connectLoop(runCtx, jobBase)
	w.stopJobs(ErrStopped)
	w.offerWG.Wait()
	cancel(nil)
	return err
}

// RunAndDrain runs the worker until ctx ends (a SIGTERM, typically), then
// drains it: no new jobs, and the running ones get up to timeout to finish
// before they are cancelled. It returns Run's error, or Drain's if the
// timeout cut jobs short.
func (w *Worker) RunAndDrain(ctx context.Context, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- w.Run(context.WithoutCancel(ctx)) }() // exits after the Drain below
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	drainErr := w.Drain(dctx)
	if err := <-errc; err != nil {
		return err
	}
	return drainErr
}

// Drain stops taking jobs (the worker reports itself full), waits for the
// running jobs to end, then stops Run. If ctx ends first, the remaining jobs'
// contexts are cancelled with cause ErrDrainTimeout and Drain waits for their
// entry points to return (they must honour their context) before it returns
// ctx's error. Drain may be called before, during, or instead of cancelling
// Run's context; calling it again waits again.
func (w *Worker) Drain(ctx context.Context) error {
	w.mu.Lock()
	first := !w.draining
	w.draining = true
	s := w.sess
	cancelRun, done := w.cancelRun, w.done
	w.mu.Unlock()

	if first {
		w.log.Info("worker: draining", "jobs", w.ActiveJobs())
		if s != nil {
			w.sendStatus(s, false)
		}
	}
	err := w.waitIdle(ctx)
	if err != nil {
		w.mu.Lock()
		w.closing = true // an assignment still on its way must not start a job now
		for _, rj := range w.jobs {
			rj.cancel(ErrDrainTimeout)
		}
		w.mu.Unlock()
		_ = w.waitIdle(context.Background())
		err = fmt.Errorf("worker: drain: %w", err)
	}
	if cancelRun != nil {
		cancelRun(errDrained)
		<-done
	}
	return err
}

// waitIdle waits until no job runs or awaits its assignment.
func (w *Worker) waitIdle(ctx context.Context) error {
	for {
		w.mu.Lock()
		idle := len(w.jobs) == 0 && len(w.pending) == 0
		ch := w.changed
		w.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (w *Worker) notifyLocked() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// stopJobs cancels every running job with cause and waits for all of them.
func (w *Worker) stopJobs(cause error) {
	w.mu.Lock()
	w.closing = true
	for _, rj := range w.jobs {
		rj.cancel(cause)
	}
	w.mu.Unlock()
	w.jobWG.Wait()
}

func (w *Worker) connectLoop(ctx, jobBase context.Context) error {
	failures := 0
	for {
		s, err := w.connect(ctx)
		if err == nil {
			start := time.Now()
			err = w.serve(ctx, jobBase, s)
			if ctx.Err() != nil {
				return nil
			}
			// A connection that lasted starts the backoff afresh; one
			// the server drops at once counts as a failed attempt, so a
			// server that accepts and drops is not hammered.
			if time.Since(start) > w.cfg.backoffMax {
				failures = 0
			}
			w.log.Warn("worker: connection to LiveKit lost", "err", err)
		} else {
			if ctx.Err() != nil {
				return nil
			}
			if pe := (*permanentError)(nil); errors.As(err, &pe) {
				return err
			}
			w.log.Warn("worker: cannot register with LiveKit", "err", err, "attempt", failures+1)
		}
		failures++
		if w.cfg.maxRetries > 0 && failures > w.cfg.maxRetries {
			return fmt.Errorf("worker: giving up after %d failed attempts: %w", failures, err)
		}
		d := backoff(failures, w.cfg.backoffMin, w.cfg.backoffMax, rand.Float64)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// backoff is the wait before retry number attempt (from 1): min doubled per
// attempt up to max, then drawn from its upper half so that workers cut off
// together do not come back together.
func backoff(attempt int, min, max time.Duration, rnd func() float64) time.Duration {
	d := max
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 62 {
		if f := float64(min) * math.Exp2(float64(attempt-1)); f < float64(max) {
			d = time.Duration(f)
		}
	}
	return d/2 + time.Duration(rnd()*float64(d/2))
}

// serve runs one registered connection until it fails or ctx ends. When ctx
// ends it stops the jobs first, so their final status still reaches the
// server, then closes the connection cleanly.
func (w *Worker) serve(ctx, jobBase context.Context, s *session) error {
	w.mu.Lock()
	w.sess = s
	w.mu.Unlock()
	// What the jobs could not report while the worker was away goes first.
	w.flushJobStatuses(s)
	defer func() {
		w.mu.Lock()
		if w.sess == s {
			w.sess = nil
		}
		w.mu.Unlock()
	}()

	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	var wg sync.WaitGroup
	readErr := make(chan error, 1)
	wg.Add(2)
	go func() { // exits when the connection is closed (or the server goes away)
		defer wg.Done()
		readErr <- w.readLoop(sctx, jobBase, s)
	}()
	go func() { // exits when sctx ends
		defer wg.Done()
		w.statusLoop(sctx, s)
	}()

	var err error
	select {
	case err = <-readErr:
	case <-ctx.Done():
		w.stopJobs(ErrStopped)
		s.closeNormally("worker stopping")
	}
	scancel()
	s.close()
	wg.Wait()
	return err
}

func (w *Worker) readLoop(ctx, jobBase context.Context, s *session) error {
	for {
		data, err := s.read()
		if err != nil {
			return err
		}
		if err := w.handleMessage(ctx, jobBase, s, data); err != nil {
			return err
		}
	}
}

var errGoAway = errors.New("worker: server is going away")

// handleMessage decodes and acts on one message from the server. It never
// blocks on user code: offers are answered on their own goroutines.
func (w *Worker) handleMessage(ctx, jobBase context.Context, s *session, data []byte) error {
	msg, err := decodeServerMessage(data)
	if err != nil {
		w.log.Warn("worker: undecodable server message", "err", err, "bytes", len(data))
		return nil
	}
	switch m := msg.GetMessage().(type) {
	case *livekit.ServerMessage_Availability:
		w.onOffer(ctx, jobBase, s, m.Availability)
	case *livekit.ServerMessage_Assignment:
		w.onAssignment(m.Assignment)
	case *livekit.ServerMessage_Termination:
		w.onTermination(m.Termination)
	case *livekit.ServerMessage_Pong:
		if w.log.Enabled(ctx, slog.LevelDebug) {
			rtt := time.Now().UnixMilli() - m.Pong.GetLastTimestamp()
			w.log.Debug("worker: pong", "rtt_ms", rtt)
		}
	case *livekit.ServerMessage_GoAway:
		return errGoAway
	case *livekit.ServerMessage_Register:
		w.log.Warn("worker: unexpected register response after registration")
	default:
		w.log.Debug("worker: ignoring server message", "type", fmt.Sprintf("%T", m))
	}
	return nil
}

// permanentError is a connection failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }
