package worker

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/livekit/protocol/livekit"
)

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

// ServerTargetLoad is the load at or above which livekit-server (v1.13,
// agents.target_load in its configuration) offers a worker no job, whatever
// status the worker reports: a node's claim on a job is the sum of
// target - load over its available workers, and a claim of 0 loses.
const ServerTargetLoad = 0.7

type loadKind int

const (
	loadCPU  loadKind = iota // the CPU use, averaged (the default)
	loadJobs                 // jobs/max (WithMaxJobs without WithLoad)
	loadUser                 // WithLoad
)

// effectiveLoadLocked is the load the worker decides and reports by: the
// last measure plus a reservation for each job accepted whose cost the
// measure cannot show yet, as LiveKit Agents reserves a slot per accepted
// job. A job awaiting its assignment counts whole; a running one for the
// part of its cost the measure has not taken in (unmeasured). A job's cost
// is the measured load over the jobs it covers, or before any,
// jobCostGuess. A jobs/max load counts every job at once.
func (w *Worker) effectiveLoadLocked(now time.Time) float64 {
	if w.load == loadJobs {
		return float64(len(w.jobs)+len(w.pending)) / float64(w.cfg.maxJobs)
	}
	load := w.lastLoad
	if math.IsInf(w.cfg.loadThreshold, 1) {
		return load
	}
	fresh, settled := float64(len(w.pending)), 0
	for _, rj := range w.jobs {
		if u := w.unmeasured(now.Sub(rj.started)); u > 0 {
			fresh += u
		} else {
			settled++
		}
	}
	if fresh == 0 {
		return load
	}
	cost := jobCostGuess(w.cfg.loadThreshold, w.cpus)
	if settled > 0 && load > 0 {
		cost = load / float64(settled)
	}
	return load + fresh*cost
}

// unmeasured is the share of a job's cost, started age ago, that the load
// does not show yet. The CPU average takes a job in one sample at a time:
// the job counts whole until a whole sample taken after its start is in
// the average, then a fifth less with each sample, and not at all once the
// window holds only samples taken after it started (cpuSettle). So a burst
// is held to what the first guess allows, and rooms that keep coming at a
// steady pace still find room (a reservation for the whole window declined
// the third of rooms coming one a second on an idle machine). A load
// function is called afresh before each offer and is taken to show a
// started job at once, as LiveKit Agents takes it (its reservation ends
// when the job starts): a function that counts the jobs is not charged
// twice.
func (w *Worker) unmeasured(age time.Duration) float64 {
	if w.load != loadCPU {
		return 0
	}
	in := (int(max(age, 0)/cpuSampleInterval) - 1) // whole samples after the start
	if in >= cpuSamples {
		return 0
	}
	return 1 - float64(max(in, 0))/cpuSamples
}

// sendStatus reports the worker's status and load; refresh measures the
// load anew, otherwise the last measure stands (the reservations are
// always current).
func (w *Worker) sendStatus(s *session, refresh bool) {
	w.statusMu.Lock()
	defer w.statusMu.Unlock()
	var measured float64
	if refresh {
		measured = w.measureLoad()
	}
	now := time.Now()
	w.mu.Lock()
	if refresh {
		w.lastLoad = measured
	}
	load := min(w.effectiveLoadLocked(now), 1)
	full := w.refusalLocked(now) != ""
	changed := full != w.full
	w.full = full
	w.reported = load
	overTarget := !full && load >= ServerTargetLoad
	warnTarget := overTarget && !w.overTarget
	w.overTarget = overTarget
	jobs := len(w.jobs)
	draining := w.draining
	w.mu.Unlock()

	st := livekit.WorkerStatus_WS_AVAILABLE
	if full {
		st = livekit.WorkerStatus_WS_FULL
	}
	switch {
	case changed && full && !draining:
		// Until the load falls, the server offers this worker nothing:
		// with no other worker, new rooms get no agent.
		w.log.Warn("worker: full: the server offers it no job until the load falls",
			"status", st, "load", load, "threshold", w.cfg.loadThreshold, "jobs", jobs)
	case changed:
		w.log.Info("worker: status changed", "status", st, "load", load, "jobs", jobs)
	}
	if warnTarget {
		w.log.Warn("worker: load at or above the server's target load: livekit-server offers no job to this worker although it reports itself available",
			"load", load, "server_target_load", ServerTargetLoad, "load_threshold", w.cfg.loadThreshold)
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

// reportStatusIfChanged sends the status at once, between the periodic
// reports, when accepting or ending a job changed it (full or not) or moved
// the load: the server weighs workers by the load they last reported, and
// offers a full worker nothing.
func (w *Worker) reportStatusIfChanged() {
	now := time.Now()
	w.mu.Lock()
	s := w.sess
	load := min(w.effectiveLoadLocked(now), 1)
	full := w.refusalLocked(now) != ""
	stale := full != w.full || math.Abs(load-w.reported) >= 0.01
	w.mu.Unlock()
	if s != nil && stale {
		w.sendStatus(s, false)
	}
}

// measureLoad calls the load function (the user's, jobs/max, or the CPU
// average).
func (w *Worker) measureLoad() (load float64) {
	switch w.load {
	case loadUser:
		func() {
			defer func() {
				if r := recover(); r != nil {
					w.log.Error("worker: load function panicked", "panic", fmt.Sprint(r))
					load = 0
				}
			}()
			load = w.cfg.load()
		}()
	case loadJobs:
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
