package inference

import (
	"net/http"
	"testing"
)

func TestStreamSmoke(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		s.content("Hel")
		s.content("lo")
		s.finish("stop")
		s.data(`{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":1}},"service_tier":"default"}`)
		s.done()
	})
	m := newGWModel(t, srv.URL)
	st, err := m.Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := drain(t, st)
	if d.err != nil || d.content != "Hello" {
		t.Fatalf("got %q, %v", d.content, d.err)
	}
	t.Logf("%+v", d.usage)
}
