package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	dto "github.com/prometheus/client_model/go"

	"github.com/livekit-go/agents/internal/promtext"
	"github.com/livekit-go/agents/internal/resample"
	"github.com/livekit-go/agents/internal/simuser"
	"github.com/livekit-go/agents/plugins/flite"
)

// start runs as a worker on a real server (scripts/test.sh sets
// LIVEKIT_TEST_URL): a room that dispatches it gets the agent, which greets
// the user on lk.transcription with the local speech stack; SIGINT (the
// context) drains it and it exits 0 with one status line for the job.
func TestLiveStartCommand(t *testing.T) {
	url, key, secret := liveServer(t)
	gw := httptest.NewServer(&recordingGateway{})
	defer gw.Close()
	name := "voice-agent-start-" + randomSuffix()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := &syncBuffer{}
	code := make(chan int, 1)
	// -max-jobs makes the load jobs/max instead of the CPU use, which on a
	// shared 2-core machine can make the worker (and the server) pass the
	// job by.
	go func() { // exits when ctx is cancelled (the SIGINT of main)
		code <- run(ctx, []string{"start", "-agent-name", name, "-log-level", "info", "-max-jobs", "4", "-load-threshold", "1", "-http-addr", ""}, nil, logs, logs, envOf(map[string]string{
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

	dispatchRoom(t, url, key, secret, name)
	token := userToken(t, key, secret, name)
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

// usageGateway is a loopback Chat Completions server that answers every
// request with a short reply and the usage a gateway reports, cached
// prompt tokens included.
type usageGateway struct{}

const (
	gatewayPromptTokens = 52
	gatewayCachedTokens = 32
	gatewayOutputTokens = 7
)

func (usageGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, `data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"It is noon in Tokyo."},"finish_reason":"stop"}]}`+"\n\n")
	fmt.Fprintf(w, `data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":%d}}}`+"\n\n",
		gatewayPromptTokens, gatewayOutputTokens, gatewayPromptTokens+gatewayOutputTokens, gatewayCachedTokens)
	fmt.Fprint(w, "data: [DONE]\n\n")
}

var httpAddrLog = regexp.MustCompile(`"worker: serving health and metrics".* addr=(\S+)`)

// probeClient keeps no idle connection behind (goleak).
var probeClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

// getHTTP returns the status and body of GET http://addr/path.
func getHTTP(addr, path string) (int, string, error) {
	res, err := probeClient.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// askAfterGreeting waits (up to a minute) for the agent's greeting to end,
// then speaks question with Flite.
func askAfterGreeting(ctx context.Context, u *simuser.User, question string) error {
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	greeted := func() bool {
		for _, tr := range u.Transcripts() {
			if !tr.OfUser && tr.Final {
				return true
			}
		}
		return false
	}
	if err := u.WaitFor(wctx, "the agent's greeting", func() bool {
		return greeted() && u.AgentState() == "listening" && !u.Sounding()
	}); err != nil {
		return err
	}
	voice, err := flite.New()
	if err != nil {
		return err
	}
	pcm, err := voice.Synthesize(ctx, question)
	if err != nil {
		return err
	}
	_, err = u.Say(ctx, resample.Up(trimQuiet(pcm), simuser.Rate/flite.SampleRate))
	return err
}

// `start` serves its health check and Prometheus metrics while it runs: a
// scrape during a live job (a simulated user asked a question aloud and
// heard the answer) parses with the Prometheus text parser and shows the
// job running, the worker available, the turn's latencies in the
// histograms and the LLM's tokens; during the drain that follows SIGINT,
// the health check says 503.
func TestLiveStartServesHealthAndMetricsDuringAJob(t *testing.T) {
	url, key, secret := liveServer(t)
	closeIdleHTTP(t)
	gw := httptest.NewServer(usageGateway{})
	defer gw.Close()
	name := "voice-agent-metrics-" + randomSuffix()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := &syncBuffer{}
	code := make(chan int, 1)
	go func() { // exits when ctx is cancelled (the SIGINT of main) and the job ended
		code <- run(ctx, []string{"start", "-agent-name", name, "-log-level", "info", "-max-jobs", "4", "-load-threshold", "1",
			"-http-addr", "127.0.0.1:0"}, nil, logs, logs, envOf(map[string]string{
			"LIVEKIT_URL": url, "LIVEKIT_API_KEY": key, "LIVEKIT_API_SECRET": secret, "LIVEKIT_INFERENCE_URL": gw.URL,
		}))
	}()
	exited := false
	defer func() {
		if !exited {
			cancel()
			<-code
		}
	}()
	var addr string
	if !waitFor(60*time.Second, func() bool {
		m := httpAddrLog.FindStringSubmatch(logs.String())
		if m != nil {
			addr = m[1]
		}
		return addr != "" && strings.Contains(logs.String(), "worker: registered")
	}) {
		t.Fatalf("the worker did not register and serve HTTP; log:\n%s", logs.String())
	}
	if c, body, err := getHTTP(addr, "/"); err != nil || c != http.StatusOK {
		t.Errorf("GET / while registered: %d %q %v, want 200", c, body, err)
	}
	time.Sleep(time.Second) // livekit-server adds a worker to dispatch a moment after answering its registration

	dispatchRoom(t, url, key, secret, name)
	token := userToken(t, key, secret, name)
	u, err := simuser.Join(ctx, url, token)
	if err != nil {
		t.Fatal(err)
	}
	userGone := false
	defer func() {
		if !userGone {
			u.Close()
		}
	}()
	if err := askAfterGreeting(ctx, u, "What time is it in Tokyo?"); err != nil {
		t.Fatalf("%v; log:\n%s", err, logs.String())
	}

	// Scrape until the turn's metrics are in, then read everything from
	// that scrape.
	var body string
	var fams map[string]*dto.MetricFamily
	if !waitFor(90*time.Second, func() bool {
		c, b, err := getHTTP(addr, "/metrics")
		if err != nil || c != http.StatusOK {
			return false
		}
		f, err := promtext.Parse(strings.NewReader(b))
		if err != nil {
			t.Fatalf("parsing /metrics: %v\n%s", err, b)
		}
		body, fams = b, f
		n, _ := promtext.Value(fams, "lk_agents_turn_e2e_latency_seconds")
		return n >= 1
	}) {
		t.Fatalf("no turn in the metrics after the user spoke; last scrape:\n%s\nlog:\n%s", body, logs.String())
	}
	var lines []string
	for l := range strings.Lines(body) {
		if strings.HasPrefix(l, "lk_agents_") && !strings.Contains(l, "_bucket{") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	t.Logf("GET /metrics during the job (lk_agents_ series, buckets left out):\n%s", strings.Join(lines, "\n"))

	for _, c := range []struct {
		name   string
		labels []string
		want   func(float64) bool
		what   string
	}{
		{"lk_agents_active_job_count", nil, func(v float64) bool { return v == 1 }, "1"},
		{"lk_agents_worker_status", []string{"status", "available"}, func(v float64) bool { return v == 1 }, "1"},
		{"lk_agents_job_requests_total", []string{"result", "accepted"}, func(v float64) bool { return v == 1 }, "1"},
		{"lk_agents_worker_load", nil, func(v float64) bool { return v > 0 && v < 1 }, "between 0 and 1 (1 job of 4)"},
		{"lk_agents_turn_end_of_utterance_delay_seconds", nil, func(v float64) bool { return v >= 1 }, "at least 1 turn"},
		{"lk_agents_turn_llm_ttft_seconds", nil, func(v float64) bool { return v >= 1 }, "at least 1 turn"},
		{"lk_agents_turn_tts_ttfb_seconds", nil, func(v float64) bool { return v >= 1 }, "at least 1 turn"},
		{"lk_agents_llm_tokens_total", []string{"kind", "prompt"}, func(v float64) bool { return v >= gatewayPromptTokens && int(v)%gatewayPromptTokens == 0 }, "a multiple of the gateway's 52"},
		{"lk_agents_llm_tokens_total", []string{"kind", "completion"}, func(v float64) bool { return v >= gatewayOutputTokens && int(v)%gatewayOutputTokens == 0 }, "a multiple of the gateway's 7"},
		{"lk_agents_llm_cached_tokens_total", nil, func(v float64) bool { return v >= gatewayCachedTokens && int(v)%gatewayCachedTokens == 0 }, "a multiple of the gateway's 32"},
	} {
		v, ok := promtext.Value(fams, c.name, c.labels...)
		if !ok || !c.want(v) {
			t.Errorf("%s%v = %v (present %v), want %s", c.name, c.labels, v, ok, c.what)
		}
	}
	if h := fams["lk_agents_turn_e2e_latency_seconds"].GetMetric()[0].GetHistogram(); h.GetSampleSum() <= 0 {
		t.Errorf("e2e latency sum %v, want > 0", h.GetSampleSum())
	}

	// SIGINT: the worker drains, the user is still there, the job runs
	// on, and the health check turns away traffic.
	cancel()
	if !waitFor(10*time.Second, func() bool { c, _, _ := getHTTP(addr, "/"); return c == http.StatusServiceUnavailable }) {
		c, b, err := getHTTP(addr, "/")
		t.Errorf("GET / while draining: %d %q %v, want 503", c, b, err)
	}
	u.Close()
	userGone = true
	select {
	case c := <-code:
		exited = true
		if c != 0 {
			t.Errorf("exit code %d; log:\n%s", c, logs.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("start did not exit after its job ended; log:\n%s", logs.String())
	}
}

// A second SIGTERM while `start` drains ends the process at once, as LiveKit
// Agents does, instead of waiting out the drain (10 minutes by default)
// for jobs that may never end on their own: here a job waiting for a user
// who never comes.
func TestLiveSecondSignalDuringDrainExitsAtOnce(t *testing.T) {
	url, key, secret := liveServer(t)
	closeIdleHTTP(t)
	bin := voiceAgentBinary(t)
	name := "voice-agent-signal-" + randomSuffix()
	env := append(os.Environ(), "LIVEKIT_URL="+url, "LIVEKIT_API_KEY="+key, "LIVEKIT_API_SECRET="+secret,
		"LIVEKIT_INFERENCE_URL=", "LIVEKIT_INFERENCE_API_KEY=", "LIVEKIT_INFERENCE_API_SECRET=")
	p := startProc(t, "voice-agent start", env, bin, "start", "-agent-name", name, "-http-addr", "",
		"-max-jobs", "4", "-load-threshold", "1", "-log-level", "info")
	p.waitLog(t, "worker: registered", 60*time.Second)
	time.Sleep(time.Second) // livekit-server adds a worker to dispatch a moment after answering its registration

	dispatchRoom(t, url, key, secret, name)
	p.waitLog(t, "worker: job started", 30*time.Second)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "draining:", 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	if p.exited() {
		t.Fatalf("exited on the first SIGTERM with its job running:\n%s", p.out.String())
	}
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("still running 5 s after the second SIGTERM:\n%s", tail(p.out.String(), 3000))
	}
	t.Logf("exited %v after the second SIGTERM", time.Since(sent).Round(time.Millisecond))
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit %v, want code 1", p.err)
	}
	if !strings.Contains(p.out.String(), "second signal: exiting now") {
		t.Errorf("no line about the second signal:\n%s", tail(p.out.String(), 3000))
	}
}
