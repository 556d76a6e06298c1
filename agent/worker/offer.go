package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/livekit/protocol/livekit"
)

// Why an offer is declined; each is a value of the result label of
// lk_agents_job_requests_total.
const (
	declineDraining  = "draining"
	declineStopping  = "stopping"
	declineMaxJobs   = "max_jobs"
	declineFull      = "full"
	declineRejected  = "rejected"
	declineFailed    = "request_failed"
	declineDuplicate = "duplicate"
	offerAccepted    = "accepted"
)

// refusalLocked says why the worker cannot take another job now, or "".
// Capacity counts the jobs accepted but not yet measured (see
// effectiveLoadLocked), so a burst of offers cannot all be accepted on the
// strength of one low measure.
func (w *Worker) refusalLocked(now time.Time) string {
	switch {
	case w.draining:
		return declineDraining
	case w.closing:
		return declineStopping
	case w.cfg.maxJobs > 0 && len(w.jobs)+len(w.pending) >= w.cfg.maxJobs:
		return declineMaxJobs
	case w.effectiveLoadLocked(now) >= w.cfg.loadThreshold:
		return declineFull
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
		w.metrics.offers.WithLabelValues(reason).Inc()
		switch reason {
		case declineRejected:
			// Routine for a worker without a name, which is offered
			// every new room.
			log.Debug("worker: declined job", "reason", reason)
		case declineDraining, declineStopping:
			log.Info("worker: declined job", "reason", reason)
		default:
			// The server offers the job to another worker if it has
			// one; if not, the room gets no agent.
			w.mu.Lock()
			load, jobs := w.effectiveLoadLocked(time.Now()), len(w.jobs)+len(w.pending)
			w.mu.Unlock()
			log.Warn("worker: declined job: the room gets no agent unless another worker takes it",
				"reason", reason, "load", load, "threshold", w.cfg.loadThreshold, "jobs", jobs)
		}
		_ = s.send(&livekit.WorkerMessage{Message: &livekit.WorkerMessage_Availability{
			Availability: &livekit.AvailabilityResponse{JobId: job.GetId(), Available: false},
		}})
	}

	// Decide on a fresh measure, as LiveKit Agents does: offers come
	// between the periodic ones (and the first may come before any).
	measured := w.measureLoad()
	w.mu.Lock()
	w.lastLoad = measured
	reason := w.refusalLocked(time.Now())
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
				decline(declineRejected)
			} else {
				log.Warn("worker: request function failed", "err", err)
				decline(declineFailed)
			}
			return
		}
	}
	if acc.Identity == "" {
		acc.Identity = "agent-" + job.GetId()
	}

	ch := make(chan *livekit.JobAssignment, 1)
	w.mu.Lock()
	reason = w.refusalLocked(time.Now())
	if reason == "" && (w.pending[job.GetId()] != nil || w.jobs[job.GetId()] != nil) {
		reason = declineDuplicate
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
	w.metrics.offers.WithLabelValues(offerAccepted).Inc()
	// The reservation may have made the worker full: say so now, not at
	// the next status, so the server stops offering it jobs.
	w.reportStatusIfChanged()
	t := time.NewTimer(w.cfg.assignmentTimeout)
	defer t.Stop()
	select {
	case a := <-ch:
		w.startJob(jobBase, s, job, a, acc)
	case <-t.C:
		w.metrics.unassigned.Inc()
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
