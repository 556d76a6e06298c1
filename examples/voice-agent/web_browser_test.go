package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livekit-go/agents/plugins/flite"
)

// webQuestions are what the browser's fake microphone asks, in turn.
var webQuestions = []string{"What time is it in Tokyo?", "What time is it in Paris?"}

// The fake microphone's timeline: quiet while the page joins and the agent
// greets, each question, then quiet for the answer.
const (
	webLeadIn      = 9 * time.Second
	webAnswerQuiet = 10 * time.Second
	webMaxLatency  = 1500 * time.Millisecond // the bound, with DTX on
	// webStateLag is how long after the agent's voice is audible the page
	// may still not say speaking: the state leaves the agent before its
	// first audio, so this is margin for a loaded machine.
	webStateLag = 250 // ms
)

// browserPage is what browser.cjs reports the page showed.
type browserPage struct {
	Status      string `json:"status"`
	State       string `json:"state"`
	TalkEnabled bool   `json:"talkEnabled"`
	Messages    []struct {
		Speaker, Label, Identity, Text string
		Final, Grey                    bool
	} `json:"messages"`
	Turns []struct {
		LatencyMs   float64 `json:"latencyMs"`
		VoiceEnd    float64 `json:"voiceEnd"`
		AnswerStart float64 `json:"answerStart"`
	} `json:"turns"`
	States []struct {
		State string  `json:"state"`
		At    float64 `json:"at"`
	} `json:"states"`
	LevelMax    float64 `json:"levelMax"`
	InterimSeen []struct {
		Speaker, Text string
	} `json:"interimSeen"`
}

type browserRun struct {
	Chromium  string      `json:"chromium"`
	Args      []string    `json:"args"`
	TimedOut  bool        `json:"timedOut"`
	Console   []string    `json:"console"`
	Shown     browserPage `json:"shown"`
	AfterStop browserPage `json:"afterStop"`
	TotalMs   float64     `json:"totalMs"`
	// QuietAfterDoneMs is how long the agent's voice still played at the
	// page after its state said listening.
	QuietAfterDoneMs float64 `json:"quietAfterDoneMs"`
}

// browserTools finds chromium, node and the npm packages setup_browser
// installs; outside CI a missing one skips the test, in CI it fails it.
func browserTools(t *testing.T) (chromium, nodeModules, clientJS string) {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: scripts/setup.sh setup_browser installs it", what)
		}
		t.Skipf("%s is missing (scripts/setup.sh setup_browser installs it)", what)
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("chromium")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node")
	}
	clientJS = livekitClientJS(os.Getenv)
	nodeModules = os.Getenv("LKGO_NODE_MODULES")
	if nodeModules == "" {
		nodeModules = filepath.Join(filepath.Dir(clientJS), "..", "..")
	}
	if _, err := os.Stat(filepath.Join(nodeModules, "puppeteer-core")); err != nil {
		missing("puppeteer-core")
	}
	if _, err := os.Stat(clientJS); err != nil {
		missing("livekit-client")
	}
	return chromium, nodeModules, clientJS
}

// artifactsDir is where tests leave what a person should look at.
func artifactsDir(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("LKGO_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache", "livekit-go-agents")
	}
	dir := filepath.Join(cache, "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeQuestionsWAV speaks the questions with Flite into a 16-bit mono
// WAV file, with quiet before, between and after them.
func writeQuestionsWAV(t *testing.T, path string, questions []string) {
	t.Helper()
	voice, err := flite.New()
	if err != nil {
		t.Fatal(err)
	}
	quiet := func(d time.Duration) []int16 { return make([]int16, int(d.Seconds()*flite.SampleRate)) }
	pcm := quiet(webLeadIn)
	for _, q := range questions {
		speech, err := voice.Synthesize(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, trimQuiet(speech)...)
		pcm = append(pcm, quiet(webAnswerQuiet)...)
	}
	data := uint32(2 * len(pcm))
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, 36+data)
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)                 // fmt chunk size
	b = binary.LittleEndian.AppendUint16(b, 1)                  // PCM
	b = binary.LittleEndian.AppendUint16(b, 1)                  // mono
	b = binary.LittleEndian.AppendUint32(b, flite.SampleRate)   // samples a second
	b = binary.LittleEndian.AppendUint32(b, 2*flite.SampleRate) // bytes a second
	b = binary.LittleEndian.AppendUint16(b, 2)                  // bytes a frame
	b = binary.LittleEndian.AppendUint16(b, 16)                 // bits a sample
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, data)
	for _, v := range pcm {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The web command end to end in Debian's chromium, headless, on a real
// server: the page's fake microphone asks two questions (Flite) with
// livekit-client's default publish options (Opus DTX on), and the test
// checks what a person would see: the agent joins, its state goes
// listening, thinking, speaking each turn, the user's words and the
// agent's answer appear under the right speakers, the agent's voice moves
// the level bar, and each answer is audible within 1.5 s of the end of
// the user's voice, as the page measures it (Web Audio, RMS over 20 ms).
// A screenshot after the two turns goes to the cache's artifacts.
func TestLiveWebPageInChromium(t *testing.T) {
	url, key, secret := liveServer(t)
	chromium, nodeModules, clientJS := browserTools(t)
	started := time.Now()

	logs := &syncBuffer{}
	log, err := newLogger(logs, "debug") // debug: the session's turn metrics
	if err != nil {
		t.Fatal(err)
	}
	cfg := webConfig{
		url: url, key: key, secret: secret,
		addr:      "127.0.0.1:0",
		agentName: "voice-agent-web-test-" + randomSuffix(), // other tests' workers share the server
		clientJS:  clientJS,
		getenv:    envOf(nil), // no gateway: the agent's model is the local stand-in, as for a user without an account
		log:       log,
		stdout:    logs,
	}
	cfg.flags.model, cfg.flags.instructions = "openai/gpt-4.1-mini", "Answer in one sentence."
	ctx, cancel := context.WithCancel(t.Context())
	pages := make(chan string, 1)
	cfg.ready = func(u string) { pages <- u }
	served := make(chan error, 1)
	go func() { served <- runWebConfig(ctx, cfg) }() // exits when ctx is cancelled below
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("web: %v", err)
		}
	}()
	var page string
	select {
	case page = <-pages:
	case err := <-served:
		t.Fatalf("web: %v\nlog:\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the page was not served\nlog:\n%s", logs.String())
	}

	dir := t.TempDir()
	wav := filepath.Join(dir, "questions.wav")
	writeQuestionsWAV(t, wav, webQuestions)
	shot := filepath.Join(artifactsDir(t), "web-two-turns.png")
	_ = os.Remove(shot)
	bctx, bcancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer bcancel()
	cmd := exec.CommandContext(bctx, "node", filepath.Join("testdata", "browser.cjs"), page, wav, shot,
		fmt.Sprint(len(webQuestions)), fmt.Sprint((webLeadIn + time.Duration(len(webQuestions))*(webAnswerQuiet+5*time.Second)).Milliseconds()))
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodeModules, "CHROMIUM="+chromium)
	// node dies with the test binary even when a -timeout panic skips the
	// cleanup, as every process the package's tests start does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("browser.cjs: %v\nstderr:\n%s\nlog:\n%s", err, stderr.String(), logs.String())
	}
	var run browserRun
	if err := json.Unmarshal(stdout.Bytes(), &run); err != nil {
		t.Fatalf("browser.cjs output %q: %v", stdout.String(), err)
	}
	shown := run.Shown
	report := func() string {
		j, _ := json.MarshalIndent(run, "", "  ")
		return fmt.Sprintf("page:\n%s\nlog:\n%s", j, logs.String())
	}
	if run.TimedOut {
		t.Errorf("the page did not show %d answered turns in time", len(webQuestions))
	}

	// The agent joined, greeted, and answered each question; each message
	// is final (not grey) and under its speaker.
	var users, agents []string
	for _, m := range shown.Messages {
		if !m.Final || m.Grey {
			t.Errorf("message %q of %s still interim (grey) at the end", m.Text, m.Speaker)
		}
		switch {
		case m.Speaker == "user" && m.Label == "You":
			users = append(users, m.Text)
		case m.Speaker == "agent" && m.Label == "Agent":
			agents = append(agents, m.Text)
		default:
			t.Errorf("message %q under %q (%s, %s): want You or Agent", m.Text, m.Label, m.Speaker, m.Identity)
		}
	}
	if len(agents) == 0 || !strings.HasPrefix(agents[0], "Hello!") {
		t.Errorf("agent messages %q: want the greeting first", agents)
	}
	answers := agents[min(1, len(agents)):]
	if len(users) != len(webQuestions) || slices.Contains(users, "") || len(answers) != len(webQuestions) {
		t.Errorf("the user's messages %q under You and the agent's answers %q under Agent: want one each for the %d questions",
			users, answers, len(webQuestions))
	}
	// The answer is to what the agent heard: the stand-in model calls
	// current_time for a city it heard the time asked for, and echoes
	// anything else (PocketSphinx may mishear on a loaded machine).
	timeAnswers := 0
	for i := range min(len(users), len(answers)) {
		want := "I heard you say: " + strings.TrimRight(users[i], ".!?")
		if city, _, ok := findCity(users[i]); ok && asksTimeRE.MatchString(users[i]) {
			want = "The time in " + titleCase(city) + " is "
			timeAnswers++
		}
		if !strings.HasPrefix(answers[i], want) {
			t.Errorf("turn %d: the agent heard %q and answered %q, want %q...", i+1, users[i], answers[i], want)
		}
	}
	if timeAnswers == 0 {
		t.Errorf("the agent heard %q: no question for the time in a city got through", users)
	}
	// Interim text is grey, then kept as final: some beginning of an
	// answer was shown grey.
	grey := slices.ContainsFunc(shown.InterimSeen, func(m struct{ Speaker, Text string }) bool {
		return m.Speaker == "agent" && slices.ContainsFunc(answers, func(a string) bool { return strings.HasPrefix(a, m.Text) })
	})
	if !grey {
		t.Errorf("interim texts shown %v: want an answer's beginning grey before it was final", shown.InterimSeen)
	}

	// Each turn: the state goes thinking, speaking, listening after the
	// user's voice ends, and the answer is heard within the bound.
	if len(shown.Turns) != len(webQuestions) {
		t.Errorf("the page timed %d turns, want %d", len(shown.Turns), len(webQuestions))
	}
	for i, turn := range shown.Turns {
		next := 1e18
		if i+1 < len(shown.Turns) {
			next = shown.Turns[i+1].VoiceEnd
		}
		var seq []string
		shownAt := map[string]float64{}
		timeline := fmt.Sprintf("turn %d: user voice ended at 0", i+1)
		for _, s := range shown.States {
			if s.At > turn.VoiceEnd && s.At < next {
				seq = append(seq, s.State)
				if _, ok := shownAt[s.State]; !ok {
					shownAt[s.State] = s.At
				}
				timeline += fmt.Sprintf(", %s at %+.0f ms", s.State, s.At-turn.VoiceEnd)
			}
		}
		timeline += fmt.Sprintf("; agent audible at %+.0f ms", turn.AnswerStart-turn.VoiceEnd)
		t.Log(timeline)
		if strings.Join(seq, " ") != "thinking speaking listening" {
			t.Errorf("turn %d: states after the user's voice %q, want thinking speaking listening", i+1, seq)
		} else if shownAt["thinking"] >= turn.AnswerStart || shownAt["speaking"] > turn.AnswerStart+webStateLag {
			// What a person notices: hearing the agent while the page
			// still says it is listening or thinking.
			t.Errorf("turn %d: thinking shown %+.0f ms and speaking %+.0f ms from when the agent was audible: want thinking before it and speaking within %d ms of it",
				i+1, shownAt["thinking"]-turn.AnswerStart, shownAt["speaking"]-turn.AnswerStart, webStateLag)
		}
		if lat := time.Duration(turn.LatencyMs) * time.Millisecond; lat <= 0 || lat > webMaxLatency {
			t.Errorf("turn %d: the agent was heard %v after the end of the user's voice, want within %v", i+1, lat, webMaxLatency)
		}
	}
	if len(shown.States) == 0 || shown.States[0].State == "" || !strings.Contains(shown.Status, "with the agent") {
		t.Errorf("states %v, status %q: want the agent in the room", shown.States, shown.Status)
	}
	if shown.LevelMax <= 0 {
		t.Error("the agent's level bar never moved")
	}
	if a := run.AfterStop; !a.TalkEnabled || a.State != "" || a.Status != "You left the room." {
		t.Errorf("after Stop: talk enabled %v, state %q, status %q; want out of the room", a.TalkEnabled, a.State, a.Status)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
		t.Errorf("screenshot %s: %v", shot, err)
	}

	var lat []string
	for _, turn := range shown.Turns {
		lat = append(lat, fmt.Sprintf("%.0f ms", turn.LatencyMs))
	}
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "turn metrics") {
			t.Log("session:", l[strings.Index(l, "msg="):])
		}
	}
	t.Logf("%s; per-turn latency at the page (user voice end -> agent audible): %s; user heard as %q; the agent's voice went on %.0f ms after listening was shown; screenshot %s; %.1f s in the browser, %.1f s in all",
		run.Chromium, strings.Join(lat, ", "), users, run.QuietAfterDoneMs, shot, run.TotalMs/1000, time.Since(started).Seconds())
	if t.Failed() {
		t.Log(report())
	}
}
