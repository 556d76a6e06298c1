package worker

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// sinkConn is a connection that takes every write and has nothing to read.
type sinkConn struct {
	mu     sync.Mutex
	writes int
}

func (c *sinkConn) ReadMessage() (int, []byte, error) { return 0, nil, io.EOF }
func (c *sinkConn) WriteMessage(int, []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return nil
}
func (c *sinkConn) WriteControl(int, []byte, time.Time) error { return nil }
func (c *sinkConn) SetReadDeadline(time.Time) error           { return nil }
func (c *sinkConn) SetWriteDeadline(time.Time) error          { return nil }
func (c *sinkConn) Close() error                              { return nil }

func serverMessageSeeds(t testing.TB) [][]byte {
	job := &livekit.Job{Id: "J", Type: livekit.JobType_JT_ROOM, Room: &livekit.Room{Name: "panic"}}
	msgs := []*livekit.ServerMessage{
		{},
		{Message: &livekit.ServerMessage_Register{Register: &livekit.RegisterWorkerResponse{WorkerId: "W"}}},
		{Message: &livekit.ServerMessage_Availability{}},
		{Message: &livekit.ServerMessage_Availability{Availability: &livekit.AvailabilityRequest{Job: job}}},
		{Message: &livekit.ServerMessage_Assignment{Assignment: &livekit.JobAssignment{Job: job, Token: "t"}}},
		{Message: &livekit.ServerMessage_Assignment{}},
		{Message: &livekit.ServerMessage_Termination{Termination: &livekit.JobTermination{JobId: "J"}}},
		{Message: &livekit.ServerMessage_Pong{Pong: &livekit.WorkerPong{LastTimestamp: 1}}},
		{Message: &livekit.ServerMessage_GoAway{}},
		{Message: &livekit.ServerMessage_CreateJobToken{}},
	}
	var out [][]byte
	for _, m := range msgs {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzHandleMessage checks that no sequence of two server messages, decoded
// from arbitrary bytes, panics the worker or leaves a goroutine behind. The
// entry point panics in rooms named "panic", which must fail only the job.
func FuzzHandleMessage(f *testing.F) {
	seeds := serverMessageSeeds(f)
	for _, a := range seeds {
		for _, b := range seeds {
			f.Add(a, b)
		}
	}
	f.Add([]byte{0xff, 0x01}, []byte("not protobuf"))
	f.Fuzz(func(t *testing.T, first, second []byte) {
		w, err := New("ws://127.0.0.1:1", "key", "secret", func(ctx context.Context, job *Job) error {
			if job.RoomName() == "panic" {
				panic("fuzz")
			}
			return nil
		}, WithLogger(quietLogger()), WithLoad(func() float64 { return 0 }), WithAssignmentTimeout(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		s := newSession(&sinkConn{})
		s.workerID = "W"
		w.sess = s
		ctx, cancel := context.WithCancel(context.Background())
		for _, data := range [][]byte{first, second} {
			if err := w.handleMessage(ctx, context.Background(), s, data); err != nil && !errors.Is(err, errGoAway) {
				t.Errorf("handleMessage: %v", err)
			}
		}
		cancel()
		w.offerWG.Wait()
		w.stopJobs(ErrStopped)
	})
}
