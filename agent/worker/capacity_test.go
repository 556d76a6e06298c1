package worker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
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
// agent: the worker says so at warn, with its load, where it used to log it
// at info among routine lines.
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
	if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "reason=full") || !strings.Contains(line, "load=0.9") {
		t.Errorf("decline logged as %q, want a WARN line with reason=full and load=0.9", line)
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
