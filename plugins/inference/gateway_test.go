package inference

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit-go/agents/session"
)

func TestRequestOnTheWire(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			t.Errorf("%s %s, want POST /v1/chat/completions", r.Method, r.URL.Path)
		}
		okStream(w)
	})
	var final *Request
	capture := func(next Handler) Handler {
		return func(ctx context.Context, r *Request) (session.LLMStream, error) {
			final = r
			return next(ctx, r)
		}
	}
	m := newGWModel(t, srv.URL+"/v1/",
		WithProvider("openai"), WithPriority("priority"), WithMiddleware(capture),
		WithModelOptions(ModelOptions{Temperature: new(0.0), Store: new(false)}))
	ctx := session.WithJobInfo(t.Context(), session.JobInfo{RoomID: "RM_1", JobID: "AJ_1", AgentID: "A_1"})
	for range 2 {
		st, err := m.Chat(ctx, gwRequest())
		if err != nil {
			t.Fatal(err)
		}
		if d := drain(t, st); d.err != nil {
			t.Fatal(d.err)
		}
		st.Close()
	}
	want, err := buildBody(final)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(srv.bodies[0], want) {
		t.Errorf("body on the wire:\n%s\nwant buildBody's:\n%s", srv.bodies[0], want)
	}
	h := srv.headers[0]
	for k, v := range map[string]string{
		"X-LiveKit-Inference-Provider": "openai",
		"X-LiveKit-Inference-Priority": "priority",
		"X-LiveKit-Room-Id":            "RM_1",
		"X-LiveKit-Job-Id":             "AJ_1",
		"X-LiveKit-Agent-Id":           "A_1",
		"Content-Type":                 "application/json",
		"Accept":                       "text/event-stream",
		"User-Agent":                   "livekit-go-agents/0.1 " + runtime.Version(),
	} {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.HasPrefix(h.Get("Authorization"), "Bearer ey") {
		t.Errorf("Authorization = %q", h.Get("Authorization"))
	}
	if a, b := srv.headers[0].Get("Authorization"), srv.headers[1].Get("Authorization"); a != b {
		t.Error("token signed again for the second request")
	}
}

func TestNoOptionalHeaders(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) { okStream(w) })
	st, err := newGWModel(t, srv.URL).Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	drain(t, st)
	st.Close()
	for _, k := range []string{"X-LiveKit-Inference-Provider", "X-LiveKit-Inference-Priority", "X-LiveKit-Room-Id", "X-LiveKit-Job-Id", "X-LiveKit-Agent-Id"} {
		if v, ok := srv.headers[0][http.CanonicalHeaderKey(k)]; ok {
			t.Errorf("%s sent without being set: %q", k, v)
		}
	}
}

func TestPrewarm(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Method != http.MethodGet || r.URL.Path != "/models" || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			t.Errorf("%s %s auth %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		_, _ = w.Write([]byte(`{"data":[]}`))
	})
	if err := newGWModel(t, srv.URL).Prewarm(t.Context()); err != nil {
		t.Fatal(err)
	}
	bad := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) { http.Error(w, "no", http.StatusUnauthorized) })
	var ae *APIError
	if err := newGWModel(t, bad.URL).Prewarm(t.Context()); !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("err = %v, want a 401 *APIError", err)
	}
}

func TestMetricsOncePerRequest(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		s.content("a")
		s.data(`{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10,"prompt_tokens_details":{"cached_tokens":2}}}`)
		s.done()
	})
	var calls atomic.Int32
	var got Metrics
	m := newGWModel(t, srv.URL, WithMetrics(func(mm Metrics) { calls.Add(1); got = mm }))
	st, err := m.Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	drain(t, st)
	st.Close()
	st.Close()
	if calls.Load() != 1 {
		t.Fatalf("metrics delivered %d times, want 1", calls.Load())
	}
	if got.PromptTokens != 7 || got.CompletionTokens != 3 || got.TotalTokens != 10 || got.CachedPromptTokens != 2 ||
		got.TokensPerSecond <= 0 || got.TTFT <= 0 || got.Duration < got.TTFT || got.RequestID != "req_test" || got.Err != nil {
		t.Errorf("metrics = %+v", got)
	}

	// Closing early still reports, with the reason.
	st, err = m.Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if calls.Load() != 2 || !errors.Is(got.Err, session.ErrStreamClosed) {
		t.Errorf("after early Close: %d calls, err %v", calls.Load(), got.Err)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		h    map[string]string
		want time.Duration
	}{
		{map[string]string{"Retry-After": "2"}, 2 * time.Second},
		{map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond},
		{map[string]string{"Retry-After-Ms": "250", "Retry-After": "9"}, 250 * time.Millisecond},
		{map[string]string{"Retry-After": now.Add(3 * time.Second).Format(http.TimeFormat)}, 3 * time.Second},
		{map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)}, 0},
		{map[string]string{"Retry-After": "soon"}, 0},
		{nil, 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.h {
			h.Set(k, v)
		}
		if got := retryAfter(h, now); got != tt.want {
			t.Errorf("retryAfter(%v) = %v, want %v", tt.h, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	for n := 1; n <= 10; n++ {
		d := backoff(100*time.Millisecond, n, errors.New("x"))
		hi := min(100*time.Millisecond<<(n-1), backoffMax)
		if d < hi/2 || d > hi {
			t.Errorf("backoff(%d) = %v, want in [%v, %v]", n, d, hi/2, hi)
		}
	}
	if d := backoff(time.Millisecond, 1, &APIError{Status: 429, RetryAfter: 2 * time.Second}); d != 2*time.Second {
		t.Errorf("backoff with Retry-After = %v", d)
	}
	if d := backoff(time.Millisecond, 1, &APIError{Status: 429, RetryAfter: time.Hour}); d != retryAfterMax {
		t.Errorf("backoff with a huge Retry-After = %v, want capped at %v", d, retryAfterMax)
	}
}

func TestRetryableStatuses(t *testing.T) {
	for st, want := range map[int]bool{400: false, 401: false, 403: false, 404: false, 408: true, 409: true, 422: false, 429: true, 500: true, 502: true, 503: true} {
		if got := (&APIError{Status: st}).Retryable(); got != want {
			t.Errorf("Retryable(%d) = %v, want %v", st, got, want)
		}
	}
	// An error event in a stream (no status) is retried unless its type
	// names a client error, by OpenAI's or Anthropic's names.
	for typ, want := range map[string]bool{
		"": true, "server_error": true, "api_error": true, "overloaded_error": true, "rate_limit_error": true,
		"invalid_request_error": false, "authentication_error": false, "permission_error": false,
		"not_found_error": false, "request_too_large": false, "insufficient_quota": false,
	} {
		if got := (&APIError{InStream: true, Type: typ}).Retryable(); got != want {
			t.Errorf("Retryable(stream error of type %q) = %v, want %v", typ, got, want)
		}
	}
	if retryable(context.Canceled) || !retryable(&ConnectionError{Op: "connect", Err: errors.New("x")}) {
		t.Error("retryable: wrong for context.Canceled or a connection error")
	}
}

func TestConcurrentStreams(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		for range 20 {
			s.content("x")
		}
		s.done()
	})
	m := newGWModel(t, srv.URL)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			st, err := m.Chat(t.Context(), gwRequest())
			if err != nil {
				t.Error(err)
				return
			}
			defer st.Close()
			if i%4 == 0 {
				return // closed without reading
			}
			if d := drain(t, st); d.err != nil || d.content != strings.Repeat("x", 20) {
				t.Errorf("got %q, %v", d.content, d.err)
			}
			if _, err := st.Recv(); err != io.EOF {
				t.Errorf("Recv after the end = %v, want io.EOF again", err)
			}
		})
	}
	wg.Wait()
}

// TestCloseRacesRecv closes streams at arbitrary points while they are being
// read, for the race detector and goleak to check.
func TestCloseRacesRecv(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		for range 300 {
			s.content("x")
		}
		s.data(`{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":300,"total_tokens":301}}`)
		s.done()
	})
	var metrics atomic.Int32
	m := newGWModel(t, srv.URL, WithMetrics(func(Metrics) { metrics.Add(1) }))
	const n = 20
	for i := range n {
		st, err := m.Chat(t.Context(), gwRequest())
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				_, err := st.Recv()
				if err == io.EOF || errors.Is(err, session.ErrStreamClosed) {
					return
				}
				if err != nil {
					t.Errorf("Recv: %v", err)
					return
				}
			}
		})
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		st.Close()
		wg.Wait()
	}
	if got := metrics.Load(); got != n {
		t.Errorf("metrics delivered %d times for %d requests", got, n)
	}
}

// TestHTTP2 streams over HTTP/2 (what the gateway speaks over TLS): a whole
// reply, then one closed while Recv is blocked.
func TestHTTP2(t *testing.T) {
	stall := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			t.Errorf("request over %s, want HTTP/2", r.Proto)
		}
		s := startSSE(w)
		s.content("h2")
		if r.Header.Get("X-Test-Stall") != "" {
			close(stall)
			<-r.Context().Done()
			return
		}
		s.done()
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	m := newGWModel(t, srv.URL, WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Context().Value(stallKey{}) != nil {
			r.Header.Set("X-Test-Stall", "1")
		}
		return tr.RoundTrip(r)
	})}))

	st, err := m.Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	if d := drain(t, st); d.err != nil || d.content != "h2" {
		t.Fatalf("got %q, %v", d.content, d.err)
	}
	st.Close()

	st, err = m.Chat(context.WithValue(t.Context(), stallKey{}, true), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	if c, err := st.Recv(); err != nil || c.Content != "h2" {
		t.Fatalf("first chunk %+v, %v", c, err)
	}
	<-stall
	var wg sync.WaitGroup
	wg.Go(func() { time.Sleep(10 * time.Millisecond); st.Close() })
	_, err = st.Recv()
	wg.Wait()
	if !errors.Is(err, session.ErrStreamClosed) {
		t.Fatalf("Recv = %v, want session.ErrStreamClosed", err)
	}
}

type stallKey struct{}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestNewLLMRejectsBadPolicy: the inference class, the retry count, the
// timeouts and the HTTP client's own timeout are checked by NewLLM, with an
// error that names them (checkPolicy, shared with the speech models).
func TestNewLLMRejectsBadPolicy(t *testing.T) {
	for _, tc := range []struct {
		opt  Option
		want string
	}{
		{WithPriority("urgent"), `priority "urgent": want priority, standard or low`},
		{WithMaxRetries(-1), "max retries -1: must not be negative"},
		{WithTimeouts(0, time.Second), "timeouts [0s 1s]: all must be positive"},
		{WithTimeouts(time.Second, -time.Second), "timeouts [1s -1s]: all must be positive"},
		{WithHTTPClient(&http.Client{Timeout: time.Minute}), "http client timeout 1m0s: must be 0"},
	} {
		_, err := NewLLM("openai/gpt-4.1-mini", WithCredentials("k", "s"), tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewLLM = %v, want %q", err, tc.want)
		}
	}
}
