package roomio_test

// Live tests of a user whose connection drops: LiveKit Agents closes the
// session only when the user left for good (CLIENT_INITIATED,
// ROOM_DELETED, USER_REJECTED); otherwise it waits for that identity to
// come back and listens to it again.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/livekit-go/agents/agent/roomio"
	"github.com/livekit-go/agents/agent/roomio/internal/tonespeech"
	"github.com/livekit-go/agents/internal/simuser"
	"github.com/livekit-go/agents/session"
)

// helperUserEnv makes the test binary a user process (TestMain): it joins
// the room named by the variable as "user", says "joined" on stdout and
// stays until killed, as a browser tab whose network goes away does.
const helperUserEnv = "ROOMIO_TEST_HELPER_USER_ROOM"

func runHelperUser() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	u, err := joinUser(ctx, os.Getenv("LIVEKIT_TEST_URL"), os.Getenv("LIVEKIT_TEST_API_KEY"), os.Getenv("LIVEKIT_TEST_API_SECRET"),
		os.Getenv(helperUserEnv), "user")
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper user:", err)
		return 1
	}
	_ = u
	fmt.Println("joined")
	<-ctx.Done() // killed long before
	return 0
}

// startHelperUser runs a user in another process and waits until it
// joined; kill it to drop its connection without a goodbye.
func startHelperUser(t *testing.T, room string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperUserEnv+"="+room)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "joined" {
		t.Fatalf("helper user: %q %v", line, err)
	}
	return cmd
}

// The user's process dies (a network drop: no leave, the server times the
// connection out). The agent keeps the session and, when the same
// identity joins again, listens to its new microphone: the next question
// is answered by the same session.
func TestLiveUserWhoDropsIsWaitedForAndRelinked(t *testing.T) {
	t.Parallel() // the server takes about 20 s to drop the user: wait alongside
	ctx, cancel := context.WithTimeout(t.Context(), 3*waitLimit)
	defer cancel()
	j := runDirectJob(t, ctx, "roomio-drop", "It is noon.", roomio.WithUserReconnectTimeout(time.Minute))
	helper := startHelperUser(t, j.name)
	j.awaitSession(t, ctx)
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	dropped := time.Now()
	// Wait until the server has noticed: the agent no longer sees the user.
	deadline := time.Now().Add(waitLimit)
	for j.room.LiveKit().GetParticipantByIdentity("user") != nil {
		if time.Now().After(deadline) {
			t.Fatal("the server never dropped the killed user")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the server dropped the user %v after its process died", time.Since(dropped).Round(time.Millisecond))
	time.Sleep(time.Second)
	select {
	case <-j.room.Done():
		t.Fatalf("the room ended when the user's connection dropped: %v", j.room.Err())
	default:
	}
	u, err := joinUser(ctx, j.s.url, j.s.key, j.s.secret, j.name, "user")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	heard := len(u.SoundRuns())
	u.Speak(tonespeech.Tone(time.Second, simuser.Rate))
	if err := u.WaitFor(ctx, "the answer after coming back", func() bool {
		return len(u.SoundRuns()) > heard && len(j.ev.assistantMessages()) == 1
	}); err != nil {
		t.Fatal(err)
	}
	u.Close() // now the user leaves for good
	select {
	case reason := <-j.ev.end:
		if !errors.Is(reason, roomio.ErrUserLeft) {
			t.Errorf("job ended with %v, want ErrUserLeft", reason)
		}
	case <-ctx.Done():
		t.Fatal("the job did not end when the user left")
	}
	if c := j.ev.closeEvent(); c == nil || c.Reason != session.CloseParticipantDisconnected {
		t.Errorf("session close event %+v, want participant_disconnected", c)
	}
}

// The wait is bounded: a user who dropped and does not come back within
// WithUserReconnectTimeout ends the job as a user who left.
func TestLiveUserWhoDropsForGoodEndsTheJob(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 3*waitLimit)
	defer cancel()
	const wait = 2 * time.Second
	j := runDirectJob(t, ctx, "roomio-gone", "It is noon.", roomio.WithUserReconnectTimeout(wait))
	helper := startHelperUser(t, j.name)
	j.awaitSession(t, ctx)
	_ = helper.Process.Kill()
	_ = helper.Wait()
	for j.room.LiveKit().GetParticipantByIdentity("user") != nil {
		time.Sleep(50 * time.Millisecond)
	}
	gone := time.Now()
	select {
	case reason := <-j.ev.end:
		waited := time.Since(gone)
		t.Logf("job ended %v after the server dropped the user: %v", waited.Round(time.Millisecond), reason)
		if !errors.Is(reason, roomio.ErrUserLeft) || !strings.Contains(reason.Error(), "did not come back") {
			t.Errorf("job ended with %v, want ErrUserLeft: did not come back", reason)
		}
		if waited < wait-100*time.Millisecond {
			t.Errorf("job ended %v after the drop, before the %v wait", waited, wait)
		}
	case <-ctx.Done():
		t.Fatal("the job did not end")
	}
	if err := <-j.done; err != nil {
		t.Errorf("RunJob = %v, want nil (the user left)", err)
	}
}
