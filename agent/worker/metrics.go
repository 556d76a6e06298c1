package worker

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// workerMetrics are the worker's Prometheus metrics. The gauges are read
// from the worker when scraped; the counters count as things happen.
//
//	lk_agents_active_job_count                 gauge    jobs running (LiveKit Agents' name)
//	lk_agents_worker_load                      gauge    the load last reported, reservations included (LiveKit Agents' name)
//	lk_agents_worker_status{status}            gauge    1 for the current status: available, full, draining, disconnected
//	lk_agents_jobs_total{outcome}              counter  jobs ended: success, failed, panicked, terminated, cancelled
//	lk_agents_job_requests_total{result}       counter  offers answered: accepted, or why declined
//	lk_agents_job_assignment_timeouts_total    counter  accepted offers the server never assigned
type workerMetrics struct {
	jobs       *prometheus.CounterVec
	offers     *prometheus.CounterVec
	unassigned prometheus.Counter
}

// The values of lk_agents_worker_status's label.
const (
	statusAvailable    = "available"
	statusFull         = "full"
	statusDraining     = "draining"
	statusDisconnected = "disconnected"
)

func newWorkerMetrics(w *Worker, reg prometheus.Registerer) (*workerMetrics, error) {
	m := &workerMetrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lk_agents_jobs_total",
			Help: "Jobs that ended, by outcome: success, failed (the entry point returned an error), panicked, terminated (by the server), cancelled (the worker stopped or a drain timed out).",
		}, []string{"outcome"}),
		offers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lk_agents_job_requests_total",
			Help: "Job offers (availability requests) answered, by result: accepted, or the reason declined (full, max_jobs, draining, stopping, rejected, request_failed, duplicate).",
		}, []string{"result"}),
		unassigned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lk_agents_job_assignment_timeouts_total",
			Help: "Accepted job offers that the server did not assign in time.",
		}),
	}
	// Every label value exists from the start, at 0, so that rates and
	// alerts have a series to read before the first event.
	for _, o := range []string{outcomeSuccess, outcomeFailed, outcomePanicked, outcomeTerminated, outcomeCancelled} {
		m.jobs.WithLabelValues(o)
	}
	for _, r := range []string{offerAccepted, declineFull, declineMaxJobs, declineDraining, declineStopping, declineRejected, declineFailed, declineDuplicate} {
		m.offers.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{m.jobs, m.offers, m.unassigned, &stateCollector{w: w}} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("worker: metrics: %w", err)
		}
	}
	return m, nil
}

var (
	activeJobsDesc = prometheus.NewDesc("lk_agents_active_job_count", "Jobs running.", nil, nil)
	loadDesc       = prometheus.NewDesc("lk_agents_worker_load", "The load the worker last reported to the server (0 to 1), jobs accepted but not yet measured included.", nil, nil)
	statusDesc     = prometheus.NewDesc("lk_agents_worker_status", "1 for the worker's current status (available, full, draining, disconnected), 0 for the others.", []string{"status"}, nil)
)

// stateCollector reads the worker's gauges when scraped.
type stateCollector struct{ w *Worker }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- activeJobsDesc
	ch <- loadDesc
	ch <- statusDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	w := c.w
	w.mu.Lock()
	jobs, load := len(w.jobs), w.reported
	status := statusAvailable
	switch {
	case w.draining || w.closing:
		status = statusDraining
	case w.sess == nil:
		status = statusDisconnected
	case w.full:
		status = statusFull
	}
	w.mu.Unlock()
	send := func(desc *prometheus.Desc, v float64, labels ...string) {
		m, err := prometheus.NewConstMetric(desc, prometheus.GaugeValue, v, labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(desc, err)
		}
		ch <- m
	}
	send(activeJobsDesc, float64(jobs))
	send(loadDesc, load)
	for _, s := range []string{statusAvailable, statusFull, statusDraining, statusDisconnected} {
		v := 0.0
		if s == status {
			v = 1
		}
		send(statusDesc, v, s)
	}
}
