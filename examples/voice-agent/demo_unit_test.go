package main

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/plugins/inference"
)

func TestSpeechSelection(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env       map[string]string
		cloud     bool
		llmHasKey bool // the demo's LLM selection sees the API key
	}{
		{"nothing set", nil, false, false},
		{"local server with dev keys", map[string]string{"LIVEKIT_URL": "ws://127.0.0.1:7880", "LIVEKIT_API_KEY": "devkey", "LIVEKIT_API_SECRET": "secret"}, false, false},
		{"cloud project", map[string]string{"LIVEKIT_URL": "wss://my-app-abc.livekit.cloud", "LIVEKIT_API_KEY": "APIx", "LIVEKIT_API_SECRET": "s"}, true, true},
		{"cloud URL, no secret", map[string]string{"LIVEKIT_URL": "wss://my-app-abc.livekit.cloud", "LIVEKIT_API_KEY": "APIx"}, false, true},
		{"cloud project, gateway credentials", map[string]string{"LIVEKIT_URL": "wss://x.livekit.cloud", "LIVEKIT_INFERENCE_API_KEY": "k", "LIVEKIT_INFERENCE_API_SECRET": "s"}, true, false},
		{"a host that only contains the name", map[string]string{"LIVEKIT_URL": "wss://livekit.cloud.example.com", "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s"}, false, false},
		{"local server, a gateway configured", map[string]string{"LIVEKIT_URL": "ws://127.0.0.1:7880", "LIVEKIT_INFERENCE_URL": "http://127.0.0.1:9", "LIVEKIT_API_KEY": "devkey", "LIVEKIT_API_SECRET": "secret"}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := envOf(tc.env)
			if got := useCloudSpeech(env); got != tc.cloud {
				t.Errorf("useCloudSpeech = %v, want %v", got, tc.cloud)
			}
			if got := gatewayEnv(env)("LIVEKIT_API_KEY") != ""; got != tc.llmHasKey {
				t.Errorf("LLM selection sees the API key: %v, want %v", got, tc.llmHasKey)
			}
		})
	}
}

func TestCloudSpeechModels(t *testing.T) {
	stt, tts, err := cloudSpeech(envOf(map[string]string{"LIVEKIT_URL": "wss://x.livekit.cloud", "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s"}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tts.Close() }()
	if stt.Err() != nil || tts.Err() != nil {
		t.Errorf("errors: %v, %v", stt.Err(), tts.Err())
	}
}

func TestTrimQuiet(t *testing.T) {
	pcm := make([]int16, 16000)
	for i := 4000; i < 8000; i++ {
		pcm[i] = 1000
	}
	got := trimQuiet(pcm)
	if len(got) != 4000+320 || got[len(got)-1] != 1000 || got[0] != 0 {
		t.Errorf("trimmed to %d samples (first %d, last %d), want 20 ms of lead-in and the loud part", len(got), got[0], got[len(got)-1])
	}
	if got := trimQuiet(make([]int16, 10)); len(got) != 10 {
		t.Errorf("all quiet: %d samples, want them kept", len(got))
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 20; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := []time.Duration{percentile(ds, .5), percentile(ds, .95), percentile(nil, .5)}
	want := []time.Duration{11 * time.Millisecond, 19 * time.Millisecond, 0}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("percentiles (-got +want):\n%s", diff)
	}
}

func TestDemoFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"demo", "-turns", "0"}, nil, &out, &errOut, envOf(nil)); code != 2 {
		t.Errorf("demo -turns 0: exit %d, want 2; stderr: %s", code, errOut.String())
	}
}

// With no server at LIVEKIT_URL the demo says so and exits 1, having
// stopped everything it started (goleak in TestMain).
func TestDemoWithoutServer(t *testing.T) {
	liveSpeech(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"demo"}, nil, &out, &errOut, envOf(map[string]string{"LIVEKIT_URL": "ws://" + addr}))
	if code != 1 || !strings.Contains(errOut.String(), "is a LiveKit server running there?") {
		t.Errorf("exit %d, stderr:\n%s\nwant 1 and the missing server named", code, errOut.String())
	}
	if !strings.Contains(out.String(), "local stand-in model") {
		t.Errorf("stdout lacks the LLM stand-in notice:\n%s", out.String())
	}
}

// The agent hears and speaks through LiveKit Inference on a LiveKit Cloud
// project, through the local stand-ins elsewhere, and logs which.
func TestLoadSpeechChoosesTheStack(t *testing.T) {
	liveSpeech(t)
	for _, tc := range []struct {
		name, url, wantLog string
		cloud              bool
	}{
		{"cloud", "wss://my-app.livekit.cloud", "speech: LiveKit Inference", true},
		{"local server", "ws://127.0.0.1:7880", "speech: local stand-ins", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuffer{}
			log, err := newLogger(logs, "info")
			if err != nil {
				t.Fatal(err)
			}
			sp, err := loadSpeech(envOf(map[string]string{"LIVEKIT_URL": tc.url, "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s"}), log)
			if err != nil {
				t.Fatal(err)
			}
			defer sp.close()
			_, isCloud := sp.stt.(*inference.STTModel)
			if isCloud != tc.cloud || (sp.cloud != nil) != tc.cloud {
				t.Errorf("STT %T, TTS %T; want LiveKit Inference: %v", sp.stt, sp.tts, tc.cloud)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, logs.String())
			}
		})
	}
}
