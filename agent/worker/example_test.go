package worker_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/livekit-go/agents/agent/worker"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

// A worker process: serve jobs for the agent "support" until SIGTERM, then
// drain for up to ten minutes.
func Example() {
	entry := func(ctx context.Context, job *worker.Job) error {
		room, err := lksdk.ConnectToRoomWithToken(job.URL, job.Token, &lksdk.RoomCallback{})
		if err != nil {
			return err
		}
		defer room.Disconnect()
		room.LocalParticipant.SetAttributes(map[string]string{"lk.agent.state": "listening"})
		<-ctx.Done() // a real agent runs its session here
		return nil
	}
	w, err := worker.New(os.Getenv("LIVEKIT_URL"), os.Getenv("LIVEKIT_API_KEY"), os.Getenv("LIVEKIT_API_SECRET"), entry,
		worker.WithAgentName("support"),
		worker.WithMaxJobs(25),
		worker.WithRequestFunc(func(ctx context.Context, job *livekit.Job) (worker.Acceptance, error) {
			return worker.Acceptance{Name: "Support agent"}, nil
		}),
	)
	if err != nil {
		slog.Error("worker", "err", err)
		return
	}

	sig, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// Until the signal, serve; then take no new jobs and give the running
	// ones ten minutes.
	if err := w.RunAndDrain(sig, 10*time.Minute); err != nil {
		slog.Error("worker", "err", err)
	}
}
