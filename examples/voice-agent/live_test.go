package main

// What the live tests share: the server and speech stack they need (skipped
// outside CI when missing, failed in CI), the programs they start and stop,
// the rooms they dispatch an agent to, and waiting on what those print.

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/livekit-go/agents/internal/simuser"
	"github.com/livekit-go/agents/plugins/silero"
)

// needTool returns the path of a program a test needs: it skips outside CI
// when the program is missing, and fails in CI, where scripts/setup.sh
// installs it.
func needTool(t *testing.T, name, installedBy string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found: CI must have it (%s)", name, installedBy)
		}
		t.Skipf("%s not found (%s installs it)", name, installedBy)
	}
	return p
}

// liveSpeech skips outside CI when the local speech stack is not installed
// (the agent cannot start without its VAD), and fails in CI.
func liveSpeech(t *testing.T) {
	t.Helper()
	v, err := silero.Load()
	if err != nil {
		if errors.Is(err, silero.ErrNotInstalled) && os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	_ = v.Close()
}

// voiceAgentBinary builds this program with go build into the test's
// temporary directory and returns its path (the build cache makes a second
// build a link).
func voiceAgentBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "voice-agent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// closeIdleHTTP closes, when the test ends, the keep-alive connections its
// server API clients (http.DefaultTransport) leave open: they are not the
// test's goroutines, but goleak would count them.
func closeIdleHTTP(t *testing.T) {
	t.Cleanup(func() {
		if tr, ok := http.DefaultTransport.(*http.Transport); ok {
			tr.CloseIdleConnections()
		}
	})
}

// proc is a process a test started; its output is kept, and it is killed
// (if still running) when the test ends, or, should the test binary die
// first (go test's -timeout panics, which runs no cleanup), when the test
// binary does: a redis-server or livekit-server left behind would hold
// the fixed ports of the next run.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed when it exited
	err  error         // its exit, once done
}

func startProc(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { // exits when the process does
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(syscall.SIGKILL) })
	return p
}

// stop sends sig unless the process has exited, and waits for it.
func (p *proc) stop(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitLog waits until the process's output contains s.
func (p *proc) waitLog(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.out.String(), s) {
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("%s: no %q in its output (exited: %v):\n%s", p.name, s, p.exited(), tail(p.out.String(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// waitFor polls cond every 100 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); ; {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// liveServer returns the test server from scripts/test.sh, skipping
// outside CI when there is none or the local speech stack is missing.
func liveServer(t *testing.T) (url, key, secret string) {
	t.Helper()
	url = os.Getenv("LIVEKIT_TEST_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("LIVEKIT_TEST_URL is not set: CI must run the end-to-end tests (scripts/test.sh)")
		}
		t.Skip("LIVEKIT_TEST_URL not set; scripts/test.sh starts a server and sets it")
	}
	liveSpeech(t)
	return url, os.Getenv("LIVEKIT_TEST_API_KEY"), os.Getenv("LIVEKIT_TEST_API_SECRET")
}

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

// dispatchRoom creates room name on the server with a dispatch of the agent
// named name (the worker under test), and deletes it when the test ends.
func dispatchRoom(t *testing.T, url, key, secret, name string) {
	t.Helper()
	rooms := lksdk.NewRoomServiceClient(url, key, secret)
	if _, err := rooms.CreateRoom(t.Context(), &livekit.CreateRoomRequest{Name: name, Agents: []*livekit.RoomAgentDispatch{{AgentName: name}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = rooms.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: name})
	})
}

// userToken is a join token for the identity "user" in room.
func userToken(t *testing.T, key, secret, room string) string {
	t.Helper()
	token, err := simuser.Token(key, secret, room, "user")
	if err != nil {
		t.Fatal(err)
	}
	return token
}
