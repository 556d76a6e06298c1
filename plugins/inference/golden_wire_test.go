package inference

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGoldenWireBodies sends every golden case through the whole client (the
// option chain, go-openai and the transport) to a loopback server and
// compares the body that arrives with the golden file: what buildBody
// writes must be exactly what goes on the wire.
func TestGoldenWireBodies(t *testing.T) {
	if *update {
		t.Skip("golden files are being rewritten by TestGoldenRequestBodies")
	}
	var (
		mu   sync.Mutex
		last []byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		last = b
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, `data: {"id":"c1","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}`+"\n\n"+
			`data: {"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`+"\n\n"+
			"data: [DONE]\n\n")
	}))
	defer srv.Close()

	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewLLM(tc.model,
				WithBaseURL(srv.URL+"/v1"),
				WithCredentials("key", "secret"),
				WithModelOptions(tc.opts),
				WithMaxRetries(0))
			if err != nil {
				t.Fatalf("NewLLM() error = %v", err)
			}
			t.Cleanup(func() {
				if tr, ok := m.gw.hc.Transport.(*http.Transport); ok {
					tr.CloseIdleConnections()
				}
			})
			req := tc.req
			if req.Chat == nil {
				req.Chat = basicChat()
			}
			mu.Lock()
			last = nil
			mu.Unlock()

			s, err := m.Chat(t.Context(), req)
			if err != nil {
				t.Fatalf("Chat() error = %v", err)
			}
			var content string
			for {
				c, err := s.Recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Recv() error = %v", err)
				}
				content += c.Content
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close() error = %v", err)
			}
			if content != "ok" {
				t.Errorf("content = %q, want %q", content, "ok")
			}

			mu.Lock()
			got := last
			mu.Unlock()
			if got == nil {
				t.Fatal("no request reached the server")
			}
			want, err := os.ReadFile(goldenPath(tc.name))
			if err != nil {
				t.Fatal(err)
			}
			// Compact on the wire and equal once indented: the same bytes.
			var compact bytes.Buffer
			if err := json.Compact(&compact, got); err != nil || !bytes.Equal(compact.Bytes(), got) {
				t.Errorf("wire body is not compact JSON (err %v):\n%s", err, got)
			}
			if diff := cmp.Diff(string(indent(t, got)), string(want)); diff != "" {
				t.Errorf("wire body mismatch (-got +want):\n%s", diff)
			}
		})
	}
}
