package worker

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/livekit-go/agents/internal/promtext"
)

func health(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

// waitHealth polls the health check until it answers code.
func waitHealth(t *testing.T, h http.Handler, code int) string {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		got, body := health(t, h)
		if got == code {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("health %d %q, want %d", got, body, code)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// GET / is what a load balancer or an orchestrator probes: 200 only while
// the worker is registered and takes jobs; 503 before it registers, while
// it is away from the server, and once it drains.
func TestHealthFollowsRegistrationAndDrain(t *testing.T) {
	f := newFakeServer(t)
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error { return nil })
	h := w.Handler()
	if code, body := health(t, h); code != http.StatusServiceUnavailable || body != "not registered with LiveKit" {
		t.Errorf("before Run: %d %q, want 503 not registered", code, body)
	}
	runWorker(t, w)
	f.register(t)
	if body := waitHealth(t, h, http.StatusOK); body != "OK" {
		t.Errorf("registered: body %q, want OK", body)
	}

	f.refuse.Store(true)
	f.drop()
	if body := waitHealth(t, h, http.StatusServiceUnavailable); body != "not registered with LiveKit" {
		t.Errorf("disconnected: body %q", body)
	}
	f.refuse.Store(false)
	f.register(t)
	waitHealth(t, h, http.StatusOK)

	drained := make(chan error, 1)
	go func() { drained <- w.Drain(t.Context()) }() // exits at once: no jobs
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	if code, body := health(t, h); code != http.StatusServiceUnavailable || body != "draining" {
		t.Errorf("drained: %d %q, want 503 draining", code, body)
	}
}

// WithHTTPAddr serves the handler for as long as Run runs, on a port of
// its choosing with :0.
func TestHTTPAddrServesWhileRunning(t *testing.T) {
	f := newFakeServer(t)
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error { return nil }, WithHTTPAddr("127.0.0.1:0"))
	stop := runWorker(t, w)
	f.register(t)
	addr := ""
	for addr == "" {
		addr = w.HTTPAddr()
		time.Sleep(time.Millisecond)
	}
	get := func(path string) (int, string, error) {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, string(b), err
	}
	deadline := time.Now().Add(waitLimit)
	for {
		code, _, err := get("/")
		if err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET / over HTTP: %d, %v", code, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	code, body, err := get("/metrics")
	if err != nil || code != http.StatusOK || !strings.Contains(body, "lk_agents_worker_status") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("GET /metrics: %d, %v, body without the worker's or the runtime's metrics:\n%s", code, err, body)
	}
	if code, _, _ := get("/nothing"); code != http.StatusNotFound {
		t.Errorf("GET /nothing: %d, want 404", code)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if w.HTTPAddr() != "" {
		t.Error("HTTPAddr still set after Run returned")
	}
	if _, _, err := get("/"); err == nil {
		t.Error("the HTTP server still answers after Run returned")
	}
}

func TestHTTPAddrInUseFailsRun(t *testing.T) {
	f := newFakeServer(t)
	taken := httptest.NewServer(http.NotFoundHandler())
	defer taken.Close()
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error { return nil },
		WithHTTPAddr(strings.TrimPrefix(taken.URL, "http://")))
	if err := w.Run(t.Context()); err == nil || !strings.HasPrefix(err.Error(), "worker: http:") {
		t.Errorf("Run: %v, want a worker: http: error", err)
	}
}

// scrape parses /metrics with the Prometheus text parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	fams, err := promtext.Parse(rec.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// The worker's metrics count what happened: jobs by outcome, offers by
// answer, the jobs running, the load and status reported.
func TestMetricsCountJobsAndOffers(t *testing.T) {
	f := newFakeServer(t)
	release := make(chan struct{})
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error {
		switch job.ID() {
		case "fails":
			return errors.New("no")
		case "panics":
			panic("bug")
		case "holds":
			<-release
		}
		return nil
	}, WithMaxJobs(3), WithLoad(func() float64 { return 0.25 }))
	w.cpus = 2
	h := w.Handler()
	runWorker(t, w)
	f.register(t)
	for _, id := range []string{"ok", "fails", "panics"} {
		f.startJob(t, id)
		f.jobStatus(t, id, true)
	}
	f.startJob(t, "holds")
	for w.ActiveJobs() != 1 {
		time.Sleep(time.Millisecond)
	}
	// Wait for the status that followed the last job's start.
	waitHealth(t, h, http.StatusOK)

	fams := scrape(t, h)
	got := map[string]float64{}
	for _, s := range []struct {
		name   string
		labels []string
	}{
		{"lk_agents_jobs_total", []string{"outcome", "success"}},
		{"lk_agents_jobs_total", []string{"outcome", "failed"}},
		{"lk_agents_jobs_total", []string{"outcome", "panicked"}},
		{"lk_agents_jobs_total", []string{"outcome", "terminated"}},
		{"lk_agents_job_requests_total", []string{"result", "accepted"}},
		{"lk_agents_job_requests_total", []string{"result", "max_jobs"}},
		{"lk_agents_active_job_count", nil},
		{"lk_agents_worker_status", []string{"status", "available"}},
		{"lk_agents_worker_status", []string{"status", "disconnected"}},
	} {
		v, ok := promtext.Value(fams, s.name, s.labels...)
		if !ok {
			t.Errorf("no series %s%v", s.name, s.labels)
		}
		got[s.name+strings.Join(s.labels, "=")] = v
	}
	want := map[string]float64{
		"lk_agents_jobs_totaloutcome=success":         1,
		"lk_agents_jobs_totaloutcome=failed":          1,
		"lk_agents_jobs_totaloutcome=panicked":        1,
		"lk_agents_jobs_totaloutcome=terminated":      0,
		"lk_agents_job_requests_totalresult=accepted": 4,
		"lk_agents_job_requests_totalresult=max_jobs": 0,
		"lk_agents_active_job_count":                  1,
		"lk_agents_worker_statusstatus=available":     1,
		"lk_agents_worker_statusstatus=disconnected":  0,
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("metrics (-got +want):\n%s", diff)
	}
	if load, _ := promtext.Value(fams, "lk_agents_worker_load"); load < 0.25 {
		t.Errorf("lk_agents_worker_load %v, want at least the measured 0.25", load)
	}
	close(release)
}

// The program's collectors are served with the worker's metrics; one that
// collides with them is refused when the worker is made.
func TestCollectorsServedWithWorkerMetrics(t *testing.T) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "program_things_total", Help: "Things."})
	c.Add(3)
	w := newTestWorker(t, "ws://127.0.0.1:1", func(ctx context.Context, job *Job) error { return nil }, WithCollectors(c))
	if v, ok := promtext.Value(scrape(t, w.Handler()), "program_things_total"); !ok || v != 3 {
		t.Errorf("program_things_total = %v (present %v), want 3", v, ok)
	}
	dup := prometheus.NewGauge(prometheus.GaugeOpts{Name: "lk_agents_active_job_count", Help: "again"})
	if _, err := New("ws://127.0.0.1:1", "k", "s", func(ctx context.Context, job *Job) error { return nil }, WithCollectors(dup)); err == nil || !strings.HasPrefix(err.Error(), "worker: metrics:") {
		t.Errorf("New with a colliding collector: %v, want a worker: metrics: error", err)
	}
	if _, err := New("ws://127.0.0.1:1", "k", "s", func(ctx context.Context, job *Job) error { return nil }, WithCollectors(nil)); err == nil {
		t.Error("New with a nil collector: nil error")
	}
}
