package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livekit-go/agents/internal/simuser"
	"github.com/livekit-go/agents/plugins/silero"
)

// bareEnv is an environment with nothing of the speech stack's in it (no
// SILERO_VAD_MODEL, no ONNXRUNTIME_LIB, no LIVEKIT_INFERENCE_*), and the
// server's URL and keys when given.
func bareEnv(home string, server ...string) []string {
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	if c := os.Getenv("LKGO_CACHE"); c != "" {
		env = append(env, "LKGO_CACHE="+c) // where setup.sh was told to install, if it was
	}
	if len(server) == 3 {
		env = append(env, "LIVEKIT_URL="+server[0], "LIVEKIT_API_KEY="+server[1], "LIVEKIT_API_SECRET="+server[2])
	}
	return env
}

// `go build ./examples/voice-agent && ./voice-agent start` with only the
// server's URL and keys set: the binary carries the Silero model, finds
// ONNX Runtime where scripts/setup.sh put it, talks to the local stand-in
// model, registers, and on SIGTERM drains and exits 0. Its log is one
// stream: no line of the SDK's own logger.
func TestBinaryStartsWithoutSpeechVariables(t *testing.T) {
	url, key, secret := liveServer(t)
	home, _ := os.UserHomeDir()
	bin := voiceAgentBinary(t)
	// An agent name keeps the worker to explicit dispatch: the rooms other
	// tests create on the server meanwhile are not its business.
	p := startProc(t, "voice-agent start", bareEnv(home, url, key, secret), bin,
		"start", "-log-level", "info", "-agent-name", "voice-agent-binary-"+randomSuffix(), "-http-addr", "")
	p.waitLog(t, "worker: registered", 60*time.Second)
	p.stop(syscall.SIGTERM)
	if p.err != nil {
		t.Errorf("exit after SIGTERM: %v, want 0\n%s", p.err, p.out.String())
	}
	out := p.out.String()
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
// anything (the server named here does not exist). Anywhere includes
// $LKGO_CACHE, which a CI machine may set to keep its cache: the test
// points it, like HOME, at an empty directory.
func TestBinaryWithoutRuntimeNamesTheInstallCommand(t *testing.T) {
	bin := voiceAgentBinary(t)
	for _, cmdline := range [][]string{{"start"}, {"demo"}} {
		// A binary that found a runtime would retry the server for ever.
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, cmdline...)
		empty := t.TempDir()
		cmd.Env = append(bareEnv(empty, "ws://127.0.0.1:9", "k", "s"), "LKGO_CACHE="+empty)
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
// one JSON stream: its own lines, server-sdk-go's and pion's debug lines
// from joining a room, and whatever the speech engines' C libraries
// (ONNX Runtime, PocketSphinx, Flite) might print while a user asks a
// question aloud and the agent answers it; none of the SDK's own
// `"level"=0` lines, no bare line on stderr.
func TestBinaryLogsOneJSONStream(t *testing.T) {
	url, key, secret := liveServer(t)
	closeIdleHTTP(t)
	home, _ := os.UserHomeDir()
	bin := voiceAgentBinary(t)
	room := "log-stream-" + randomSuffix()
	p := startProc(t, "voice-agent connect", bareEnv(home, url, key, secret), bin,
		"connect", "-room", room, "-log-level", "debug", "-log-format", "json")
	p.waitLog(t, `"msg":"joining"`, 60*time.Second)
	u, err := simuser.Join(t.Context(), url, userToken(t, key, secret, room))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if err := askAfterGreeting(t.Context(), u, "What time is it in Paris?"); err != nil {
		t.Fatalf("%v\n%s", err, tail(p.out.String(), 4000))
	}
	p.waitLog(t, `"msg":"agent"`, 60*time.Second) // the greeting
	p.waitLog(t, `"msg":"turn metrics"`, 90*time.Second)
	// The user leaves: connect ends its job and exits 0.
	u.Close()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.stop(syscall.SIGTERM)
	}
	if p.err != nil {
		t.Errorf("exit: %v, want 0", p.err)
	}
	levels := map[string]int{}
	msgs := map[string]bool{}
	for _, l := range jsonLines(t, p.out.String()) {
		msgs[l.Msg] = true
		if strings.HasPrefix(l.Logger, "lksdk") || strings.HasPrefix(l.Logger, "livekit") {
			levels[l.Level]++
		}
	}
	if levels["DEBUG"] == 0 {
		t.Errorf("no DEBUG line from server-sdk-go or pion:\n%s", p.out.String())
	}
	for _, m := range []string{"user", "LLM request", "turn metrics", "job status"} {
		if !msgs[m] {
			t.Errorf("no %q line: the turn did not run through the log\n%s", m, tail(p.out.String(), 4000))
		}
	}
	t.Logf("lines from server-sdk-go and pion by level: %v", levels)
}
