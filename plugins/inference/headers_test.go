package inference

import (
	"net/http"
	"regexp"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
)

var sessionIDPattern = regexp.MustCompile(`^inference_[0-9a-f]{12}$`)

// TestGatewayHeadersInAJob: inside a job the LLM sends, as the references
// do, the worker token of a hosted agent and a new session id per request,
// beside the job's ids; the speech sockets send the same headers, built by
// the same function.
func TestGatewayHeadersInAJob(t *testing.T) {
	t.Setenv("LIVEKIT_WORKER_TOKEN", "wt-123")
	ctx := session.WithJobInfo(t.Context(), session.JobInfo{RoomID: "RM_1", JobID: "AJ_1", AgentID: "A_1"})

	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) { okStream(w) })
	m := newGWModel(t, srv.URL, WithProvider("openai"), WithPriority("standard"))
	for range 2 {
		if d := chatDrained(t, ctx, m, gwRequest()); d.err != nil {
			t.Fatal(d.err)
		}
	}
	ttsGW := newWSGateway(t, ttsScript(160))
	tts := newTestTTS(t, ttsGW.URL, "cartesia/sonic-3", WithSpeechPriority("standard"))
	if err := tts.Prewarm(ctx); err != nil {
		t.Fatal(err)
	}

	llmH, wsH := srv.headers[0], ttsGW.header(0)
	for _, h := range []http.Header{llmH, srv.headers[1], wsH} {
		for k, v := range map[string]string{
			"X-LiveKit-Worker-Token":       "wt-123",
			"X-LiveKit-Room-ID":            "RM_1",
			"X-LiveKit-Job-ID":             "AJ_1",
			"X-LiveKit-Agent-ID":           "A_1",
			"X-LiveKit-Inference-Priority": "standard",
			"User-Agent":                   userAgent,
		} {
			if got := h.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if id := h.Get("X-LiveKit-Session-ID"); !sessionIDPattern.MatchString(id) {
			t.Errorf("X-LiveKit-Session-ID = %q, want inference_ and 12 hex digits", id)
		}
	}
	if a, b := llmH.Get("X-LiveKit-Session-ID"), srv.headers[1].Get("X-LiveKit-Session-ID"); a == b {
		t.Errorf("two requests share the session id %q", a)
	}
	if got := llmH.Get("X-LiveKit-Inference-Provider"); got != "openai" {
		t.Errorf("LLM provider header = %q", got)
	}
	if got := wsH.Get("X-LiveKit-Inference-Provider"); got != "" {
		t.Errorf("speech provider header = %q, want none (the model string names it)", got)
	}

	// The two sides set the same headers (the provider aside): one
	// function builds them.
	gatewayKeys := func(h http.Header) []string {
		var keys []string
		for k := range h {
			switch k {
			case "Authorization", "User-Agent", headerProvider, headerPriority, headerRoomID, headerJobID, headerAgentID, headerWorkerToken, headerSessionID:
				keys = append(keys, k)
			}
		}
		return keys
	}
	llmKeys, wsKeys := gatewayKeys(llmH), append(gatewayKeys(wsH), headerProvider)
	slices.Sort(llmKeys)
	slices.Sort(wsKeys)
	if d := cmp.Diff(llmKeys, wsKeys); d != "" {
		t.Errorf("gateway headers, LLM vs speech (-llm +speech):\n%s", d)
	}
}

// TestGatewayHeadersOutsideAJob: without a job (console, tests) neither
// side sends the job's headers, the worker token or a session id, as the
// references do not.
func TestGatewayHeadersOutsideAJob(t *testing.T) {
	t.Setenv("LIVEKIT_WORKER_TOKEN", "wt-123")
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) { okStream(w) })
	if d := chatDrained(t, t.Context(), newGWModel(t, srv.URL), gwRequest()); d.err != nil {
		t.Fatal(d.err)
	}
	ttsGW := newWSGateway(t, ttsScript(160))
	if err := newTestTTS(t, ttsGW.URL, "cartesia/sonic-3").Prewarm(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, h := range []http.Header{srv.headers[0], ttsGW.header(0)} {
		for _, k := range []string{headerWorkerToken, headerSessionID, headerRoomID, headerJobID, headerAgentID} {
			if v, ok := h[k]; ok {
				t.Errorf("%s sent outside a job: %q", k, v)
			}
		}
	}
}
