package inference

import (
	"net/http"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
)

// TestReplayRecordedToolCallStream replays a recorded gpt-4o stream (see
// testdata/streams/README.md) through a loopback server and checks what a
// caller accumulates against what the recording holds.
func TestReplayRecordedToolCallStream(t *testing.T) {
	rec, err := os.ReadFile("testdata/streams/openai-go-gpt4o-tool-call.sse")
	if err != nil {
		t.Fatal(err)
	}
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		// Written in small pieces so lines straddle reads, as on a network.
		for len(rec) > 0 {
			k := min(700, len(rec))
			s.raw(string(rec[:k]))
			rec = rec[k:]
		}
	})
	var got Metrics
	m := newGWModel(t, srv.URL, WithMetrics(func(mm Metrics) { got = mm }))
	st, err := m.Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	d := drain(t, st)
	st.Close()
	if d.err != nil {
		t.Fatal(d.err)
	}
	const wantContent = "Let's take a journey to the beautiful island of Santorini in Greece.\n\n" +
		"Santorini is a gem in the Aegean Sea, known for its stunning sunsets, white-washed buildings, and crystal-clear waters. " +
		"The island's rugged landscape is the result of a volcanic eruption that took place around 3,600 years ago, which gave Santorini its distinct caldera. " +
		"When you visit the island, you can't miss the picturesque town of Oia, perched high on the cliffs with its narrow streets, blue-domed churches, and panoramic views of the sea. " +
		"Fira, the island's capital, is buzzing with life, offering a variety of shops, restaurants, and cafes. " +
		"Don't forget to explore the archaeological site of Akrotiri, an ancient Minoan city preserved in volcanic ash, often referred to as the \"Pompeii of the Aegean.\"\n\n" +
		"Now, let's check the weather in Santorini."
	if d.content != wantContent {
		t.Errorf("content:\n%s", cmp.Diff(d.content, wantContent))
	}
	wantCalls := []session.FunctionCall{{CallID: d.calls[0].CallID, Name: "get_weather", Arguments: `{"location":"Santorini, Greece"}`}}
	if diff := cmp.Diff(d.calls, wantCalls); diff != "" || wantCalls[0].CallID == "" {
		t.Errorf("tool calls (-got +want):\n%s", diff)
	}
	wantUsage := &session.Usage{PromptTokens: 57, CompletionTokens: 202, TotalTokens: 259}
	if diff := cmp.Diff(d.usage, wantUsage); diff != "" {
		t.Errorf("usage (-got +want):\n%s", diff)
	}
	last := d.chunks[len(d.chunks)-1]
	if last.Usage == nil || last.RequestID != "chatcmpl-A3Tguz3LSXTHBTY2NAPBCSyfBltxF" {
		t.Errorf("last chunk = %+v, want the usage with the completion id", last)
	}
	var withLogprobs int
	for _, c := range d.chunks {
		if c.Content != "" && len(c.Logprobs) > 0 {
			withLogprobs++
		}
		if c.FinishReason == "tool_calls" && len(c.ToolCalls) != 1 {
			t.Errorf("finish chunk carries %d tool calls, want 1", len(c.ToolCalls))
		}
	}
	if withLogprobs == 0 {
		t.Error("no content chunk carried its logprobs")
	}
	if got.CompletionTokens != 202 || got.CompletionID != "chatcmpl-A3Tguz3LSXTHBTY2NAPBCSyfBltxF" || got.RequestID != "req_test" || got.TTFT <= 0 || got.Attempts != 1 {
		t.Errorf("metrics = %+v", got)
	}
}
