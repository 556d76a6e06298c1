package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit-go/agents/plugins/pocketsphinx"
	"github.com/livekit-go/agents/plugins/silero"
)

// demoReply is what the loopback model answers after its tool call; the
// user's recognizer listens for demoKeywords in it.
const demoReply = "The time in Tokyo is half past nine."

var demoKeywords = []string{"time in tokyo", "half past nine"}

// toolThenReply is a loopback Chat Completions server: to a request that
// offers the current_time tool and has no tool output yet it answers with
// a call for Asia/Tokyo, and to the next with demoReply, a word a chunk.
type toolThenReply struct {
	mu         sync.Mutex
	toolOutput string // the tool output the second request carried
	requests   int
}

func (g *toolThenReply) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Messages []map[string]any `json:"messages"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	var toolOut string
	for _, m := range body.Messages {
		if m["role"] == "tool" {
			toolOut = fmt.Sprint(m["content"])
		}
	}
	g.mu.Lock()
	g.requests++
	if toolOut != "" {
		g.toolOutput = toolOut
	}
	g.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	send := func(delta map[string]any, finish any) {
		chunk, _ := json.Marshal(map[string]any{"id": "c", "object": "chat.completion.chunk", "model": "m",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
		fmt.Fprintf(w, "data: %s\n\n", chunk)
	}
	if toolOut == "" {
		send(map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"index": 0, "id": "call_1", "type": "function",
			"function": map[string]any{"name": "current_time", "arguments": `{"zone":"Asia/Tokyo"}`}}}}, nil)
		send(map[string]any{}, "tool_calls")
	} else {
		for _, word := range strings.SplitAfter(demoReply, " ") {
			send(map[string]any{"content": word}, nil)
		}
		send(map[string]any{}, "stop")
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
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
	if v, err := silero.Load(); err != nil {
		if errors.Is(err, silero.ErrNotInstalled) && os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	} else {
		_ = v.Close()
	}
	return url, os.Getenv("LIVEKIT_TEST_API_KEY"), os.Getenv("LIVEKIT_TEST_API_SECRET")
}

// The demo end to end on a real server, with the local speech stack on
// both sides: the simulated user asks aloud, the agent's model (a loopback
// server) calls the time tool and answers, the agent speaks the answer,
// the user's pocketsphinx hears its keywords, and the lk.transcription
// text is what the agent said. Waits are on conditions, generous for a
// loaded machine; no timing is asserted.
func TestLiveDemo(t *testing.T) {
	url, key, secret := liveServer(t)
	gw := &toolThenReply{}
	srv := httptest.NewServer(gw)
	defer srv.Close()

	var out bytes.Buffer
	logs := &syncBuffer{}
	log, err := newLogger(logs, "info")
	if err != nil {
		t.Fatal(err)
	}
	var kws []pocketsphinx.Keyword
	for _, k := range demoKeywords {
		kws = append(kws, pocketsphinx.Keyword{Phrase: k})
	}
	cfg := demoConfig{
		url: url, key: key, secret: secret,
		turns: 1, turnTimeout: 90 * time.Second,
		recognizer: []pocketsphinx.Option{pocketsphinx.WithKeywords(kws...)},
		getenv: envOf(map[string]string{
			"LIVEKIT_INFERENCE_URL": srv.URL, "LIVEKIT_INFERENCE_API_KEY": "key", "LIVEKIT_INFERENCE_API_SECRET": "secret",
		}),
		stdout: &out,
		log:    log,
	}
	cfg.flags.model, cfg.flags.instructions = "openai/gpt-4.1-mini", "Answer in one sentence."
	results, err := runDemoConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("demo: %v\noutput:\n%s\nlog:\n%s", err, out.String(), logs.String())
	}
	if len(results) != 1 {
		t.Fatalf("turns = %d, want 1", len(results))
	}
	r := results[0]
	if r.said != demoReply {
		t.Errorf("lk.transcription of the answer = %q, want what the agent said, %q", r.said, demoReply)
	}
	for _, k := range demoKeywords {
		if !strings.Contains(r.userHeard, k) {
			t.Errorf("the user heard %q, want the keyphrase %q of the answer", r.userHeard, k)
		}
	}
	if r.heardAsked == "" {
		t.Error("no transcript of the user's question on lk.transcription")
	}
	if r.firstAudio.IsZero() || !r.firstAudio.After(r.speechEnd) {
		t.Errorf("first agent audio %v, want after the question ended (%v)", r.firstAudio, r.speechEnd)
	}
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if gw.requests != 2 || !strings.Contains(gw.toolOutput, "JST") {
		t.Errorf("model requests = %d, tool output %q: want the tool call answered with Tokyo's time", gw.requests, gw.toolOutput)
	}
	for _, want := range []string{"LLM: inference.LLM", "STT: PocketSphinx", "TTS: Flite", "agent said (lk.transcription): \"" + demoReply + "\"", "user hears (PocketSphinx)", `agent called current_time({"zone":"Asia/Tokyo"})`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", logs.String())
	}
	t.Logf("output:\n%s", out.String())
}
