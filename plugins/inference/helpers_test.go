package inference

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit-go/agents/session"
)

// gwTestKey and gwTestSecret sign tokens in tests.
const (
	gwTestKey    = "APItestkey"
	gwTestSecret = "test-secret-that-is-long-enough-for-hs256"
)

// gwServer is a loopback gateway: handler answers POST /chat/completions;
// each request's body and headers are recorded.
type gwServer struct {
	*httptest.Server
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	requests int
}

func newGWServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, n int)) *gwServer {
	t.Helper()
	s := &gwServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests++
		n := s.requests
		s.bodies = append(s.bodies, b)
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
		handler(w, r, n)
	}))
	t.Cleanup(func() {
		s.CloseClientConnections()
		s.Close()
	})
	return s
}

func (s *gwServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// newGWModel builds a Model against url with short timeouts and an
// immediate backoff, so that fault tests run fast without asserting on time.
func newGWModel(t *testing.T, url string, opts ...Option) *Model {
	t.Helper()
	return newGWModelFor(t, "openai/gpt-4.1-mini", url, opts...)
}

// newGWModelFor is newGWModel for another model.
func newGWModelFor(t *testing.T, model, url string, opts ...Option) *Model {
	t.Helper()
	base := []Option{
		WithBaseURL(url),
		WithCredentials(gwTestKey, gwTestSecret),
		WithTimeouts(2*time.Second, 2*time.Second),
		WithLogger(slog.New(slog.DiscardHandler)),
	}
	m, err := NewLLM(model, append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewLLM: %v", err)
	}
	m.gw.backoffBase = time.Millisecond
	t.Cleanup(func() {
		if tr, ok := m.gw.hc.Transport.(*http.Transport); ok {
			tr.CloseIdleConnections()
		}
	})
	return m
}

func gwRequest() session.ChatRequest {
	chat := &session.ChatContext{}
	chat.AddMessage(session.RoleUser, "hello")
	return session.ChatRequest{Chat: chat}
}

// sse writes SSE events and flushes each, as a streaming server does.
type sse struct {
	w http.ResponseWriter
	f http.Flusher
}

func startSSE(w http.ResponseWriter) sse {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Request-Id", "req_test")
	w.WriteHeader(http.StatusOK)
	f := w.(http.Flusher)
	f.Flush()
	return sse{w, f}
}

// raw writes s as it is.
func (s sse) raw(str string) {
	_, _ = io.WriteString(s.w, str)
	s.f.Flush()
}

// data writes one data event.
func (s sse) data(payload string) { s.raw("data: " + payload + "\n\n") }

func (s sse) content(text string) {
	s.data(fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":%q},"finish_reason":null}]}`, text))
}

func (s sse) finish(reason string) {
	s.data(fmt.Sprintf(`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"finish_reason":%q}]}`, reason))
}

func (s sse) done() { s.data("[DONE]") }

// chatDrained runs one request on m to its end: Chat (its error fails the
// test), drain, Close.
func chatDrained(t *testing.T, ctx context.Context, m *Model, req session.ChatRequest) drained {
	t.Helper()
	st, err := m.Chat(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return drain(t, st)
}

// drain reads s to its end.
type drained struct {
	chunks  []session.ChatChunk
	content string
	calls   []session.FunctionCall
	usage   *session.Usage
	err     error // nil after io.EOF
}

func drain(t *testing.T, s session.LLMStream) drained {
	t.Helper()
	var d drained
	var b strings.Builder
	for {
		c, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			d.err = err
			break
		}
		d.chunks = append(d.chunks, c)
		b.WriteString(c.Content)
		d.calls = append(d.calls, c.ToolCalls...)
		if c.Usage != nil {
			if d.usage != nil {
				t.Errorf("usage delivered twice")
			}
			d.usage = c.Usage
		}
	}
	d.content = b.String()
	return d
}
