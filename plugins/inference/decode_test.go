package inference

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
)

// decodeAll feeds data payloads to a decoder of a request for two choices
// and ends the stream as a missing [DONE] would.
func decodeAll(lines ...string) ([]session.ChatChunk, error) {
	d := newDecoder("openai/gpt-4.1-mini", 2)
	var out []session.ChatChunk
	for _, l := range lines {
		if err := d.decodeLine([]byte(l), &out); err != nil {
			return out, err
		}
	}
	d.flush(&out)
	return out, nil
}

func TestDecode(t *testing.T) {
	tc := func(i int, rest string) string {
		return `{"index":` + string(rune('0'+i)) + rest + `}`
	}
	tests := []struct {
		name  string
		lines []string
		want  []session.ChatChunk
	}{{
		name: "content in order, role chunk dropped",
		lines: []string{
			`{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
			`{"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"}}]}`,
			`{"id":"c1","choices":[{"index":0,"delta":{"content":"lo"}}]}`,
			`{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
			`[DONE]`,
		},
		want: []session.ChatChunk{
			{RequestID: "c1", Content: "Hel"},
			{RequestID: "c1", Content: "lo"},
			{RequestID: "c1", FinishReason: "stop"},
		},
	}, {
		name: "three tool calls in one delta, arguments split, all delivered",
		lines: []string{
			`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[` +
				tc(0, `,"id":"call_a","type":"function","function":{"name":"a","arguments":""}`) + `,` +
				tc(1, `,"id":"call_b","type":"function","function":{"name":"b","arguments":"{\"x\""}`) + `,` +
				tc(2, `,"id":"call_c","type":"function","function":{"name":"c","arguments":"{}"}`) + `]}}]}`,
			`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[` + tc(1, `,"function":{"arguments":":1}"}`) + `,` + tc(0, `,"function":{"arguments":"{}"}`) + `]}}]}`,
			`{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		},
		want: []session.ChatChunk{{RequestID: "c", FinishReason: "tool_calls", ToolCalls: []session.FunctionCall{
			{CallID: "call_a", Name: "a", Arguments: "{}"},
			{CallID: "call_b", Name: "b", Arguments: `{"x":1}`},
			{CallID: "call_c", Name: "c", Arguments: "{}"},
		}}},
	}, {
		name: "calls without finish_reason flushed at end of stream",
		lines: []string{
			`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[` + tc(0, `,"id":"x","function":{"name":"f","arguments":"{}"}`) + `]}}]}`,
		},
		want: []session.ChatChunk{{RequestID: "c", ToolCalls: []session.FunctionCall{{CallID: "x", Name: "f", Arguments: "{}"}}}},
	}, {
		name: "same index with a new id starts a new call",
		lines: []string{
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"x","function":{"name":"f","arguments":"{\"a\":1}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"y","function":{"name":"g","arguments":"{}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		},
		want: []session.ChatChunk{
			{ToolCalls: []session.FunctionCall{{CallID: "x", Name: "f", Arguments: `{"a":1}`}}},
			{FinishReason: "tool_calls", ToolCalls: []session.FunctionCall{{CallID: "y", Name: "g", Arguments: "{}"}}},
		},
	}, {
		name: "calls without index",
		lines: []string{
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"x","function":{"name":"f","arguments":"{"}},{"function":{"arguments":"}"}},{"id":"y","function":{"name":"g","arguments":"{}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		},
		want: []session.ChatChunk{{FinishReason: "tool_calls", ToolCalls: []session.FunctionCall{
			{CallID: "x", Name: "f", Arguments: "{}"},
			{CallID: "y", Name: "g", Arguments: "{}"},
		}}},
	}, {
		name: "think removed across split tags",
		lines: []string{
			`{"choices":[{"index":0,"delta":{"content":"<th"}}]}`,
			`{"choices":[{"index":0,"delta":{"content":"ink>plan</thi"}}]}`,
			`{"choices":[{"index":0,"delta":{"content":"nk>Hi <b"}}]}`,
			`{"choices":[{"index":0,"delta":{"content":"> there <thi"}}]}`,
		},
		want: []session.ChatChunk{
			{Content: "Hi <b"}, // "<b" cannot start a tag: released at once
			{Content: "> there "},
			{Content: "<thi"}, // an unfinished tag at the end was text
		},
	}, {
		name: "choices by index, logprobs verbatim, delta null",
		lines: []string{
			`{"choices":[{"index":0,"delta":{"content":"a"},"logprobs":{"content":[{"token":"a","logprob":-0.5}]}},{"index":1,"delta":{"content":"b"}}]}`,
			`{"choices":[{"index":1,"delta":null,"finish_reason":"stop"}]}`,
		},
		want: []session.ChatChunk{
			{Content: "a", Logprobs: json.RawMessage(`{"content":[{"token":"a","logprob":-0.5}]}`)},
			{Index: 1, Content: "b"},
			{Index: 1, FinishReason: "stop"},
		},
	}, {
		name: "audio and extra_content",
		lines: []string{
			`{"choices":[{"index":0,"delta":{"audio":{"id":"au_1","data":"AAAA","transcript":"hi","expires_at":1700000000}}}]}`,
			`{"choices":[{"index":0,"delta":{"content":"x","extra_content":{"google":{"thought_signature":"sig"}}}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":"{}"},"extra_content":{"google":{"thought_signature":"s2"}}}]},"finish_reason":"tool_calls"}]}`,
		},
		want: []session.ChatChunk{
			{Audio: &session.AudioDelta{ID: "au_1", Data: "AAAA", Transcript: "hi", ExpiresAt: 1700000000}},
			{Content: "x", ExtraContent: json.RawMessage(`{"google":{"thought_signature":"sig"}}`)},
			{FinishReason: "tool_calls", ToolCalls: []session.FunctionCall{{CallID: "t", Name: "f", Arguments: "{}", ExtraContent: json.RawMessage(`{"google":{"thought_signature":"s2"}}`)}}},
		},
	}, {
		name: "usage in parts, cached tokens and service tier, delivered once at the end",
		lines: []string{
			`{"id":"u","service_tier":"default","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":0,"total_tokens":10,"prompt_tokens_details":{"cached_tokens":4}}}`,
			`{"id":"u","service_tier":"flex","choices":[],"usage":{"prompt_tokens":0,"completion_tokens":5,"total_tokens":5}}`,
			`[DONE]`,
		},
		want: []session.ChatChunk{{RequestID: "u", Usage: &session.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15, CachedPromptTokens: 4, ServiceTier: "flex"}}},
	}, {
		name: "usage repeated with running totals is not summed",
		lines: []string{
			`{"choices":[{"index":0,"delta":{"content":"a"}}],"usage":{"prompt_tokens":10,"completion_tokens":1,"total_tokens":11}}`,
			`{"choices":[{"index":0,"delta":{"content":"b"}}],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}`,
		},
		want: []session.ChatChunk{
			{Content: "a"},
			{Content: "b"},
			{Usage: &session.Usage{PromptTokens: 10, CompletionTokens: 2, TotalTokens: 12}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAll(tt.lines...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("chunks (-got +want):\n%s", diff)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	_, err := decodeAll(`{"error":{"message":"overloaded","type":"server_error","code":"overloaded"}}`)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Message != "overloaded" || ae.Code != "overloaded" || !ae.InStream || !ae.Retryable() {
		t.Errorf("error event: %#v", err)
	}
	_, err = decodeAll(`{"error":{"message":"bad","type":"invalid_request_error","code":400}}`)
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Retryable() {
		t.Errorf("client error event: %#v", err)
	}
	_, err = decodeAll(`{"id":"x","choices":[{"index":0,"delta":{"content":"a"}`)
	if err == nil || !strings.Contains(err.Error(), "malformed stream chunk") || !strings.Contains(err.Error(), `{\"id\":\"x\"`) {
		t.Errorf("malformed: %v", err)
	}
	_, err = decodeAll(`{"choices":[{"index":-1,"delta":{}}]}`)
	if err == nil || !strings.Contains(err.Error(), "choice index -1") {
		t.Errorf("negative index: %v", err)
	}
}

func TestThinkFilter(t *testing.T) {
	in := "a<think>b</think>c<think>d</think>e"
	want := "ace"
	// Every way of cutting the text in two and three pieces gives the same.
	for i := 0; i <= len(in); i++ {
		for j := i; j <= len(in); j++ {
			var f thinkFilter
			got := f.push(in[:i]) + f.push(in[i:j]) + f.push(in[j:]) + f.flush()
			if got != want {
				t.Fatalf("cut at %d,%d: got %q, want %q", i, j, got, want)
			}
		}
	}
}

// FuzzDecodeChunk feeds arbitrary data lines to the decoder: it must never
// panic, an error must say what was wrong, tool calls come out whole, and
// the choices it keeps are bounded by the n asked for, whatever their
// index.
func FuzzDecodeChunk(f *testing.F) {
	f.Add([]byte(`{"id":"c","choices":[{"index":0,"delta":{"content":"<think>x</think>y"}}]}`), []byte(`[DONE]`))
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{"}}]}}]}`), []byte(`{"choices":[{"index":0,"delta":null,"finish_reason":"tool_calls"}]}`))
	f.Add([]byte(`{"error":{"message":"x","code":503}}`), []byte(``))
	f.Add([]byte(`{"choices":[],"usage":{"prompt_tokens":1,"prompt_tokens_details":{"cached_tokens":1}}}`), []byte(`{`))
	f.Add([]byte(`{"choices":[{"index":3,"delta":{"audio":{"id":"a"}},"logprobs":{}}]}`), []byte(`null`))
	// The decode paths of issue 9: content parts, float and string usage,
	// huge choice indexes, each call's extra_content, other think tags.
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"a"},"b",{"x":1},7]}}]}`), []byte(`{"choices":[{"index":0,"delta":{"content":{"text":"c"}}}]}`))
	f.Add([]byte(`{"choices":[],"usage":{"prompt_tokens":100.0,"completion_tokens":"7","total_tokens":1e400,"prompt_tokens_details":{"cached_tokens":-1}}}`), []byte(`[DONE]`))
	f.Add([]byte(`{"choices":[{"index":4194304,"delta":{"content":"x"}},{"index":2000000000,"delta":{}}]}`), []byte(`{"choices":[{"index":9223372036854775807,"delta":{"content":"y"}}]}`))
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{}"},"extra_content":{"google":{"thought_signature":"s"}}},{"index":1,"id":"b","function":{"name":"g"},"extra_content":null}]}}]}`), []byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"extra_content":{"xai":1}}]},"finish_reason":"stop"}]}`))
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"content":"<|channel>thought a<chan"}}]}`), []byte(`{"choices":[{"index":0,"delta":{"content":"nel|>b"},"finish_reason":"stop"}]}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		n := len(a) % 4 // the n asked for; 0 is the default, 1
		model := "openai/gpt-4.1-mini"
		if len(b)%2 == 1 {
			model = "google/gemma-4-31b-it"
		}
		d := newDecoder(model, n)
		var out []session.ChatChunk
		for _, line := range [][]byte{a, b} {
			if err := d.decodeLine(line, &out); err != nil {
				if !strings.HasPrefix(err.Error(), "inference: ") {
					t.Fatalf("error without package prefix: %v", err)
				}
				return
			}
		}
		d.flush(&out)
		d.flush(&out) // idempotent
		if limit := max(n, 1); len(d.choices) > limit {
			t.Fatalf("%d choices kept, %d asked for", len(d.choices), max(n, 1))
		}
		for _, c := range out {
			if c.Index < 0 {
				t.Fatalf("negative choice index %d", c.Index)
			}
			for _, fc := range c.ToolCalls {
				if fc.ID != "" {
					t.Fatalf("tool call ID set by the decoder: %+v", fc)
				}
				if fc.ExtraContent != nil && !json.Valid(fc.ExtraContent) {
					t.Fatalf("extra_content %q is not JSON", fc.ExtraContent)
				}
			}
			if u := c.Usage; u != nil && (u.PromptTokens < 0 || u.CompletionTokens < 0 || u.TotalTokens < 0 || u.CachedPromptTokens < 0) {
				t.Fatalf("negative usage %+v", u)
			}
		}
	})
}

// FuzzFastParse checks the reflection-free parser against encoding/json:
// whenever it accepts a line, it must decode it exactly as encoding/json
// does.
func FuzzFastParse(f *testing.F) {
	for _, s := range []string{
		`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","service_tier":"default","system_fingerprint":"fp","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`,
		`{"id":"c","choices":[{"index":1,"delta":{"content":"a\"b\u00e9\ud83d\ude00"},"logprobs":{"content":[{"token":"a","logprob":-1e-3,"bytes":[97]}]},"finish_reason":"stop"}],"obfuscation":"xyz"}`,
		`{"choices":[{"index":0,"delta":null,"finish_reason":"length"},{"index":2,"delta":{"extra_content":{"g":[1,{"a":"}"}]}}}]}`,
		`{"choices":[],"usage":{"prompt_tokens":1}}`,
		`{"Choices":[{"Index":3}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0}]}}]}`,
		`{"id":null,"choices":null,"error":null}`,
		`{"choices":[{"logprobs":{"a":1},"logprobs":null}]}`,
		"{\"choices\":[{\"delta\":{\"content\":\"a\xffb\"}}]}",
		`{"ſervice_tier":"x","choices":[{"delta":{"ConTent":"y"}}]}`,
		`{"id":"a","x":[1,-0.5e+3,true,false,null,{"k":"\u00e9\n"}],"choices":[{"index":01}]}`,
		`{"choices":[{"index":0,"delta":{"content":"a"}}]} x`,
		`{"choices":[{"index":0,"delta":{"content":"a	b"}}]}`,
		`{"a":tru,"choices":[]}`,
		`{"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"a"}]}}]}`,
		`{"choices":[{"index":0,"delta":{"content":"a","content":null}}]}`,
		`{"choices":[{"index":0,"delta":{"content":null,"content":7}}]}`,
		`{"choices":[{"index":2000000000,"delta":{"content":"x"}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var fast sseChunk
		fast.ID = "prev"
		if !fastParse(line, &fast) {
			return
		}
		if !json.Valid(line) {
			t.Fatalf("fastParse accepted invalid JSON %q", line)
		}
		slow := sseChunk{ID: "prev"}
		if err := json.Unmarshal(line, &slow); err != nil {
			t.Fatalf("fastParse accepted %s, encoding/json rejects it: %v", line, err)
		}
		if len(fast.Choices) == 0 {
			fast.Choices = nil
		}
		if len(slow.Choices) == 0 {
			slow.Choices = nil
		}
		if diff := cmp.Diff(fast, slow); diff != "" {
			t.Fatalf("fastParse differs from encoding/json on %s (-fast +json):\n%s", line, diff)
		}
	})
}

// TestThinkFilterResetsAtChoiceEnd: an unterminated think section ends with
// its choice; what the choice sends after its finish_reason is content,
// and the other choices are not touched.
func TestThinkFilterResetsAtChoiceEnd(t *testing.T) {
	got, err := decodeAll(
		`{"choices":[{"index":0,"delta":{"content":"<think>cut off by max_tokens"}},{"index":1,"delta":{"content":"<think>b"}}]}`,
		`{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`,
		`{"choices":[{"index":0,"delta":{"content":"after the end"}},{"index":1,"delta":{"content":"</think>B"}}]}`,
		`{"choices":[{"index":1,"delta":{},"finish_reason":"stop"}]}`,
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []session.ChatChunk{
		{FinishReason: "length"},
		{Content: "after the end"},
		{Index: 1, Content: "B"},
		{Index: 1, FinishReason: "stop"},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("chunks (-got +want):\n%s", diff)
	}
}

// TestThinkTagsPerModel: a model whose reasoning comes between other
// markers (google/gemma-4-31b-it's channel markers, as the references map
// them) has them removed, also when split across deltas; other models keep
// that text.
func TestThinkTagsPerModel(t *testing.T) {
	deltas := []string{"<|chan", "nel>thought The user greets; greet back.<chan", "nel|>Hello", " there. <think>x</think>"}
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		for _, d := range deltas {
			s.content(d)
		}
		s.finish("stop")
		s.done()
	})
	for model, want := range map[string]string{
		"google/gemma-4-31b-it": "Hello there. <think>x</think>",
		"openai/gpt-4.1-mini":   "<|channel>thought The user greets; greet back.<channel|>Hello there. ",
	} {
		if d := chatDrained(t, t.Context(), newGWModelFor(t, model, srv.URL), gwRequest()); d.err != nil || d.content != want {
			t.Errorf("%s: content %q, %v; want %q", model, d.content, d.err, want)
		}
	}
}

func TestThinkFilterCustomTags(t *testing.T) {
	in := "a<|channel>thoughtb<channel|>c<|channel>thoughtd<channel|>e"
	for i := 0; i <= len(in); i++ {
		for j := i; j <= len(in); j++ {
			f := thinkTagsFor("google/gemma-4-31b-it").filter()
			if got := f.push(in[:i]) + f.push(in[i:j]) + f.push(in[j:]) + f.flush(); got != "ace" {
				t.Fatalf("cut at %d,%d: got %q, want %q", i, j, got, "ace")
			}
		}
	}
}

// TestChoiceIndexDoesNotSizeMemory: a choice index only names a choice; a
// huge one costs no memory (it took ~470 MiB at 4194304 and would crash a
// worker at 2000000000). More distinct choices than the request asked for
// is a protocol error.
func TestChoiceIndexDoesNotSizeMemory(t *testing.T) {
	for _, idx := range []int{4194304, 2000000000} {
		line := fmt.Sprintf(`{"choices":[{"index":%d,"delta":{"content":"<think>x</think>hi"}}]}`, idx)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		got, err := decodeAll(line, fmt.Sprintf(`{"choices":[{"index":%d,"delta":{},"finish_reason":"stop"}]}`, idx))
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("index %d: decoding allocated %d bytes", idx, n)
		}
		want := []session.ChatChunk{{Index: idx, Content: "hi"}, {Index: idx, FinishReason: "stop"}}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("index %d: chunks (-got +want):\n%s", idx, diff)
		}
	}

	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		s.content("a")
		s.data(`{"id":"chatcmpl-1","choices":[{"index":4194304,"delta":{"content":"b"}}]}`)
		s.done()
	})
	for _, tc := range []struct {
		n       int
		wantErr string
	}{
		{0, "choice index 4194304: more choices than the 1 asked for"}, // n unset: 1
		{2, ""},
	} {
		var opts []Option
		if tc.n > 0 {
			opts = append(opts, WithModelOptions(ModelOptions{N: new(tc.n)}))
		}
		d := chatDrained(t, t.Context(), newGWModel(t, srv.URL, opts...), gwRequest())
		if tc.wantErr == "" && d.err != nil || tc.wantErr != "" && (d.err == nil || !strings.Contains(d.err.Error(), tc.wantErr)) {
			t.Errorf("n=%d: err = %v, want %q", tc.n, d.err, tc.wantErr)
		}
	}
}

// TestContentAsListOfParts: content streamed as a list of parts is
// flattened to its text, as the Python and Node clients do, through the
// whole client.
func TestContentAsListOfParts(t *testing.T) {
	got, err := decodeAll(
		`{"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"Hel"},{"type":"text","text":"lo"}]}}]}`,
		`{"choices":[{"index":0,"delta":{"content":["plain", {"type":"image_url","image_url":{}}, {"type":"refusal","refusal":"no"}, {"type":"text","text":""}]}}]}`,
		`{"choices":[{"index":0,"delta":{"content":[]}}]}`,
		`{"choices":[{"index":0,"delta":{"content":7}}]}`,
		`{"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"<think>x</think>!"}]},"finish_reason":"stop"}]}`,
	)
	if err != nil {
		t.Fatal(err)
	}
	// The parts of one delta are one chunk; parts without text (an image,
	// a refusal) and content of another type carry none.
	want := []session.ChatChunk{{Content: "Hello"}, {Content: "plain"}, {Content: "!", FinishReason: "stop"}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("chunks (-got +want):\n%s", diff)
	}

	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		s.content("A ")
		s.data(`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":[{"type":"text","text":"list"}]}}]}`)
		s.finish("stop")
		s.done()
	})
	if d := chatDrained(t, t.Context(), newGWModel(t, srv.URL), gwRequest()); d.err != nil || d.content != "A list" {
		t.Errorf("content %q, %v; want %q", d.content, d.err, "A list")
	}
}

// TestUsageWithFloatCounts: token counts written as floats (100.0) or
// strings do not fail the stream over a metrics field.
func TestUsageWithFloatCounts(t *testing.T) {
	got, err := decodeAll(
		`{"choices":[{"index":0,"delta":{"content":"a"}}]}`,
		`{"choices":[],"usage":{"prompt_tokens":100.0,"completion_tokens":20.0,"total_tokens":1.2e2,"prompt_tokens_details":{"cached_tokens":"64"}}}`,
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []session.ChatChunk{{Content: "a"}, {Usage: &session.Usage{PromptTokens: 100, CompletionTokens: 20, TotalTokens: 120, CachedPromptTokens: 64}}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("chunks (-got +want):\n%s", diff)
	}
	got, err = decodeAll(`{"choices":[],"usage":{"prompt_tokens":null,"completion_tokens":-3,"total_tokens":{"x":1}}}`)
	if err != nil || len(got) != 1 || *got[0].Usage != (session.Usage{}) {
		t.Errorf("odd usage: %+v, %v; want zero counts and no error", got, err)
	}
}

// TestOneChoiceIsChoiceZero: when one choice was asked for, the choice the
// provider streams is choice 0, whatever index it carries (the references
// ignore the index; the session reads choice 0 only, so an answer numbered
// 1 was dropped whole). With n > 1 the indexes are kept.
func TestOneChoiceIsChoiceZero(t *testing.T) {
	lines := []string{
		`{"choices":[{"index":1,"delta":{"content":"Hi"}}]}`,
		`{"choices":[{"index":1,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{}"}}]}}]}`,
	}
	for _, tc := range []struct {
		n         int
		wantIndex int
	}{{0, 0}, {1, 0}, {2, 1}} {
		d := newDecoder("openai/gpt-4.1-mini", tc.n)
		var out []session.ChatChunk
		for _, l := range lines {
			if err := d.decodeLine([]byte(l), &out); err != nil {
				t.Fatal(err)
			}
		}
		d.flush(&out)
		want := []session.ChatChunk{
			{Index: tc.wantIndex, Content: "Hi"},
			{Index: tc.wantIndex, ToolCalls: []session.FunctionCall{{CallID: "c", Name: "f", Arguments: "{}"}}},
		}
		if diff := cmp.Diff(out, want); diff != "" {
			t.Errorf("n=%d: chunks (-got +want):\n%s", tc.n, diff)
		}
	}

	// Through a session, the answer is heard.
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		s.data(`{"id":"c","choices":[{"index":1,"delta":{"content":"Hello there."}}]}`)
		s.data(`{"id":"c","choices":[{"index":1,"delta":{},"finish_reason":"stop"}]}`)
		s.done()
	})
	sess, err := session.New(session.WithLLM(newGWModel(t, srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start(t.Context(), &session.Agent{Instructions: "Be brief."}, session.IO{}); err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if _, err := sess.Run(t.Context(), "hi"); err != nil {
		t.Fatal(err)
	}
	var reply string
	for _, it := range sess.History().Items {
		if m, ok := it.(*session.ChatMessage); ok && m.Role == session.RoleAssistant {
			reply = m.Content
		}
	}
	if reply != "Hello there." {
		t.Errorf("the session's reply = %q, want %q", reply, "Hello there.")
	}
}
