package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/livekit/protocol/livekit"
)

// Job is one assignment from the server: the room to join and the
// credentials to join it with.
type Job struct {
	// Info is the job as the server describes it: id, room, the participant
	// for publisher/participant jobs, dispatch metadata and attributes.
	Info *livekit.Job
	// URL of the LiveKit server to join; the server may name another node
	// than the one the worker is registered with.
	URL string
	// Token to join the room as the agent participant, kind AGENT, with the
	// identity, name, metadata and attributes given when the job was
	// accepted. It is a secret: Job's LogValue leaves it out.
	Token string
	// Participant is what the worker accepted the job with.
	Participant Acceptance
	// WorkerID is the id the server gave the worker that took the job.
	WorkerID string
}

// ID returns the job id.
func (j *Job) ID() string { return j.Info.GetId() }

// RoomName returns the name of the job's room.
func (j *Job) RoomName() string { return j.Info.GetRoom().GetName() }

// LogValue describes the job for logs, without the token.
func (j *Job) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", j.ID()),
		slog.String("room", j.RoomName()),
		slog.String("agent_name", j.Info.GetAgentName()),
		slog.String("identity", j.Participant.Identity),
		slog.String("url", j.URL),
	)
}

// Causes of a job's context being cancelled, for context.Cause.
var (
	// ErrJobTerminated: the server asked for the job to end (the room
	// closed, the dispatch was deleted, the agent was removed).
	ErrJobTerminated = errors.New("worker: job terminated by the server")
	// ErrDrainTimeout: Drain's context ended before the job did.
	ErrDrainTimeout = errors.New("worker: drain timed out")
	// ErrStopped: the context given to Run ended.
	ErrStopped = errors.New("worker: stopped")
)

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
	rj := &runningJob{job: j, cancel: cancel, started: time.Now()}

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
	status, reason, outcome := livekit.JobStatus_JS_SUCCESS, "", outcomeSuccess
	var pe *PanicError
	switch {
	case err == nil:
	case errors.As(err, &pe):
		status, reason, outcome = livekit.JobStatus_JS_FAILED, pe.Error(), outcomePanicked
		log.Error("worker: job panicked", "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
	case errors.Is(context.Cause(ctx), ErrJobTerminated):
		// Ending is what the server asked for.
		outcome = outcomeTerminated
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		status, reason, outcome = livekit.JobStatus_JS_FAILED, context.Cause(ctx).Error(), outcomeCancelled
	default:
		status, reason, outcome = livekit.JobStatus_JS_FAILED, err.Error(), outcomeFailed
	}
	w.metrics.jobs.WithLabelValues(outcome).Inc()
	// Report before the job leaves the table, so that a drain waiting for
	// the table to empty closes the connection only after the report.
	w.sendJobStatus(j.ID(), status, reason)
	w.mu.Lock()
	delete(w.jobs, j.ID())
	w.notifyLocked()
	w.mu.Unlock()
	w.reportStatusIfChanged()
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

// How jobs end; each is a value of the outcome label of
// lk_agents_jobs_total.
const (
	outcomeSuccess    = "success"
	outcomeFailed     = "failed"
	outcomePanicked   = "panicked"
	outcomeTerminated = "terminated" // the server ended it
	outcomeCancelled  = "cancelled"  // the worker stopped, or a drain timed out
)

// maxUnsentStatuses bounds the job statuses kept while the worker is away
// from the server (one per job: a later status replaces an earlier one).
const maxUnsentStatuses = 1024

// sendJobStatus reports a job's status. While the worker is not connected,
// or when the write fails, the status waits and goes out as soon as the
// worker has registered again, as LiveKit Agents queues it.
func (w *Worker) sendJobStatus(id string, status livekit.JobStatus, reason string) {
	u := &livekit.UpdateJobStatus{JobId: id, Status: status, Error: reason}
	w.mu.Lock()
	w.queueStatusLocked(u)
	s := w.sess
	w.mu.Unlock()
	if s == nil {
		w.log.Debug("worker: not connected, job status waits for the next registration", "job_id", id, "status", status)
		return
	}
	w.flushJobStatuses(s)
}

func (w *Worker) queueStatusLocked(u *livekit.UpdateJobStatus) {
	for i, q := range w.unsent {
		if q.GetJobId() == u.GetJobId() {
			w.unsent[i] = u
			return
		}
	}
	if len(w.unsent) >= maxUnsentStatuses {
		w.log.Warn("worker: too many job statuses waiting for the server; dropping the oldest", "job_id", w.unsent[0].GetJobId())
		w.unsent = w.unsent[1:]
	}
	w.unsent = append(w.unsent, u)
}

// flushJobStatuses sends the waiting job statuses on s, oldest first, and
// stops at the first failed write (the rest wait for the next connection).
func (w *Worker) flushJobStatuses(s *session) {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	for {
		w.mu.Lock()
		if len(w.unsent) == 0 {
			w.mu.Unlock()
			return
		}
		u := w.unsent[0]
		w.mu.Unlock()
		if err := s.send(&livekit.WorkerMessage{Message: &livekit.WorkerMessage_UpdateJob{UpdateJob: u}}); err != nil {
			w.log.Debug("worker: job status not reported yet", "job_id", u.GetJobId(), "status", u.GetStatus(), "err", err)
			return
		}
		w.mu.Lock()
		// A newer status of the same job may have replaced it meanwhile:
		// that one is still to send.
		if len(w.unsent) > 0 && w.unsent[0] == u {
			w.unsent = w.unsent[1:]
		}
		w.mu.Unlock()
	}
}
