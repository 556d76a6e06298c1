package main

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// FuzzParseChatRequest feeds the stand-in's request parser arbitrary
// bodies: it must not panic, must name what was wrong when it refuses, and
// what it accepts must be answerable: respond and the stream writer run on
// it without panicking, and the stream ends with [DONE].
func FuzzParseChatRequest(f *testing.F) {
	for _, seed := range []string{
		`{"model":"openai/gpt-4.1-mini","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"What time is it in Tokyo?"}],"tools":[{"type":"function","function":{"name":"current_time","parameters":{"type":"object"}}}],"stream":true,"stream_options":{"include_usage":true},"temperature":0.3}`,
		`{"model":"m","messages":[{"role":"user","content":"what time is it in new york"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"current_time","arguments":"{\"zone\":\"America/New_York\"}"}}]},{"role":"tool","tool_call_id":"c1","content":"Monday 08:00 EST"}],"stream":true}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream":true,"tool_choice":{"type":"function","function":{"name":"x"}},"tools":[{"type":"function","function":{"name":"x"}}]}`,
		`{"model":"m","messages":[{"role":"user","content":null}],"stream":true,"tool_choice":"none"}`,
		`{"model":"m","messages":[],"stream":true}`,
		`{"model":"m","messages":[{"role":"tool","content":"x"}],"stream":true}`,
		`[]`, `null`, `{}`, `{"model":1}`, `{"model":"m"} {}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseChatRequest(body)
		if err != nil {
			if err.Error() == "" || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line that says what is wrong", err)
			}
			return
		}
		if r.Model == "" || len(r.Messages) == 0 {
			t.Fatalf("accepted a request without a model or messages: %+v", r)
		}
		for _, m := range r.Messages {
			if !slices.Contains(wireRoles, m.Role) || (m.Role == "tool" && m.ToolCallID == "") {
				t.Fatalf("accepted message %+v", m)
			}
		}
		rep := respond(r)
		if (rep.Call == nil) == (rep.Text == "") {
			t.Fatalf("reply %+v: want text or a call", rep)
		}
		if rep.Call != nil && !json.Valid([]byte(rep.Call.Arguments)) {
			t.Fatalf("call arguments %q are not JSON", rep.Call.Arguments)
		}
		w := httptest.NewRecorder()
		if err := streamReply(w, r, rep); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(w.Body.String(), "data: [DONE]\n\n") {
			t.Fatalf("stream does not end with [DONE]: %q", w.Body.String())
		}
	})
}
