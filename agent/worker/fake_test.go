package worker

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// waitLimit only guards against a hung test; no test depends on it for its
// verdict.
const waitLimit = 20 * time.Second

// fakeServer speaks the server side of the agent worker protocol on a
// loopback httptest server: it answers registration and pings, records every
// worker message, and lets the test send server messages or drop the
// connection.
type fakeServer struct {
	t       *testing.T
	srv     *httptest.Server
	msgs    chan *livekit.WorkerMessage
	regs    chan *livekit.RegisterWorkerRequest
	noPong  bool
	status  int         // when not 0, refuse the upgrade with this HTTP status
	refuse  atomic.Bool // while set, refuse upgrades with 503
	handler sync.WaitGroup

	mu    sync.Mutex
	conn  *websocket.Conn
	wmu   sync.Mutex
	conns int
}

func newFakeServer(t *testing.T, configure ...func(*fakeServer)) *fakeServer {
	t.Helper()
	f := &fakeServer{
		t:    t,
		msgs: make(chan *livekit.WorkerMessage, 1000),
		regs: make(chan *livekit.RegisterWorkerRequest, 100),
	}
	for _, c := range configure {
		c(f)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serveHTTP))
	t.Cleanup(f.close)
	return f
}

func (f *fakeServer) url() string { return "ws" + f.srv.URL[len("http"):] }

func (f *fakeServer) close() {
	f.srv.Close()
	f.drop()
	f.handler.Wait()
}

func (f *fakeServer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/agent" || r.Header.Get("Authorization") == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if f.status != 0 {
		http.Error(w, "refused", f.status)
		return
	}
	if f.refuse.Load() {
		http.Error(w, "refused", http.StatusServiceUnavailable)
		return
	}
	up := websocket.Upgrader{}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	f.handler.Add(1)
	defer f.handler.Done()
	defer conn.Close()

	_, data, err := conn.ReadMessage()
	if err != nil {
		return
	}
	var first livekit.WorkerMessage
	if proto.Unmarshal(data, &first) != nil || first.GetRegister() == nil {
		return
	}
	f.mu.Lock()
	f.conns++
	id := fmt.Sprintf("AW_fake%d", f.conns)
	f.conn = conn
	f.mu.Unlock()
	f.write(conn, &livekit.ServerMessage{Message: &livekit.ServerMessage_Register{
		Register: &livekit.RegisterWorkerResponse{WorkerId: id, ServerInfo: &livekit.ServerInfo{Version: "fake"}},
	}})
	f.regs <- first.GetRegister()
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		msg := &livekit.WorkerMessage{}
		if err := proto.Unmarshal(data, msg); err != nil {
			f.t.Errorf("fake server: undecodable worker message: %v", err)
			return
		}
		if p := msg.GetPing(); p != nil && !f.noPong {
			f.write(conn, &livekit.ServerMessage{Message: &livekit.ServerMessage_Pong{
				Pong: &livekit.WorkerPong{LastTimestamp: p.Timestamp, Timestamp: time.Now().UnixMilli()},
			}})
		}
		f.msgs <- msg
	}
}

func (f *fakeServer) write(conn *websocket.Conn, msg *livekit.ServerMessage) {
	b, err := proto.Marshal(msg)
	if err != nil {
		f.t.Errorf("fake server: encode: %v", err)
		return
	}
	f.wmu.Lock()
	defer f.wmu.Unlock()
	_ = conn.WriteMessage(websocket.BinaryMessage, b)
}

// send writes msg on the current connection.
func (f *fakeServer) send(msg *livekit.ServerMessage) {
	f.mu.Lock()
	conn := f.conn
	f.mu.Unlock()
	if conn == nil {
		f.t.Fatal("fake server: no connection")
	}
	f.write(conn, msg)
}

// drop closes the current connection without a close frame, as a crashed
// server would.
func (f *fakeServer) drop() {
	f.mu.Lock()
	conn := f.conn
	f.conn = nil
	f.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
}

func (f *fakeServer) register(t *testing.T) *livekit.RegisterWorkerRequest {
	t.Helper()
	select {
	case r := <-f.regs:
		return r
	case <-time.After(waitLimit):
		t.Fatal("fake server: no registration")
		return nil
	}
}

// next returns the next worker message that match accepts, skipping others.
func (f *fakeServer) next(t *testing.T, what string, match func(*livekit.WorkerMessage) bool) *livekit.WorkerMessage {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case m := <-f.msgs:
			if match(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("fake server: no %s", what)
			return nil
		}
	}
}

func (f *fakeServer) availability(t *testing.T, jobID string) *livekit.AvailabilityResponse {
	t.Helper()
	return f.next(t, "availability response for "+jobID, func(m *livekit.WorkerMessage) bool {
		return m.GetAvailability().GetJobId() == jobID
	}).GetAvailability()
}

func (f *fakeServer) jobStatus(t *testing.T, jobID string, final bool) *livekit.UpdateJobStatus {
	t.Helper()
	return f.next(t, "job status for "+jobID, func(m *livekit.WorkerMessage) bool {
		u := m.GetUpdateJob()
		if u.GetJobId() != jobID {
			return false
		}
		return !final || u.GetStatus() == livekit.JobStatus_JS_SUCCESS || u.GetStatus() == livekit.JobStatus_JS_FAILED
	}).GetUpdateJob()
}

// offer sends an availability request for a room job.
func (f *fakeServer) offer(jobID string) {
	f.send(&livekit.ServerMessage{Message: &livekit.ServerMessage_Availability{
		Availability: &livekit.AvailabilityRequest{Job: &livekit.Job{
			Id: jobID, Type: livekit.JobType_JT_ROOM, Room: &livekit.Room{Name: "room-" + jobID},
		}},
	}})
}

// assign sends the assignment that follows an accepted offer.
func (f *fakeServer) assign(jobID string) {
	f.send(&livekit.ServerMessage{Message: &livekit.ServerMessage_Assignment{
		Assignment: &livekit.JobAssignment{
			Job:   &livekit.Job{Id: jobID, Type: livekit.JobType_JT_ROOM, Room: &livekit.Room{Name: "room-" + jobID}},
			Token: "token-" + jobID,
		},
	}})
}

// startJob offers and assigns a job and checks that it starts.
func (f *fakeServer) startJob(t *testing.T, jobID string) {
	t.Helper()
	f.offer(jobID)
	if a := f.availability(t, jobID); !a.GetAvailable() {
		t.Fatalf("job %s declined", jobID)
	}
	f.assign(jobID)
	if got := f.jobStatus(t, jobID, false).GetStatus(); got != livekit.JobStatus_JS_RUNNING {
		t.Fatalf("job %s: first status %v, want JS_RUNNING", jobID, got)
	}
}

// runWorker starts w.Run and returns a function that stops it and returns
// Run's error.
func runWorker(t *testing.T, w *Worker) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }() // exits when ctx is cancelled or Drain ends
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(waitLimit):
				t.Error("Run did not return")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}
