package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/livekit-go/agents/plugins/silero"
)

// buildBinary builds the program as a user does (go build
// ./examples/voice-agent) into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "voice-agent")
	out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// bareEnv is an environment with nothing of this project's in it: no
// SILERO_VAD_MODEL, no ONNXRUNTIME_LIB, no LIVEKIT_*.
func bareEnv(home string) []string {
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	if c := os.Getenv("LKGO_CACHE"); c != "" {
		env = append(env, "LKGO_CACHE="+c) // where setup.sh was told to install, if it was
	}
	return env
}

// lockedBuffer collects a child's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// `go build ./examples/voice-agent && ./voice-agent start` with no
// variables: the binary carries the Silero model, finds ONNX Runtime where
// scripts/setup.sh put it, and registers with the local development server
// (ws://127.0.0.1:7880, devkey). Where the test server is elsewhere (a
// developer's own port) only its URL and keys are given; in CI it is the
// default and nothing is. SIGTERM drains it and it exits 0.
func TestBinaryStartsWithNoVariables(t *testing.T) {
	url, key, secret := liveServer(t)
	home, _ := os.UserHomeDir()
	bin := buildBinary(t)
	// An agent name (a flag, not a variable) keeps the worker to explicit
	// dispatch: the rooms other tests create on the server meanwhile are
	// not its business.
	cmd := exec.CommandContext(t.Context(), bin, "start", "-log-level", "info", "-agent-name", "voice-agent-binary-"+randomSuffix())
	cmd.Env = bareEnv(home)
	if url != devURL || key != devKey || secret != devSecret {
		cmd.Env = append(cmd.Env, "LIVEKIT_URL="+url, "LIVEKIT_API_KEY="+key, "LIVEKIT_API_SECRET="+secret)
		t.Logf("the test server is not the default one: giving its URL and keys, nothing else")
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // exits when the process does (SIGTERM below, or the test's context)
	deadline := time.After(60 * time.Second)
	for !strings.Contains(stderr.String(), "worker: registered") {
		select {
		case err := <-done:
			t.Fatalf("voice-agent start exited (%v) before registering:\n%s", err, stderr.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("voice-agent start did not register within 60 s:\n%s", stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("exit after SIGTERM: %v, want 0\n%s", err, stderr.String())
	}
	out := stderr.String()
	for _, want := range []string{silero.EmbeddedModel, "local stand-in model at http://127.0.0.1:"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `"level"=`) {
		t.Errorf("a line of the SDK's own logger got through:\n%s", out)
	}
}

// Without ONNX Runtime anywhere it looks, the binary exits 1 with one
// error line that names the command installing it, before it connects to
// anything.
func TestBinaryWithoutRuntimeNamesTheInstallCommand(t *testing.T) {
	bin := buildBinary(t)
	for _, cmdline := range [][]string{{"start"}, {"demo"}} {
		cmd := exec.CommandContext(t.Context(), bin, cmdline...)
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("%v: %v, want exit code 1\n%s", cmdline, err, stderr.String())
		}
		var errLines []string
		for l := range strings.Lines(stderr.String()) {
			if strings.Contains(l, "level=ERROR") {
				errLines = append(errLines, l)
			}
		}
		if len(errLines) != 1 || !strings.Contains(errLines[0], "`"+silero.InstallCommand+"`") || !strings.Contains(errLines[0], "ONNX Runtime library not found") {
			t.Errorf("%v: error lines %q, want one naming %q", cmdline, errLines, silero.InstallCommand)
		}
	}
}

// With -log-level debug -log-format json, everything the binary prints is
// one JSON stream: its own lines and server-sdk-go's and pion's debug
// lines from joining a room, none of the SDK's own `"level"=0` lines.
func TestBinaryLogsOneJSONStream(t *testing.T) {
	url, key, secret := liveServer(t)
	home, _ := os.UserHomeDir()
	bin := buildBinary(t)
	cmd := exec.CommandContext(t.Context(), bin, "connect", "-room", "log-stream-"+randomSuffix(), "-log-level", "debug", "-log-format", "json")
	cmd.Env = append(bareEnv(home), "LIVEKIT_URL="+url, "LIVEKIT_API_KEY="+key, "LIVEKIT_API_SECRET="+secret)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // exits when the process does (SIGTERM below, or the test's context)
	deadline := time.After(60 * time.Second)
	for !strings.Contains(stderr.String(), `"level":"DEBUG","msg":`) || !strings.Contains(stderr.String(), `"logger":"livekit.pion.`) && !strings.Contains(stderr.String(), `"logger":"lksdk.pion.`) {
		select {
		case err := <-done:
			t.Fatalf("voice-agent connect exited (%v) early:\n%s", err, stderr.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("no debug line from pion within 60 s:\n%s", stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("exit after SIGTERM: %v, want 0", err)
	}
	levels := map[string]int{}
	for _, l := range jsonLines(t, stderr.String()) {
		if strings.HasPrefix(l.Logger, "lksdk") || strings.HasPrefix(l.Logger, "livekit") {
			levels[l.Level]++
		}
	}
	if levels["DEBUG"] == 0 {
		t.Errorf("no DEBUG line from server-sdk-go or pion:\n%s", stderr.String())
	}
	t.Logf("lines from server-sdk-go and pion by level: %v", levels)
}
