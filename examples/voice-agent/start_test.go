package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/livekit-go/agents/plugins/silero"
)

// syncBuffer is a bytes.Buffer the worker's logger and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs as a worker on a real server (scripts/test.sh sets
// LIVEKIT_TEST_URL): a room that dispatches it gets the agent, which greets
// the user on lk.transcription with the local speech stack; SIGINT (the
// context) drains it and it exits 0 with one status line for the job.
func TestLiveStartCommand(t *testing.T) {
	url := os.Getenv("LIVEKIT_TEST_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("LIVEKIT_TEST_URL is not set: CI must run the end-to-end tests (scripts/test.sh)")
		}
		t.Skip("LIVEKIT_TEST_URL not set; scripts/test.sh starts a server and sets it")
	}
	if v, err := silero.Load(); err != nil {
		if errors.Is(err, silero.ErrNotInstalled) && os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	} else {
		_ = v.Close()
	}
	key, secret := os.Getenv("LIVEKIT_TEST_API_KEY"), os.Getenv("LIVEKIT_TEST_API_SECRET")
	gw := httptest.NewServer(&recordingGateway{})
	defer gw.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "voice-agent-start-" + hex.EncodeToString(b)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := &syncBuffer{}
	code := make(chan int, 1)
	// -max-jobs makes the load jobs/max instead of the CPU use, which on a
	// shared 2-core machine can make the worker (and the server) pass the
	// job by.
	go func() { // exits when ctx is cancelled (the SIGINT of main)
		code <- run(ctx, []string{"start", "-agent-name", name, "-log-level", "info", "-max-jobs", "4", "-load-threshold", "1"}, nil, logs, logs, envOf(map[string]string{
			"LIVEKIT_URL": url, "LIVEKIT_API_KEY": key, "LIVEKIT_API_SECRET": secret, "LIVEKIT_INFERENCE_URL": gw.URL,
		}))
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "worker: registered") {
		if time.Now().After(deadline) {
			t.Fatalf("worker did not register; log:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	rooms := lksdk.NewRoomServiceClient(url, key, secret)
	if _, err := rooms.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: name, Agents: []*livekit.RoomAgentDispatch{{AgentName: name}}}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		c, cl := context.WithTimeout(context.Background(), 5*time.Second)
		defer cl()
		_, _ = rooms.DeleteRoom(c, &livekit.DeleteRoomRequest{Room: name})
	}()
	token, err := auth.NewAccessToken(key, secret).SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: name}).
		SetIdentity("user").SetValidFor(time.Hour).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	greeted := make(chan map[string]string, 8)
	user := lksdk.NewRoom(lksdk.NewRoomCallback())
	if err := user.JoinWithContextAndToken(ctx, url, token); err != nil {
		t.Fatal(err)
	}
	_ = user.RegisterTextStreamHandler("lk.transcription", func(r *lksdk.TextStreamReader, from string) {
		text := r.ReadAll()
		if strings.HasPrefix(text, "Hello! Ask me the time") && r.Info.Attributes["lk.transcription_final"] == "true" {
			greeted <- r.Info.Attributes
		}
	})
	select {
	case attrs := <-greeted:
		if attrs["lk.segment_id"] == "" || attrs["lk.transcribed_track_id"] == "" {
			t.Errorf("greeting attributes %v, want a segment and the agent's track", attrs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no greeting on lk.transcription; log:\n%s", logs.String())
	}
	user.Disconnect()
	for !strings.Contains(logs.String(), "job status") {
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("no job status line after the user left; log:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if c := <-code; c != 0 {
		t.Errorf("exit code %d; log:\n%s", c, logs.String())
	}
	if l := logs.String(); !strings.Contains(l, "speech: local stand-ins") || !strings.Contains(l, "ended=\"roomio: the user left the room") {
		t.Errorf("log lacks the stand-in notice or the job's end:\n%s", l)
	}
}
