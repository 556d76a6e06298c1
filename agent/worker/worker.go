package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
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
	cpu       *cpuSampler

	mu        sync.Mutex
	started   bool
	draining  bool
	closing   bool // Run is shutting down: no job may start any more
	cancelRun context.CancelCauseFunc
	done      chan struct{} // closed when Run returns
	sess      *session      // the registered connection, nil while (re)connecting
	lastLoad  float64
	full      bool // last status sent
	jobs      map[string]*runningJob
	pending   map[string]chan *livekit.JobAssignment // accepted, awaiting assignment
	changed   chan struct{}                          // closed and replaced when jobs or pending change

	jobWG   sync.WaitGroup // job goroutines; Add only under mu while !closing
	offerWG sync.WaitGroup // goroutines answering offers
}

type runningJob struct {
	job    *Job
	cancel context.CancelCauseFunc
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
		jobs:      make(map[string]*runningJob),
		pending:   make(map[string]chan *livekit.JobAssignment),
		changed:   make(chan struct{}),
	}
	if cfg.load == nil && cfg.maxJobs == 0 {
		w.cpu = newCPUSampler()
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

	// Jobs keep the values of ctx but not its cancellation: they are
	// cancelled one by one, after their status can still be reported.
	jobBase := context.WithoutCancel(ctx)
	err := w.connectLoop(runCtx, jobBase)
	w.stopJobs(ErrStopped)
	w.offerWG.Wait()
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

// refusalLocked says why the worker cannot take another job, or "".
func (w *Worker) refusalLocked() string {
	switch {
	case w.draining:
		return "draining"
	case w.closing:
		return "stopping"
	case w.cfg.maxJobs > 0 && len(w.jobs)+len(w.pending) >= w.cfg.maxJobs:
		return "at max jobs"
	case w.lastLoad >= w.cfg.loadThreshold:
		return "load above threshold"
	}
	return ""
}

func (w *Worker) onOffer(ctx, jobBase context.Context, s *session, req *livekit.AvailabilityRequest) {
	job := req.GetJob()
	if job.GetId() == "" {
		w.log.Warn("worker: availability request without a job id")
		return
	}
	w.offerWG.Add(1)
	go func() { // exits once the offer is declined, or its assignment came, timed out, or ctx ended
		defer w.offerWG.Done()
		w.answerOffer(ctx, jobBase, s, job)
	}()
}

func (w *Worker) answerOffer(ctx, jobBase context.Context, s *session, job *livekit.Job) {
	log := w.log.With("job_id", job.GetId(), "room", job.GetRoom().GetName())
	decline := func(reason string) {
		// Offers turned down on purpose are routine for a worker without
		// a name, which is offered every new room.
		level := slog.LevelInfo
		if reason == "rejected" {
			level = slog.LevelDebug
		}
		log.Log(ctx, level, "worker: declined job", "reason", reason)
		_ = s.send(&livekit.WorkerMessage{Message: &livekit.WorkerMessage_Availability{
			Availability: &livekit.AvailabilityResponse{JobId: job.GetId(), Available: false},
		}})
	}

	w.mu.Lock()
	reason := w.refusalLocked()
	w.mu.Unlock()
	if reason != "" {
		decline(reason)
		return
	}

	acc := Acceptance{}
	if w.cfg.request != nil {
		var err error
		acc, err = w.callRequest(ctx, job)
		if err != nil {
			if errors.Is(err, ErrRejected) {
				decline("rejected")
			} else {
				log.Warn("worker: request function failed", "err", err)
				decline("request function failed")
			}
			return
		}
	}
	if acc.Identity == "" {
		acc.Identity = "agent-" + job.GetId()
	}

	ch := make(chan *livekit.JobAssignment, 1)
	w.mu.Lock()
	reason = w.refusalLocked()
	if reason == "" && (w.pending[job.GetId()] != nil || w.jobs[job.GetId()] != nil) {
		reason = "duplicate offer"
	}
	if reason == "" {
		w.pending[job.GetId()] = ch
		w.notifyLocked()
	}
	w.mu.Unlock()
	if reason != "" {
		decline(reason)
		return
	}
	defer func() {
		w.mu.Lock()
		if w.pending[job.GetId()] == ch {
			delete(w.pending, job.GetId())
			w.notifyLocked()
		}
		w.mu.Unlock()
	}()

	err := s.send(&livekit.WorkerMessage{Message: &livekit.WorkerMessage_Availability{
		Availability: &livekit.AvailabilityResponse{
			JobId:                 job.GetId(),
			Available:             true,
			ParticipantIdentity:   acc.Identity,
			ParticipantName:       acc.Name,
			ParticipantMetadata:   acc.Metadata,
			ParticipantAttributes: acc.Attributes,
		},
	}})
	if err != nil {
		log.Warn("worker: cannot accept job", "err", err)
		return
	}
	t := time.NewTimer(w.cfg.assignmentTimeout)
	defer t.Stop()
	select {
	case a := <-ch:
		w.startJob(jobBase, s, job, a, acc)
	case <-t.C:
		log.Warn("worker: accepted job was not assigned in time", "timeout", w.cfg.assignmentTimeout)
	case <-ctx.Done():
	}
}

func (w *Worker) callRequest(ctx context.Context, job *livekit.Job) (acc Acceptance, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("worker: request function panicked: %v", r)
		}
	}()
	return w.cfg.request(ctx, job)
}

func (w *Worker) onAssignment(a *livekit.JobAssignment) {
	id := a.GetJob().GetId()
	w.mu.Lock()
	ch := w.pending[id]
	w.mu.Unlock()
	if ch == nil {
		w.log.Warn("worker: assignment for a job not awaiting one", "job_id", id)
		return
	}
	select {
	case ch <- a:
	default: // a second assignment for the same offer
	}
}

func (w *Worker) onTermination(t *livekit.JobTermination) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if rj := w.jobs[t.GetJobId()]; rj != nil {
		w.log.Info("worker: server terminated job", "job_id", t.GetJobId())
		rj.cancel(ErrJobTerminated)
	}
}

func (w *Worker) startJob(jobBase context.Context, s *session, offered *livekit.Job, a *livekit.JobAssignment, acc Acceptance) {
	info := a.GetJob()
	if info.GetId() != offered.GetId() {
		info = offered
	}
	u := a.GetUrl()
	if u == "" {
		u = w.serverURL
	}
	j := &Job{Info: info, URL: u, Token: a.GetToken(), Participant: acc, WorkerID: s.workerID}
	jctx, cancel := context.WithCancelCause(jobBase)
	rj := &runningJob{job: j, cancel: cancel}

	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		cancel(ErrStopped)
		w.sendJobStatus(j.ID(), livekit.JobStatus_JS_FAILED, ErrStopped.Error())
		return
	}
	w.jobs[j.ID()] = rj
	w.jobWG.Add(1)
	w.notifyLocked()
	w.mu.Unlock()

	go func() { // exits when the entry point returns
		defer w.jobWG.Done()
		w.runJob(jctx, rj)
	}()
}

func (w *Worker) runJob(ctx context.Context, rj *runningJob) {
	defer rj.cancel(nil)
	j := rj.job
	log := w.log.With("job", j)
	w.sendJobStatus(j.ID(), livekit.JobStatus_JS_RUNNING, "")
	log.Info("worker: job started")

	err := w.callEntry(ctx, j)
	status, reason := livekit.JobStatus_JS_SUCCESS, ""
	var pe *PanicError
	switch {
	case err == nil:
	case errors.As(err, &pe):
		status, reason = livekit.JobStatus_JS_FAILED, pe.Error()
		log.Error("worker: job panicked", "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
	case errors.Is(context.Cause(ctx), ErrJobTerminated):
		// Ending is what the server asked for.
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		status, reason = livekit.JobStatus_JS_FAILED, context.Cause(ctx).Error()
	default:
		status, reason = livekit.JobStatus_JS_FAILED, err.Error()
	}
	// Report before the job leaves the table, so that a drain waiting for
	// the table to empty closes the connection only after the report.
	w.sendJobStatus(j.ID(), status, reason)
	w.mu.Lock()
	delete(w.jobs, j.ID())
	w.notifyLocked()
	w.mu.Unlock()
	if status == livekit.JobStatus_JS_SUCCESS {
		log.Info("worker: job ended")
	} else if pe == nil {
		log.Warn("worker: job failed", "err", reason)
	}
}

// PanicError is how a job that panicked ends: its entry point's panic value
// and the goroutine's stack.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

func (w *Worker) callEntry(ctx context.Context, j *Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return w.entry(ctx, j)
}

func (w *Worker) sendJobStatus(id string, status livekit.JobStatus, reason string) {
	w.mu.Lock()
	s := w.sess
	w.mu.Unlock()
	if s == nil {
		w.log.Debug("worker: not connected, job status not reported", "job_id", id, "status", status)
		return
	}
	err := s.send(&livekit.WorkerMessage{Message: &livekit.WorkerMessage_UpdateJob{
		UpdateJob: &livekit.UpdateJobStatus{JobId: id, Status: status, Error: reason},
	}})
	if err != nil {
		w.log.Debug("worker: job status not reported", "job_id", id, "status", status, "err", err)
	}
}

// statusLoop reports load and status every status interval and pings the
// server every ping interval; it closes the connection when the server has
// been silent longer than the ping timeout.
func (w *Worker) statusLoop(ctx context.Context, s *session) {
	status := time.NewTicker(w.cfg.statusInterval)
	defer status.Stop()
	ping := time.NewTicker(w.cfg.pingInterval)
	defer ping.Stop()
	w.sendStatus(s, true)
	for {
		select {
		case <-ctx.Done():
			return
		case <-status.C:
			w.sendStatus(s, true)
		case <-ping.C:
			if silent := time.Since(s.lastHeard()); silent > w.cfg.pingTimeout {
				w.log.Warn("worker: server silent, reconnecting", "silent", silent.Round(time.Millisecond))
				s.close()
				return
			}
			_ = s.send(&livekit.WorkerMessage{Message: &livekit.WorkerMessage_Ping{
				Ping: &livekit.WorkerPing{Timestamp: time.Now().UnixMilli()},
			}})
		}
	}
}

// sendStatus reports the worker's status; refresh measures the load anew,
// otherwise the last measure is sent.
func (w *Worker) sendStatus(s *session, refresh bool) {
	var load float64
	if refresh {
		load = w.measureLoad()
	}
	w.mu.Lock()
	if refresh {
		w.lastLoad = load
	}
	load = w.lastLoad
	full := w.refusalLocked() != ""
	changed := full != w.full
	w.full = full
	jobs := len(w.jobs)
	draining := w.draining
	w.mu.Unlock()

	st := livekit.WorkerStatus_WS_AVAILABLE
	if full {
		st = livekit.WorkerStatus_WS_FULL
	}
	if changed {
		w.log.Info("worker: status changed", "status", st, "load", load, "jobs", jobs)
	}
	err := s.send(&livekit.WorkerMessage{Message: &livekit.WorkerMessage_UpdateWorker{
		UpdateWorker: &livekit.UpdateWorkerStatus{
			Status:   &st,
			Load:     float32(load),
			JobCount: uint32(jobs),
			Draining: draining,
		},
	}})
	if err != nil {
		w.log.Debug("worker: status not reported", "err", err)
	}
}

// measureLoad calls the load function (the user's, jobs/max, or CPU use).
func (w *Worker) measureLoad() (load float64) {
	switch {
	case w.cfg.load != nil:
		func() {
			defer func() {
				if r := recover(); r != nil {
					w.log.Error("worker: load function panicked", "panic", fmt.Sprint(r))
					load = 0
				}
			}()
			load = w.cfg.load()
		}()
	case w.cfg.maxJobs > 0:
		w.mu.Lock()
		load = float64(len(w.jobs)) / float64(w.cfg.maxJobs)
		w.mu.Unlock()
	default:
		load = w.cpu.load()
	}
	if math.IsNaN(load) || load < 0 {
		load = 0
	}
	return load
}

// permanentError is a connection failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }
