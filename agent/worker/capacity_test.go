package worker

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/livekit/protocol/livekit"
)

// lockedBuffer is a log sink the worker writes from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A burst of offers arrives between two load measures. Each accepted offer
// reserves its share of capacity until its cost can show in the measure, so
// at a measured 0.2, with a threshold of 0.7 and a first guess of 0.35 a job
// (0.7 over 2 CPUs), the worker takes two and declines the rest, and says
// it is full at once rather than at the next periodic status. Without the
// reservations all five were accepted on the strength of the one 0.2.
func TestBurstOfOffersCannotOverAccept(t *testing.T) {
	f := newFakeServer(t)
	hold := make(chan struct{})
	defer close(hold)
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error {
		select {
		case <-hold:
		case <-ctx.Done():
		}
		return nil
	}, WithLoad(func() float64 { return 0.2 }), WithStatusInterval(time.Hour))
	w.cpus = 2
	runWorker(t, w)
	f.register(t)
	first := f.next(t, "first status", func(m *livekit.WorkerMessage) bool { return m.GetUpdateWorker() != nil }).GetUpdateWorker()
	if first.GetStatus() != livekit.WorkerStatus_WS_AVAILABLE || first.GetLoad() != 0.2 {
		t.Fatalf("first status %v at %v, want available at 0.2", first.GetStatus(), first.GetLoad())
	}

	ids := []string{"B1", "B2", "B3", "B4", "B5"}
	for _, id := range ids {
		f.offer(id)
	}
	accepted := 0
	answers := map[string]bool{}
	var full *livekit.UpdateWorkerStatus
	for len(answers) < len(ids) {
		m := f.next(t, "answers", func(m *livekit.WorkerMessage) bool {
			return m.GetAvailability() != nil || m.GetUpdateWorker().GetStatus() == livekit.WorkerStatus_WS_FULL
		})
		if a := m.GetAvailability(); a != nil {
			answers[a.GetJobId()] = a.GetAvailable()
			if a.GetAvailable() {
				accepted++
			}
		} else if full == nil {
			full = m.GetUpdateWorker()
		}
	}
	if accepted != 2 {
		t.Fatalf("accepted %d of a burst of 5 (%v), want 2", accepted, answers)
	}
	if full == nil {
		full = f.next(t, "full status", func(m *livekit.WorkerMessage) bool {
			return m.GetUpdateWorker().GetStatus() == livekit.WorkerStatus_WS_FULL
		}).GetUpdateWorker()
	}
	if full.GetLoad() < float32(DefaultLoadThreshold) {
		t.Errorf("full status reports load %v, want the reserved load, at least %v", full.GetLoad(), DefaultLoadThreshold)
	}
}

// Declining an offer for want of capacity may leave the room without an
// agent: the worker says so at warn, naming the room and the job, with its
// load, where it used to log it at info among routine lines.
func TestCapacityDeclineIsLoggedAtWarn(t *testing.T) {
	f := newFakeServer(t)
	var logs lockedBuffer
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error { return nil },
		WithLoad(func() float64 { return 0.9 }),
		WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	runWorker(t, w)
	f.register(t)
	f.offer("J")
	if f.availability(t, "J").GetAvailable() {
		t.Fatal("worker at 0.9 accepted a job")
	}
	var line string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "declined job") {
			line = l
		}
	}
	for _, want := range []string{"level=WARN", "reason=full", "load=0.9", "job_id=J", "room=room-J"} {
		if !strings.Contains(line, want) {
			t.Errorf("decline logged as %q, want a WARN line naming the job, its room, the reason and the load (no %q)", line, want)
		}
	}
}

// livekit-server offers nothing to a worker that reports a load of 0.7 or
// more, whatever its status: a worker whose own threshold is higher says so
// once, at warn, when it crosses 0.7.
func TestWarnsWhenAvailableAboveServerTargetLoad(t *testing.T) {
	f := newFakeServer(t)
	var logs lockedBuffer
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error { return nil },
		WithLoad(func() float64 { return 0.8 }), WithLoadThreshold(0.9), WithStatusInterval(5*time.Millisecond),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	runWorker(t, w)
	f.register(t)
	for range 5 {
		st := f.next(t, "status", func(m *livekit.WorkerMessage) bool { return m.GetUpdateWorker() != nil }).GetUpdateWorker()
		if st.GetStatus() != livekit.WorkerStatus_WS_AVAILABLE {
			t.Fatalf("status %v at 0.8 with threshold 0.9, want available", st.GetStatus())
		}
	}
	if n := strings.Count(logs.String(), "server's target load"); n != 1 {
		t.Errorf("%d warnings about the server's target load over 5 statuses, want 1:\n%s", n, logs.String())
	}
}

// A job that ends while the worker is away from the server (the connection
// dropped, the server refusing to take it back for a while) still gets its
// final status to the server: it is sent as soon as the worker registers
// again. It used to be dropped, leaving the job running in the server's
// books.
func TestFinalStatusSentAfterReregistering(t *testing.T) {
	f := newFakeServer(t)
	release := make(chan struct{})
	ended := make(chan struct{})
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error {
		defer close(ended)
		<-release
		return fmt.Errorf("ended while away")
	})
	runWorker(t, w)
	f.register(t)
	f.startJob(t, "J")

	f.refuse.Store(true)
	f.drop()
	for w.ID() != "" {
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	<-ended
	f.refuse.Store(false)

	f.register(t)
	st := f.jobStatus(t, "J", true)
	if st.GetStatus() != livekit.JobStatus_JS_FAILED || st.GetError() != "ended while away" {
		t.Errorf("after re-registering: status %v %q, want JS_FAILED %q", st.GetStatus(), st.GetError(), "ended while away")
	}
}

// A job's reservation lasts until the load can show the job. The CPU
// average (five samples, one each 0.5 s) takes a started job in one sample
// at a time: the job counts whole until a whole sample taken after its
// start is in (1 s), a fifth less with each sample after, and not at all
// once the window holds only samples taken after it (3 s); then the
// measure stands alone, and the cost of the next jobs is the measured cost
// per job. A load function is called afresh before each offer and shows a
// started job at once: only a job awaiting its assignment is reserved.
func TestReservationHeldUntilTheLoadShowsTheJob(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []Option
	}{
		{"cpu", nil},
		{"load function", []Option{WithLoad(func() float64 { return 0 })}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w, err := New("ws://127.0.0.1:1", "k", "s", func(ctx context.Context, job *Job) error { return nil },
					append([]Option{WithLogger(quietLogger())}, tt.opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				w.cpus = 2 // a job is first guessed at 0.7 / 2
				check := func(at string, wantLoad float64, wantFull bool) {
					t.Helper()
					w.mu.Lock()
					defer w.mu.Unlock()
					now := time.Now()
					load, full := w.effectiveLoadLocked(now), w.refusalLocked(now) == declineFull
					if math.Abs(load-wantLoad) > 1e-9 || full != wantFull {
						t.Errorf("%s: load %v full %v, want %v %v", at, load, full, wantLoad, wantFull)
					}
				}
				w.mu.Lock()
				w.lastLoad = 0.2
				w.pending["a"] = make(chan *livekit.JobAssignment)
				w.pending["b"] = make(chan *livekit.JobAssignment)
				w.mu.Unlock()
				check("two jobs accepted, awaiting assignment", 0.2+2*0.35, true)
				w.mu.Lock()
				delete(w.pending, "a")
				delete(w.pending, "b")
				w.jobs["a"] = &runningJob{started: time.Now()}
				w.jobs["b"] = &runningJob{started: time.Now()}
				w.mu.Unlock()
				if tt.name == "load function" {
					check("two jobs started: the function shows them", 0.2, false)
					return
				}
				check("two jobs just started", 0.2+2*0.35, true)
				time.Sleep(time.Second - time.Millisecond)
				check("no whole sample after the start yet", 0.2+2*0.35, true)
				time.Sleep(time.Millisecond)
				check("one sample in", 0.2+2*0.35*4/5, true)
				time.Sleep(time.Second)
				check("three samples in", 0.2+2*0.35*2/5, false)
				time.Sleep(cpuSettle - 2*time.Second - time.Millisecond)
				check("four samples in", 0.2+2*0.35*1/5, false)
				time.Sleep(time.Millisecond)
				check("once it can show them, on the old measure", 0.2, false)
				w.mu.Lock()
				w.lastLoad = 0.4 // the measure with both jobs: 0.2 a job
				w.pending["c"] = make(chan *livekit.JobAssignment)
				w.mu.Unlock()
				check("one more accepted, at the measured 0.2 a job", 0.6, false)
				w.mu.Lock()
				w.pending["d"] = make(chan *livekit.JobAssignment)
				w.mu.Unlock()
				check("two more accepted", 0.8, true)
			})
		})
	}
}

// On an idle 2-core machine, rooms that come one a second all get the
// agent, as LiveKit Agents gives it to them (its reservation ends when the
// job starts): each started job counts only for the part of its cost the
// CPU average has not yet taken in. When a started job counted whole for
// the 3 s window, the third room was declined at a load of 0 and got no
// agent.
func TestRoomsOneASecondOnAnIdleMachineAllTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, err := New("ws://127.0.0.1:1", "k", "s", func(ctx context.Context, job *Job) error { return nil },
			WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		w.cpus = 2
		for i := range 8 {
			w.mu.Lock()
			w.lastLoad = 0 // idle: the jobs cost next to nothing
			reason := w.refusalLocked(time.Now())
			if reason == "" {
				w.jobs[fmt.Sprint(i)] = &runningJob{started: time.Now()}
			}
			w.mu.Unlock()
			if reason != "" {
				t.Fatalf("room %d, a second after the one before, declined (%s) on an idle machine", i+1, reason)
			}
			time.Sleep(time.Second)
		}
	})
}

// A load function that counts the jobs (LiveKit's documented example of
// one) is not charged twice for a job that started: with 2 of 10 running
// the worker takes a third, where it used to add a reservation of 0.35 a
// job on top of the function's 0.2 and decline.
func TestJobCountingLoadFunctionNotCountedTwice(t *testing.T) {
	f := newFakeServer(t)
	hold := make(chan struct{})
	defer close(hold)
	var w *Worker
	w = newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error {
		select {
		case <-hold:
		case <-ctx.Done():
		}
		return nil
	}, WithLoad(func() float64 { return float64(w.ActiveJobs()) / 10 }))
	w.cpus = 2
	runWorker(t, w)
	f.register(t)
	for _, id := range []string{"J1", "J2"} {
		f.startJob(t, id)
	}
	for w.ActiveJobs() != 2 {
		time.Sleep(time.Millisecond)
	}
	f.offer("J3")
	if !f.availability(t, "J3").GetAvailable() {
		t.Error("declined a third job at 2 of 10 jobs running")
	}
}
