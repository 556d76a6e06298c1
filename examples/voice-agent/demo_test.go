package main

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/livekit-go/agents/plugins/pocketsphinx"
)

// The demo end to end on a real server, with the local speech stack on
// both sides and the model behind inference.LLM: the simulated user asks
// aloud for Tokyo's time, the agent's request goes on the wire to the local
// stand-in model with the demo's options, the stand-in streams a
// current_time call for Tokyo, the agent runs it and sends a second request
// carrying its output, the answer from it is spoken, the user's
// pocketsphinx hears its keywords, and the lk.transcription text is what
// the agent said. The agent's pocketsphinx sometimes mishears "Tokyo" on
// a loaded machine (the stand-in then echoes what it heard, checked too),
// so the user asks three times and at least one must get through. Waits
// are on conditions, generous for a loaded machine; no timing is asserted.
func TestLiveDemo(t *testing.T) {
	url, key, secret := liveServer(t)
	// server-sdk-go's room service client keeps its connection to the
	// server on http.DefaultTransport; close it for goleak.
	t.Cleanup(http.DefaultTransport.(*http.Transport).CloseIdleConnections)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	// The answer names the weekday from the tool: listen for today's and
	// the next hour's, in case the day turns during the test.
	now := time.Now().In(tokyo)
	days := []string{strings.ToLower(now.Weekday().String()), strings.ToLower(now.Add(time.Hour).Weekday().String())}
	var kws []pocketsphinx.Keyword
	for _, k := range append([]string{"time in tokyo"}, days...) {
		kws = append(kws, pocketsphinx.Keyword{Phrase: k})
	}

	var out bytes.Buffer
	logs := &syncBuffer{}
	log, err := newLogger(logs, "info")
	if err != nil {
		t.Fatal(err)
	}
	const question = "What time is it in Tokyo?"
	cfg := demoConfig{
		url: url, key: key, secret: secret,
		turns: 3, questions: []string{question}, turnTimeout: 90 * time.Second,
		recognizer: []pocketsphinx.Option{pocketsphinx.WithKeywords(kws...)},
		getenv:     envOf(nil), // no gateway: the stand-in
		stdout:     &out,
		log:        log,
	}
	cfg.flags.model, cfg.flags.instructions, cfg.flags.options = "openai/gpt-4.1-mini", "Answer in one sentence.", demoModelOptions
	results, err := runDemoConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("demo: %v\noutput:\n%s\nlog:\n%s", err, out.String(), logs.String())
	}
	if len(results) != cfg.turns {
		t.Fatalf("turns = %d, want %d", len(results), cfg.turns)
	}
	printed := out.String()
	var outputs []string // what current_time answered, in order
	for _, m := range regexp.MustCompile(`agent called current_time\(\{"zone":"Asia/Tokyo"\}\) -> "([^"]+)"`).FindAllStringSubmatch(printed, -1) {
		outputs = append(outputs, m[1])
	}
	heard := 0
	for i, r := range results {
		if r.heardAsked == "" {
			t.Errorf("turn %d: no transcript of the user's question on lk.transcription", i+1)
		}
		if r.firstAudio.IsZero() || !r.firstAudio.After(r.speechEnd) {
			t.Errorf("turn %d: first agent audio %v, want after the question ended (%v)", i+1, r.firstAudio, r.speechEnd)
		}
		if !strings.Contains(r.heardAsked, "tokyo") {
			// The stand-in answers what the agent heard.
			if want := "I heard you say: " + r.heardAsked + ". Ask me the time in a city, such as Tokyo."; r.said != want {
				t.Errorf("turn %d: the agent heard %q and said %q, want the stand-in's echo %q", i+1, r.heardAsked, r.said, want)
			}
			continue
		}
		if heard >= len(outputs) {
			t.Errorf("turn %d: the agent heard %q but called current_time for Tokyo only %d times", i+1, r.heardAsked, len(outputs))
			continue
		}
		if want := "The time in Tokyo is " + outputs[heard] + "."; r.said != want {
			t.Errorf("turn %d: lk.transcription of the answer = %q, want the answer from the tool's output, %q", i+1, r.said, want)
		}
		heard++
		if !strings.Contains(r.userHeard, "time in tokyo") || !strings.Contains(r.userHeard, days[0]) && !strings.Contains(r.userHeard, days[1]) {
			t.Errorf("turn %d: the user heard %q, want %q and the weekday (%s)", i+1, r.userHeard, "time in tokyo", strings.Join(days, " or "))
		}
	}
	if heard == 0 {
		t.Errorf("the agent's STT heard Tokyo in none of %d turns", len(results))
	}
	wire := `LLM request on the wire: model openai/gpt-4.1-mini, options {"max_completion_tokens":150,"temperature":0.3}, tools [current_time], messages `
	wants := []string{
		"LLM: inference.LLM openai/gpt-4.1-mini, sent to the local stand-in model at http://127.0.0.1:", "NOT a",
		"STT: PocketSphinx", "TTS: Flite", "user hears (PocketSphinx)",
		wire + "[system assistant user]",
	}
	if heard > 0 {
		wants = append(wants, `model streamed a tool call: current_time({"zone":"Asia/Tokyo"})`, " user assistant>current_time tool]")
	}
	for _, want := range wants {
		if !strings.Contains(printed, want) {
			t.Errorf("output lacks %q:\n%s", want, printed)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", logs.String())
	}
	t.Logf("the agent heard Tokyo in %d of %d turns; output:\n%s", heard, len(results), printed)
}
