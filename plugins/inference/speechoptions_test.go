package inference

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
)

func TestSplitModelAndLanguage(t *testing.T) {
	for _, tc := range []struct {
		in, model, lang string
		opts            []STTOption
	}{
		{in: "deepgram/nova-3", model: "deepgram/nova-3"},
		{in: "deepgram/nova-3:en", model: "deepgram/nova-3", lang: "en"},
		{in: "deepgram/nova-3:en_us", model: "deepgram/nova-3", lang: "en-US"},
		{in: "deepgram/nova-3:multi", model: "deepgram/nova-3", lang: "multi"},
		{in: "deepgram/nova-3:en", model: "deepgram/nova-3", lang: "fr", opts: []STTOption{WithSTTLanguage("french")}},
		{in: "auto", model: "auto"},
		{in: "auto:es", model: "auto", lang: "es"},
		{in: "", model: "auto"},
	} {
		opts := append([]STTOption{WithSpeechCredentials("k", "s")}, tc.opts...)
		m, err := NewSTT(tc.in, opts...)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if m.Model() != tc.model || m.Language() != tc.lang {
			t.Errorf("%q: model %q language %q, want %q %q", tc.in, m.Model(), m.Language(), tc.model, tc.lang)
		}
	}
	for _, tc := range []struct{ in, model, voice string }{
		{"cartesia/sonic-3:9626c31c-bec5-4cca-baa8-f8ba9e84c8bc", "cartesia/sonic-3", "9626c31c-bec5-4cca-baa8-f8ba9e84c8bc"},
		{"deepgram/aura-2:athena", "deepgram/aura-2", "athena"},
		{"cartesia", "cartesia", ""},
		{"x:", "x", ""},
	} {
		m, err := NewTTS(tc.in, WithSpeechCredentials("k", "s"))
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if m.Model() != tc.model || m.Voice() != tc.voice {
			t.Errorf("%q: model %q voice %q", tc.in, m.Model(), m.Voice())
		}
	}
	if m, _ := NewTTS("deepgram/aura-2:athena", WithSpeechCredentials("k", "s"), WithTTSVoice("orion")); m.Voice() != "orion" {
		t.Errorf("WithTTSVoice lost to the model string: %q", m.Voice())
	}
}

func TestNormalizeLanguage(t *testing.T) {
	for in, want := range map[string]string{
		"en": "en", "EN": "en", "en_us": "en-US", "en-gb": "en-GB", "english": "en", "multi": "multi",
		"zh-hant-tw": "zh-Hant-TW", "es-419": "es-419", "": "", " pt_br ": "pt-BR",
	} {
		if got := normalizeLanguage(in); got != want {
			t.Errorf("normalizeLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWSBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://agent-gateway.livekit.cloud/v1": "wss://agent-gateway.livekit.cloud/v1",
		"http://127.0.0.1:8080/v1/":              "ws://127.0.0.1:8080/v1",
		"wss://gw.example/v1":                    "wss://gw.example/v1",
		"ws://gw.example":                        "ws://gw.example",
		"https://httpbin.example/http/v1":        "wss://httpbin.example/http/v1",
	} {
		if got, err := wsBaseURL(in); err != nil || got != want {
			t.Errorf("wsBaseURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ftp://x/v1", "not a url", "/v1"} {
		if _, err := wsBaseURL(bad); err == nil {
			t.Errorf("wsBaseURL(%q): no error", bad)
		}
	}
}

func TestSpeechEnvironment(t *testing.T) {
	t.Setenv("LIVEKIT_INFERENCE_URL", "")
	t.Setenv("LIVEKIT_URL", "wss://proj.staging.livekit.cloud")
	t.Setenv("LIVEKIT_INFERENCE_API_KEY", "")
	t.Setenv("LIVEKIT_INFERENCE_API_SECRET", "")
	t.Setenv("LIVEKIT_API_KEY", "envkey")
	t.Setenv("LIVEKIT_API_SECRET", "envsecret")
	m, err := NewSTT("deepgram/nova-3")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.gw.endpoint("stt", m.Model()); got != "wss://agent-gateway.staging.livekit.cloud/v1/stt?model=deepgram%2Fnova-3" {
		t.Errorf("endpoint %s", got)
	}
	if m.gw.tokens.creds.key != "envkey" {
		t.Errorf("key %q", m.gw.tokens.creds.key)
	}
	t.Setenv("LIVEKIT_API_SECRET", "")
	tts := TTS("cartesia/sonic-3")
	if err := tts.Err(); err == nil || !strings.Contains(err.Error(), "API secret") {
		t.Errorf("missing secret: %v", err)
	}
	if _, err := tts.Stream(t.Context()); err == nil {
		t.Error("Stream on an unusable model: nil error")
	}
}

func TestSpeechJobHeaders(t *testing.T) {
	gw := newWSGateway(t, ttsScript(320))
	m := newTestTTS(t, gw.URL, "cartesia/sonic-3", WithSpeechPriority("low"))
	ctx := session.WithJobInfo(t.Context(), session.JobInfo{RoomID: "RM_1", JobID: "AJ_1", AgentID: "PA_1"})
	if err := m.Prewarm(ctx); err != nil {
		t.Fatal(err)
	}
	h := gw.header(0)
	for k, want := range map[string]string{
		"X-Livekit-Room-Id": "RM_1", "X-Livekit-Job-Id": "AJ_1", "X-Livekit-Agent-Id": "PA_1",
		"X-Livekit-Inference-Priority": "low", "User-Agent": userAgent,
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if h.Get("X-Livekit-Inference-Provider") != "" {
		t.Error("X-LiveKit-Inference-Provider is for the LLM only")
	}
}

func TestSTTModelOptionsForms(t *testing.T) {
	typed := STTModelOptions{
		Keyterm:           []string{"LiveKit"},
		Endpointing:       new(0),
		InterimResults:    new(false),
		EagerEOTThreshold: new(0.5),
		Extra:             map[string]any{"mip_opt_out": true},
	}
	var fromJSON map[string]any
	if err := json.Unmarshal([]byte(`{"keyterm":"LiveKit","endpointing":0,"interim_results":false,"eager_eot_threshold":0.5,"mip_opt_out":true}`), &fromJSON); err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseSTTModelOptions(fromJSON)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(parsed.Map(), typed.Map()); d != "" {
		t.Errorf("map form and typed form differ (-map +typed):\n%s", d)
	}
	back, err := ParseSTTModelOptions(typed.Map())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(back.Map(), typed.Map()); d != "" {
		t.Errorf("round trip (-got +want):\n%s", d)
	}
}

func TestSpeechOptionErrorsNameTheParameter(t *testing.T) {
	for _, tc := range []struct {
		param string
		err   error
	}{
		{"endpointing", stt(WithSTTModelOptionsMap(map[string]any{"endpointing": "soon"}))},
		{"endpointing", stt(WithSTTModelOptionsMap(map[string]any{"endpointing": 2.5}))},
		{"eager_eot_threshold", stt(WithSTTModelOptions(STTModelOptions{EagerEOTThreshold: new(0.95)}))},
		{"interim_results", stt(WithSTTModelOptionsMap(map[string]any{"interim_results": "yes"}))},
		{"keyterm", stt(WithSTTModelOptionsMap(map[string]any{"keyterm": []any{"a", 1}}))},
		{"punctuate", stt(WithSTTModelOptions(STTModelOptions{Punctuate: new(true), Extra: map[string]any{"punctuate": false}}))},
		{"speed", tts(WithTTSModelOptionsMap(map[string]any{"speed": "warp"}))},
		{"speed", tts(WithTTSModelOptions(TTSModelOptions{Speed: new(-1.0)}))},
		{"stability", tts(WithTTSModelOptionsMap(map[string]any{"stability": 3}))},
		{"speaking_rate", tts(WithTTSModelOptionsMap(map[string]any{"speaking_rate": 0.5}))},
		{"add_timestamps", tts(WithTTSModelOptionsMap(map[string]any{"add_timestamps": 1}))},
		{"timestamp_type", tts(WithTTSModelOptionsMap(map[string]any{"timestamp_type": "PHONEME"}))},
	} {
		var oe *OptionError
		if !errors.As(tc.err, &oe) || oe.Param != tc.param {
			t.Errorf("err = %v, want an *OptionError for %s", tc.err, tc.param)
		}
	}
	for _, err := range []error{
		stt(WithSTTSampleRate(100)),
		stt(WithSTTKeyterms("")),
		stt(WithSTTFallback(STTFallback{})),
		stt(WithSpeechMaxRetries(-1)),
		stt(WithSpeechPriority("urgent")),
		tts(WithSpeechTimeouts(0, 1)),
		tts(WithSpeechBaseURL("ftp://x")),
	} {
		if err == nil || !strings.HasPrefix(err.Error(), "inference: ") {
			t.Errorf("err = %v, want an inference: error", err)
		}
	}
}

func stt(opts ...STTOption) error {
	_, err := NewSTT("deepgram/nova-3", append([]STTOption{WithSpeechCredentials("k", "s")}, opts...)...)
	return err
}

func tts(opts ...TTSOption) error {
	_, err := NewTTS("cartesia/sonic-3", append([]TTSOption{WithSpeechCredentials("k", "s")}, opts...)...)
	return err
}

func TestKeytermsMergeByProvider(t *testing.T) {
	for _, tc := range []struct {
		model string
		opts  STTModelOptions
		want  map[string]any
	}{
		{"deepgram/nova-3", STTModelOptions{Keyterm: []string{"a", "b"}}, map[string]any{"keyterm": []string{"a", "b", "c"}}},
		{"assemblyai/u3-rt-pro", STTModelOptions{}, map[string]any{"keyterms_prompt": []string{"b", "c"}}},
		{"speechmatics/enhanced", STTModelOptions{Extra: map[string]any{"additional_vocab": []any{map[string]any{"content": "b", "sounds_like": []any{"bee"}}}}},
			map[string]any{"additional_vocab": []any{map[string]any{"content": "b", "sounds_like": []any{"bee"}}, map[string]any{"content": "c"}}}},
		{"speechmatics/linden-1", STTModelOptions{}, map[string]any{}},
		{"cartesia/ink-whisper", STTModelOptions{}, map[string]any{}},
	} {
		got := sttExtra(tc.model, tc.opts, []string{"b", "c"})
		if d := cmp.Diff(got, tc.want); d != "" {
			t.Errorf("%s (-got +want):\n%s", tc.model, d)
		}
	}
}

func TestSplitText(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  []string
	}{
		{"short", 10, []string{"short"}},
		{"aaa bbb ccc", 7, []string{"aaa bbb", "ccc"}},
		{"aaaaaaaaaa", 4, []string{"aaaa", "aaaa", "aa"}},
		{"ééééé", 3, []string{"é", "é", "é", "é", "é"}},
		{"x", 0, []string{"x"}},
	} {
		if d := cmp.Diff(splitText(tc.in, tc.limit), tc.want); d != "" {
			t.Errorf("splitText(%q, %d) (-got +want):\n%s", tc.in, tc.limit, d)
		}
	}
}
