package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/testing/protocmp"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestWorker(t *testing.T, url string, entry EntryPoint, opts ...Option) *Worker {
	t.Helper()
	base := []Option{
		WithLogger(quietLogger()),
		WithLoad(func() float64 { return 0 }),
		WithReconnectBackoff(time.Millisecond, 10*time.Millisecond),
	}
	w, err := New(url, "key", "secret", entry, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestRegistersAndRunsJob(t *testing.T) {
	f := newFakeServer(t)
	jobs := make(chan *Job, 1)
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error {
		jobs <- job
		return nil
	},
		WithAgentName("tester"),
		WithVersion("1.2.3"),
		WithNamespace("ns"),
		WithPermissions(&livekit.ParticipantPermission{CanSubscribe: true, CanPublish: true, Hidden: true}),
		WithRequestFunc(func(ctx context.Context, job *livekit.Job) (Acceptance, error) {
			return Acceptance{Name: "Tester", Metadata: "m", Attributes: map[string]string{"k": "v"}}, nil
		}),
	)
	stop := runWorker(t, w)

	reg := f.register(t)
	ns := "ns"
	wantReg := &livekit.RegisterWorkerRequest{
		Type: livekit.JobType_JT_ROOM, AgentName: "tester", Version: "1.2.3", Namespace: &ns,
		AllowedPermissions: &livekit.ParticipantPermission{CanSubscribe: true, CanPublish: true, Hidden: true},
	}
	if diff := cmp.Diff(reg, wantReg, protocmp.Transform()); diff != "" {
		t.Errorf("register request (-got +want):\n%s", diff)
	}
	st := f.next(t, "worker status", func(m *livekit.WorkerMessage) bool { return m.GetUpdateWorker() != nil }).GetUpdateWorker()
	if st.GetStatus() != livekit.WorkerStatus_WS_AVAILABLE {
		t.Errorf("status %v, want WS_AVAILABLE", st.GetStatus())
	}

	f.offer("J1")
	got := f.availability(t, "J1")
	want := &livekit.AvailabilityResponse{
		JobId: "J1", Available: true, ParticipantIdentity: "agent-J1", ParticipantName: "Tester",
		ParticipantMetadata: "m", ParticipantAttributes: map[string]string{"k": "v"},
	}
	if diff := cmp.Diff(got, want, protocmp.Transform()); diff != "" {
		t.Errorf("availability response (-got +want):\n%s", diff)
	}
	f.assign("J1")
	job := <-jobs
	if job.ID() != "J1" || job.RoomName() != "room-J1" || job.Token != "token-J1" || job.URL != f.url() || job.WorkerID != "AW_fake1" {
		t.Errorf("job = %+v, want id J1 in room-J1 with token-J1 at %s from AW_fake1", job, f.url())
	}
	if job.Participant.Identity != "agent-J1" {
		t.Errorf("participant identity %q, want agent-J1", job.Participant.Identity)
	}
	if s := f.jobStatus(t, "J1", false).GetStatus(); s != livekit.JobStatus_JS_RUNNING {
		t.Errorf("first status %v, want JS_RUNNING", s)
	}
	if s := f.jobStatus(t, "J1", true); s.GetStatus() != livekit.JobStatus_JS_SUCCESS || s.GetError() != "" {
		t.Errorf("final status %v %q, want JS_SUCCESS", s.GetStatus(), s.GetError())
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestJobLogValueHidesToken(t *testing.T) {
	var b strings.Builder
	l := slog.New(slog.NewTextHandler(&b, nil))
	l.Info("x", "job", &Job{Info: &livekit.Job{Id: "J"}, Token: "secret-token"})
	if strings.Contains(b.String(), "secret-token") {
		t.Errorf("log line shows the token: %s", b.String())
	}
}

func TestPanickingJobFailsAlone(t *testing.T) {
	f := newFakeServer(t)
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error {
		if job.ID() == "boom" {
			panic("kaboom")
		}
		return nil
	})
	runWorker(t, w)
	f.register(t)

	f.startJob(t, "boom")
	s := f.jobStatus(t, "boom", true)
	if s.GetStatus() != livekit.JobStatus_JS_FAILED || s.GetError() != "panic: kaboom" {
		t.Errorf("panicking job: status %v %q, want JS_FAILED %q", s.GetStatus(), s.GetError(), "panic: kaboom")
	}
	f.startJob(t, "fine")
	if s := f.jobStatus(t, "fine", true).GetStatus(); s != livekit.JobStatus_JS_SUCCESS {
		t.Errorf("job after the panic: status %v, want JS_SUCCESS", s)
	}
}

func TestJobErrorFails(t *testing.T) {
	f := newFakeServer(t)
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error {
		return errors.New("no luck")
	})
	runWorker(t, w)
	f.register(t)
	f.startJob(t, "J")
	if s := f.jobStatus(t, "J", true); s.GetStatus() != livekit.JobStatus_JS_FAILED || s.GetError() != "no luck" {
		t.Errorf("status %v %q, want JS_FAILED %q", s.GetStatus(), s.GetError(), "no luck")
	}
}

func TestTerminationCancelsJob(t *testing.T) {
	f := newFakeServer(t)
	causes := make(chan error, 1)
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error {
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return ctx.Err()
	})
	runWorker(t, w)
	f.register(t)
	f.startJob(t, "J")
	f.send(&livekit.ServerMessage{Message: &livekit.ServerMessage_Termination{Termination: &livekit.JobTermination{JobId: "J"}}})
	if c := <-causes; !errors.Is(c, ErrJobTerminated) {
		t.Errorf("cause %v, want ErrJobTerminated", c)
	}
	if s := f.jobStatus(t, "J", true).GetStatus(); s != livekit.JobStatus_JS_SUCCESS {
		t.Errorf("status %v, want JS_SUCCESS", s)
	}
}

func TestReconnectsAfterServerDrop(t *testing.T) {
	f := newFakeServer(t)
	release := make(chan struct{})
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	runWorker(t, w)
	f.register(t)
	f.startJob(t, "survivor")

	f.drop()
	f.register(t) // registered again
	// Reports made while no connection is registered are dropped (the
	// server forgets a lost worker's jobs), so wait for the new one.
	for w.ID() != "AW_fake2" {
		time.Sleep(time.Millisecond)
	}
	// The job ran on through the reconnection and reports on the new one.
	close(release)
	if s := f.jobStatus(t, "survivor", true).GetStatus(); s != livekit.JobStatus_JS_SUCCESS {
		t.Errorf("status %v, want JS_SUCCESS", s)
	}
	// And new jobs are taken on the new connection.
	f.startJob(t, "after")
	if s := f.jobStatus(t, "after", true).GetStatus(); s != livekit.JobStatus_JS_SUCCESS {
		t.Errorf("status %v, want JS_SUCCESS", s)
	}
}

func TestReconnectsWhenServerSilent(t *testing.T) {
	f := newFakeServer(t, func(f *fakeServer) { f.noPong = true })
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error { return nil },
		WithPing(5*time.Millisecond, 50*time.Millisecond))
	runWorker(t, w)
	f.register(t)
	f.register(t) // the worker gave up on the silent connection and came back
}

func TestDrainLetsRunningJobFinish(t *testing.T) {
	f := newFakeServer(t)
	release := make(chan struct{})
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	stop := runWorker(t, w)
	f.register(t)
	f.startJob(t, "long")

	drained := make(chan error, 1)
	go func() { drained <- w.Drain(context.Background()) }() // exits once the job ended
	f.next(t, "draining status", func(m *livekit.WorkerMessage) bool {
		u := m.GetUpdateWorker()
		return u.GetDraining() && u.GetStatus() == livekit.WorkerStatus_WS_FULL
	})
	f.offer("late")
	if a := f.availability(t, "late"); a.GetAvailable() {
		t.Error("draining worker accepted a job")
	}
	close(release)
	if s := f.jobStatus(t, "long", true).GetStatus(); s != livekit.JobStatus_JS_SUCCESS {
		t.Errorf("status %v, want JS_SUCCESS", s)
	}
	if err := <-drained; err != nil {
		t.Errorf("Drain: %v", err)
	}
	if err := stop(); err != nil { // Run has already returned
		t.Errorf("Run: %v", err)
	}
}

func TestDrainTimeoutCancelsJobs(t *testing.T) {
	f := newFakeServer(t)
	causes := make(chan error, 1)
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error {
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return ctx.Err()
	})
	runWorker(t, w)
	f.register(t)
	f.startJob(t, "stuck")

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no time at all to finish
	if err := w.Drain(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Drain: %v, want context.Canceled", err)
	}
	if c := <-causes; !errors.Is(c, ErrDrainTimeout) {
		t.Errorf("cause %v, want ErrDrainTimeout", c)
	}
	s := f.jobStatus(t, "stuck", true)
	if s.GetStatus() != livekit.JobStatus_JS_FAILED || s.GetError() != ErrDrainTimeout.Error() {
		t.Errorf("status %v %q, want JS_FAILED %q", s.GetStatus(), s.GetError(), ErrDrainTimeout)
	}
}

func TestStopCancelsJobsAndReports(t *testing.T) {
	f := newFakeServer(t)
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error {
		<-ctx.Done()
		return ctx.Err()
	})
	stop := runWorker(t, w)
	f.register(t)
	f.startJob(t, "J")
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	s := f.jobStatus(t, "J", true)
	if s.GetStatus() != livekit.JobStatus_JS_FAILED || s.GetError() != ErrStopped.Error() {
		t.Errorf("status %v %q, want JS_FAILED %q", s.GetStatus(), s.GetError(), ErrStopped)
	}
}

func TestDeclines(t *testing.T) {
	f := newFakeServer(t)
	release := make(chan struct{})
	defer close(release)
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	},
		WithMaxJobs(1),
		WithStatusInterval(10*time.Millisecond),
		WithRequestFunc(func(ctx context.Context, job *livekit.Job) (Acceptance, error) {
			if strings.HasPrefix(job.GetId(), "reject") {
				return Acceptance{}, ErrRejected
			}
			if strings.HasPrefix(job.GetId(), "panic") {
				panic("request function bug")
			}
			return Acceptance{Identity: "me-" + job.GetId()}, nil
		}))
	runWorker(t, w)
	f.register(t)

	for _, id := range []string{"reject1", "panic1"} {
		f.offer(id)
		if a := f.availability(t, id); a.GetAvailable() {
			t.Errorf("offer %s accepted, want declined", id)
		}
	}
	f.offer("J1")
	if a := f.availability(t, "J1"); !a.GetAvailable() || a.GetParticipantIdentity() != "me-J1" {
		t.Errorf("offer J1: available %v as %q, want accepted as me-J1", a.GetAvailable(), a.GetParticipantIdentity())
	}
	f.assign("J1")
	f.jobStatus(t, "J1", false)
	f.offer("J2")
	if a := f.availability(t, "J2"); a.GetAvailable() {
		t.Error("offer beyond max jobs accepted")
	}
	st := f.next(t, "full status", func(m *livekit.WorkerMessage) bool {
		return m.GetUpdateWorker().GetStatus() == livekit.WorkerStatus_WS_FULL
	}).GetUpdateWorker()
	if st.GetJobCount() != 1 {
		t.Errorf("job count %d, want 1", st.GetJobCount())
	}
}

func TestFullAboveLoadThreshold(t *testing.T) {
	f := newFakeServer(t)
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error { return nil },
		WithLoad(func() float64 { return 0.8 }), WithStatusInterval(time.Millisecond))
	runWorker(t, w)
	f.register(t)
	st := f.next(t, "worker status", func(m *livekit.WorkerMessage) bool { return m.GetUpdateWorker() != nil }).GetUpdateWorker()
	if st.GetStatus() != livekit.WorkerStatus_WS_FULL || st.GetLoad() != 0.8 {
		t.Errorf("status %v load %v, want WS_FULL at 0.8", st.GetStatus(), st.GetLoad())
	}
	f.offer("J")
	if f.availability(t, "J").GetAvailable() {
		t.Error("worker above its load threshold accepted a job")
	}
}

func TestRefusedCredentialsEndRun(t *testing.T) {
	f := newFakeServer(t, func(f *fakeServer) { f.status = http.StatusUnauthorized })
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error { return nil })
	err := w.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("Run: %v, want an error naming 401", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error shows the secret: %v", err)
	}
}

func TestMaxRetries(t *testing.T) {
	f := newFakeServer(t, func(f *fakeServer) { f.status = http.StatusServiceUnavailable })
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error { return nil }, WithMaxRetries(2))
	if err := w.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "3 failed attempts") {
		t.Errorf("Run: %v, want giving up after 3 failed attempts", err)
	}
}

func TestRunTwice(t *testing.T) {
	f := newFakeServer(t)
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error { return nil })
	runWorker(t, w)
	f.register(t)
	if err := w.Run(t.Context()); err == nil {
		t.Error("second Run: nil error")
	}
}

func TestNewValidates(t *testing.T) {
	entry := func(ctx context.Context, job *Job) error { return nil }
	tests := []struct {
		name, url, key, secret string
		entry                  EntryPoint
		opts                   []Option
		want                   string
	}{
		{"scheme", "ftp://x", "k", "s", entry, nil, "worker: url: scheme"},
		{"host", "ws://", "k", "s", entry, nil, "worker: url: no host"},
		{"key", "ws://x", "", "s", entry, nil, "worker: api key"},
		{"secret", "ws://x", "k", "", entry, nil, "worker: api secret"},
		{"entry", "ws://x", "k", "s", nil, nil, "worker: entry point"},
		{"threshold", "ws://x", "k", "s", entry, []Option{WithLoadThreshold(0)}, "worker: load threshold"},
		{"max jobs", "ws://x", "k", "s", entry, []Option{WithMaxJobs(-1)}, "worker: max jobs"},
		{"ping", "ws://x", "k", "s", entry, []Option{WithPing(time.Second, time.Second)}, "worker: ping"},
		{"backoff", "ws://x", "k", "s", entry, []Option{WithReconnectBackoff(2, 1)}, "worker: reconnect backoff"},
		{"job type", "ws://x", "k", "s", entry, []Option{WithJobType(99)}, "worker: job type"},
		{"load", "ws://x", "k", "s", entry, []Option{WithLoad(nil)}, "worker: load"},
		{"interval", "ws://x", "k", "s", entry, []Option{WithStatusInterval(0)}, "worker: status interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.url, tt.key, tt.secret, tt.entry, tt.opts...)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error starting %q", err, tt.want)
			}
		})
	}
}

func TestAgentURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ws://127.0.0.1:7880", "ws://127.0.0.1:7880/agent"},
		{"http://127.0.0.1:7880/", "ws://127.0.0.1:7880/agent"},
		{"https://example.livekit.cloud", "wss://example.livekit.cloud/agent"},
		{"wss://host/prefix/", "wss://host/prefix/agent"},
	}
	for _, tt := range tests {
		got, err := agentURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("agentURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	min, max := 100*time.Millisecond, time.Second
	tests := []struct {
		attempt int
		rnd     float64
		want    time.Duration
	}{
		{1, 0, 50 * time.Millisecond},
		{1, 1, 100 * time.Millisecond},
		{2, 0, 100 * time.Millisecond},
		{3, 0.5, 300 * time.Millisecond},
		{5, 1, time.Second},
		{1000, 0, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		got := backoff(tt.attempt, min, max, func() float64 { return tt.rnd })
		if got != tt.want {
			t.Errorf("backoff(%d, rnd %v) = %v, want %v", tt.attempt, tt.rnd, got, tt.want)
		}
	}
}

func TestRunAndDrain(t *testing.T) {
	f := newFakeServer(t)
	release := make(chan struct{})
	w := newTestWorker(t, f.url(), func(ctx context.Context, job *Job) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- w.RunAndDrain(ctx, time.Hour) }() // exits once drained
	f.register(t)
	f.startJob(t, "J")

	cancel() // the signal
	f.next(t, "draining status", func(m *livekit.WorkerMessage) bool { return m.GetUpdateWorker().GetDraining() })
	close(release)
	if s := f.jobStatus(t, "J", true).GetStatus(); s != livekit.JobStatus_JS_SUCCESS {
		t.Errorf("status %v, want JS_SUCCESS: the job had time to finish", s)
	}
	if err := <-errc; err != nil {
		t.Errorf("RunAndDrain: %v", err)
	}
}

func TestDirectJobValidates(t *testing.T) {
	if _, err := DirectJob("ws://x", "k", "s", "", Acceptance{}); err == nil {
		t.Error("DirectJob without a room: nil error")
	}
	if _, err := DirectJob("ftp://x", "k", "s", "r", Acceptance{}); err == nil {
		t.Error("DirectJob with a bad URL: nil error")
	}
	if _, err := DirectJob("ws://x", "", "", "r", Acceptance{}); err == nil {
		t.Error("DirectJob without keys: nil error")
	}
	j, err := DirectJob("ws://x", "k", "s", "r", Acceptance{})
	if err != nil || j.RoomName() != "r" || j.Participant.Identity != "agent-"+j.ID() || j.Token == "" {
		t.Errorf("DirectJob = %+v, %v", j, err)
	}
}
