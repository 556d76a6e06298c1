package inference

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit-go/agents/session"
)

// Each fault gets its own test. Timeouts are short and configured; no test
// asserts on how long anything took.

func okStream(w http.ResponseWriter) {
	s := startSSE(w)
	s.content("ok")
	s.finish("stop")
	s.done()
}

func TestFault429RetryAfter(t *testing.T) {
	handler := func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("X-Request-Id", "req_429")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}`)
			return
		}
		okStream(w)
	}
	t.Run("typed error", func(t *testing.T) {
		srv := newGWServer(t, handler)
		m := newGWModel(t, srv.URL, WithMaxRetries(0))
		_, err := m.Chat(t.Context(), gwRequest())
		var ae *APIError
		if !errors.As(err, &ae) {
			t.Fatalf("err = %v, want *APIError", err)
		}
		if ae.Status != 429 || ae.RetryAfter != time.Second || ae.RequestID != "req_429" || ae.Code != "rate_limit_exceeded" || !ae.Retryable() {
			t.Errorf("APIError = %+v", ae)
		}
	})
	t.Run("retried after the wait", func(t *testing.T) {
		srv := newGWServer(t, handler)
		m := newGWModel(t, srv.URL)
		st, err := m.Chat(t.Context(), gwRequest())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if d := drain(t, st); d.err != nil || d.content != "ok" {
			t.Fatalf("got %q, %v", d.content, d.err)
		}
		if n := srv.count(); n != 2 {
			t.Errorf("requests = %d, want 2", n)
		}
	})
}

func TestFaultRetryWaitRespectsContext(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	m := newGWModel(t, srv.URL)
	ctx, cancel := context.WithCancelCause(t.Context())
	errBargeIn := errors.New("barge-in")
	go func() {
		for srv.count() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel(errBargeIn)
	}()
	_, err := m.Chat(ctx, gwRequest())
	if !errors.Is(err, errBargeIn) {
		t.Fatalf("err = %v, want the context's cause", err)
	}
}

func TestFault500ThenSuccess(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		okStream(w)
	})
	var got Metrics
	m := newGWModel(t, srv.URL, WithMetrics(func(mm Metrics) { got = mm }))
	st, err := m.Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	if d := drain(t, st); d.err != nil || d.content != "ok" {
		t.Fatalf("got %q, %v", d.content, d.err)
	}
	st.Close()
	if got.Attempts != 2 || got.Err != nil {
		t.Errorf("metrics = %+v, want 2 attempts and no error", got)
	}
}

func TestMetricsOfFailedRequest(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("X-Request-Id", "req_failed")
		http.Error(w, `{"error":{"message":"no such model"}}`, http.StatusNotFound)
	})
	var got Metrics
	m := newGWModel(t, srv.URL, WithMetrics(func(mm Metrics) { got = mm }))
	if _, err := m.Chat(t.Context(), gwRequest()); err == nil {
		t.Fatal("Chat succeeded against a 404")
	}
	var ae *APIError
	if got.RequestID != "req_failed" || got.Attempts != 1 || !errors.As(got.Err, &ae) || ae.Message != "no such model" {
		t.Errorf("metrics = %+v", got)
	}
}

func TestFault400NotRetried(t *testing.T) {
	big := strings.Repeat("x", 10<<10)
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("X-Request-Id", "req_400")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"bad temperature","type":"invalid_request_error","param":"temperature"},"pad":"`+big+`"}`)
	})
	m := newGWModel(t, srv.URL)
	_, err := m.Chat(t.Context(), gwRequest())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Retryable() {
		t.Fatalf("err = %v, want a non-retryable 400", err)
	}
	if len(ae.Body) != maxErrorBody || ae.RequestID != "req_400" {
		t.Errorf("body %d bytes, request id %q", len(ae.Body), ae.RequestID)
	}
	if !strings.Contains(err.Error(), "400") || strings.Contains(err.Error(), gwTestSecret) {
		t.Errorf("message = %q", err)
	}
	if n := srv.count(); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

func TestFaultConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/v1"
	ln.Close()
	var got Metrics
	m := newGWModel(t, url, WithMaxRetries(2), WithMetrics(func(mm Metrics) { got = mm }))
	_, err = m.Chat(t.Context(), gwRequest())
	var ce *ConnectionError
	if !errors.As(err, &ce) || ce.Op != "connect" {
		t.Fatalf("err = %v, want *ConnectionError", err)
	}
	if got.Attempts != 3 {
		t.Errorf("attempts = %d, want 3", got.Attempts)
	}
}

// resetConn closes the client's connection with a TCP reset, before any
// response byte.
func resetConn(t *testing.T, w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}

func TestFaultResetBeforeHeaders(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			resetConn(t, w)
			return
		}
		okStream(w)
	})
	m := newGWModel(t, srv.URL)
	st, err := m.Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if d := drain(t, st); d.err != nil || d.content != "ok" {
		t.Fatalf("got %q, %v", d.content, d.err)
	}

	srv2 := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) { resetConn(t, w) })
	m0 := newGWModel(t, srv2.URL, WithMaxRetries(0))
	_, err = m0.Chat(t.Context(), gwRequest())
	var ce *ConnectionError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *ConnectionError", err)
	}
}

func TestFaultDisconnectAfterContent(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		s.content("Hel")
		s.content("lo")
		panic(http.ErrAbortHandler) // drops the connection mid-stream
	})
	m := newGWModel(t, srv.URL)
	st, err := m.Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := drain(t, st)
	if d.content != "Hello" {
		t.Errorf("content = %q, want what was sent before the drop", d.content)
	}
	var ce *ConnectionError
	if !errors.As(d.err, &ce) || ce.Op != "read" {
		t.Errorf("err = %v, want *ConnectionError while reading", d.err)
	}
	if n := srv.count(); n != 1 {
		t.Errorf("requests = %d, want 1 (no retry after content)", n)
	}
}

func TestFaultDisconnectBeforeContentRetried(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			s := startSSE(w)
			s.data(`{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`)
			panic(http.ErrAbortHandler)
		}
		okStream(w)
	})
	m := newGWModel(t, srv.URL)
	st, err := m.Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if d := drain(t, st); d.err != nil || d.content != "ok" {
		t.Fatalf("got %q, %v", d.content, d.err)
	}
}

// stallServer sends content, then waits for the client to go away; stalled
// is closed when it starts waiting.
func stallServer(t *testing.T, before func(s sse)) (*gwServer, <-chan struct{}) {
	stalled := make(chan struct{})
	var once sync.Once
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		before(s)
		once.Do(func() { close(stalled) })
		<-r.Context().Done()
	})
	return srv, stalled
}

func TestFaultIdleTimeout(t *testing.T) {
	srv, _ := stallServer(t, func(s sse) { s.content("partial") })
	m := newGWModel(t, srv.URL, WithTimeouts(2*time.Second, 100*time.Millisecond))
	st, err := m.Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := drain(t, st)
	var te *TimeoutError
	if !errors.As(d.err, &te) || te.Phase != "idle" {
		t.Fatalf("err = %v, want an idle *TimeoutError", d.err)
	}
	if d.content != "partial" || srv.count() != 1 {
		t.Errorf("content %q after %d requests", d.content, srv.count())
	}
}

func TestFaultFirstByteTimeout(t *testing.T) {
	srv, _ := stallServer(t, func(s sse) {})
	m := newGWModel(t, srv.URL, WithTimeouts(100*time.Millisecond, 2*time.Second), WithMaxRetries(1))
	st, err := m.Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err) // headers came in time; the first byte did not
	}
	defer st.Close()
	d := drain(t, st)
	var te *TimeoutError
	if !errors.As(d.err, &te) || te.Phase != "first byte" {
		t.Fatalf("err = %v, want a first-byte *TimeoutError", d.err)
	}
	if n := srv.count(); n != 2 {
		t.Errorf("requests = %d, want 2 (retried before content)", n)
	}
}

func TestFaultLongHealthyStream(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		for range 8 {
			s.content("x")
			time.Sleep(40 * time.Millisecond)
		}
		s.finish("stop")
		s.done()
	})
	// The stream lasts longer than the first-byte timeout; each gap is well
	// inside the idle one.
	m := newGWModel(t, srv.URL, WithTimeouts(100*time.Millisecond, 2*time.Second))
	st, err := m.Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if d := drain(t, st); d.err != nil || d.content != "xxxxxxxx" {
		t.Fatalf("got %q, %v", d.content, d.err)
	}
}

func TestFaultMalformedJSON(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		s.content("fine")
		s.data(`{"id":"c","choices":[{"index":0,"delta":{"content":"bro`)
		s.done()
	})
	m := newGWModel(t, srv.URL)
	st, err := m.Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := drain(t, st)
	if d.content != "fine" || d.err == nil || !strings.Contains(d.err.Error(), "malformed stream chunk") {
		t.Fatalf("got %q, %v", d.content, d.err)
	}
}

func TestFaultSSEErrorEvent(t *testing.T) {
	t.Run("before content: retried", func(t *testing.T) {
		srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				s := startSSE(w)
				s.data(`{"error":{"message":"upstream overloaded","type":"server_error","code":"overloaded"}}`)
				return
			}
			okStream(w)
		})
		st, err := newGWModel(t, srv.URL).Chat(t.Context(), gwRequest())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if d := drain(t, st); d.err != nil || d.content != "ok" {
			t.Fatalf("got %q, %v", d.content, d.err)
		}
	})
	t.Run("after content: surfaced", func(t *testing.T) {
		srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
			s := startSSE(w)
			s.content("Hi")
			s.raw(": keep-alive\n\n")
			s.data(`{"error":{"message":"upstream overloaded","type":"server_error","code":"overloaded"}}`)
		})
		st, err := newGWModel(t, srv.URL).Chat(t.Context(), gwRequest())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		d := drain(t, st)
		var ae *APIError
		if d.content != "Hi" || !errors.As(d.err, &ae) || !ae.InStream {
			t.Fatalf("got %q, %v; want the content and a stream *APIError", d.content, d.err)
		}
		if srv.count() != 1 {
			t.Errorf("requests = %d, want 1", srv.count())
		}
	})
}

func TestFaultHugeLine(t *testing.T) {
	big := strings.Repeat("a", 1<<20)
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		s.content(big)
		s.finish("stop")
		s.done()
	})
	st, err := newGWModel(t, srv.URL).Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if d := drain(t, st); d.err != nil || d.content != big {
		t.Fatalf("got %d bytes, %v", len(d.content), d.err)
	}
}

func TestFaultKeepAliveComments(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		for range 500 { // more than go-openai's default empty-line limit
			s.raw(": keep-alive\n\n")
		}
		s.content("a")
		s.raw(":\n\n")
		s.content("b")
		s.done()
	})
	st, err := newGWModel(t, srv.URL).Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if d := drain(t, st); d.err != nil || d.content != "ab" {
		t.Fatalf("got %q, %v", d.content, d.err)
	}
}

func TestFaultCRLF(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		s.raw("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\r\n\r\n")
		s.raw("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\r\n\r\n")
		s.raw("data: [DONE]\r\n\r\n")
	})
	st, err := newGWModel(t, srv.URL).Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if d := drain(t, st); d.err != nil || d.content != "ab" {
		t.Fatalf("got %q, %v", d.content, d.err)
	}
}

func TestFaultNullDelta(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		s.data(`{"choices":[{"index":0,"delta":null}]}`)
		s.content("a")
		s.data(`{"choices":[{"index":0,"delta":null,"finish_reason":"stop"}]}`)
		s.done()
	})
	st, err := newGWModel(t, srv.URL).Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := drain(t, st)
	if d.err != nil || d.content != "a" || d.chunks[len(d.chunks)-1].FinishReason != "stop" {
		t.Fatalf("got %+v, %v", d.chunks, d.err)
	}
}

func TestFaultMissingDone(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		s.content("a")
		s.data(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":"{}"}}]}}]}`)
		// No finish_reason, no [DONE]: the body just ends.
	})
	st, err := newGWModel(t, srv.URL).Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := drain(t, st)
	if d.err != nil || d.content != "a" || len(d.calls) != 1 || d.calls[0].CallID != "call_1" {
		t.Fatalf("got %+v, %v", d, d.err)
	}
}

func TestFaultCancelDuringRecv(t *testing.T) {
	srv, stalled := stallServer(t, func(s sse) { s.content("a") })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	st, err := newGWModel(t, srv.URL).Chat(ctx, gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if c, err := st.Recv(); err != nil || c.Content != "a" {
		t.Fatalf("first chunk %+v, %v", c, err)
	}
	<-stalled
	go func() {
		time.Sleep(20 * time.Millisecond) // let Recv block; correctness does not depend on it
		cancel()
	}()
	if _, err := st.Recv(); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestFaultCloseDuringRecv(t *testing.T) {
	srv, stalled := stallServer(t, func(s sse) { s.content("a") })
	st, err := newGWModel(t, srv.URL).Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	if c, err := st.Recv(); err != nil || c.Content != "a" {
		t.Fatalf("first chunk %+v, %v", c, err)
	}
	<-stalled
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(20 * time.Millisecond)
		st.Close()
		st.Close() // idempotent
	})
	_, err = st.Recv()
	wg.Wait()
	if !errors.Is(err, session.ErrStreamClosed) {
		t.Fatalf("err = %v, want session.ErrStreamClosed", err)
	}
	if _, err := st.Recv(); !errors.Is(err, session.ErrStreamClosed) {
		t.Fatalf("Recv after Close: %v", err)
	}
}

func TestFaultNoHeadersInTime(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		<-r.Context().Done() // never answers
	})
	m := newGWModel(t, srv.URL, WithTimeouts(50*time.Millisecond, time.Second), WithMaxRetries(1))
	_, err := m.Chat(t.Context(), gwRequest())
	var te *TimeoutError
	if !errors.As(err, &te) || te.Phase != "first byte" {
		t.Fatalf("err = %v, want a first-byte *TimeoutError", err)
	}
	if n := srv.count(); n != 2 {
		t.Errorf("requests = %d, want 2", n)
	}
}

// TestFaultCancelWithoutRecv cancels a request nobody is reading: the
// connection must go at once (the server sees the client leave), without
// waiting for a Recv or Close.
func TestFaultCancelWithoutRecv(t *testing.T) {
	gone := make(chan struct{})
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		s.content("a")
		<-r.Context().Done()
		close(gone)
	})
	ctx, cancel := context.WithCancel(t.Context())
	st, err := newGWModel(t, srv.URL).Chat(ctx, gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cancel()
	select {
	case <-gone:
	case <-time.After(10 * time.Second): // a bound for a hang, not a timing assertion
		t.Fatal("the server still holds the request after the context was cancelled")
	}
	if _, err := st.Recv(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv after cancel = %v, want context.Canceled", err)
	}
}

func TestFaultPlainJSONErrorWith200(t *testing.T) {
	// Some proxies answer 200 with a JSON error instead of an event stream.
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"error":{"message":"upstream unavailable","type":"server_error","code":"unavailable"}}`)
	})
	_, err := newGWModel(t, srv.URL, WithMaxRetries(1)).Chat(t.Context(), gwRequest())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Message != "upstream unavailable" || ae.Code != "unavailable" {
		t.Fatalf("err = %v, want the body's error as *APIError", err)
	}
	if n := srv.count(); n != 2 {
		t.Errorf("requests = %d, want 2 (retried)", n)
	}
}

// errorEventCase is a body that ends in an error event, and the
// *APIError it must give.
type errorEventCase struct {
	name      string
	body      string // after the SSE headers
	content   bool   // the body starts with content ("Hi"): no retry
	wantMsg   string
	wantCode  string
	wantRetry bool
}

// runErrorEventCases streams each body with 3 retries allowed and checks
// the *APIError, and that a request is retried (4 in all) exactly when the
// error is retryable and nothing reached the caller.
func runErrorEventCases(t *testing.T, tests []errorEventCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				s := startSSE(w)
				if tt.content {
					s.content("Hi")
				}
				s.raw(tt.body)
			})
			d := chatDrained(t, t.Context(), newGWModel(t, srv.URL, WithMaxRetries(3)), gwRequest())
			var ae *APIError
			if !errors.As(d.err, &ae) || !ae.InStream {
				t.Fatalf("err = %v, want a stream *APIError", d.err)
			}
			if ae.Message != tt.wantMsg || ae.Code != tt.wantCode || ae.Retryable() != tt.wantRetry {
				t.Errorf("APIError message %q code %q retryable %v; want %q, %q, %v", ae.Message, ae.Code, ae.Retryable(), tt.wantMsg, tt.wantCode, tt.wantRetry)
			}
			want := 1
			if tt.wantRetry && !tt.content {
				want = 4
			}
			if n := srv.count(); n != want {
				t.Errorf("requests = %d, want %d", n, want)
			}
		})
	}
}

// TestFaultErrorEventAfterKeepAlives: an error event after SSE comments
// (or event:/id: fields) is read whole: one request, the provider's message
// and code in the *APIError, and a client error is not retried. (go-openai
// collected the comments and prepended them to the event, which made it
// unreadable and retryable.)
func TestFaultErrorEventAfterKeepAlives(t *testing.T) {
	const invalid = "data: " + `{"error":{"type":"invalid_request_error","message":"Invalid 'messages[1].content': string too long.","param":"messages","code":"string_above_max_length"}}` + "\n\n"
	const msg, code = "Invalid 'messages[1].content': string too long.", "string_above_max_length"
	runErrorEventCases(t, []errorEventCase{
		{"keep-alive then client error", ": keep-alive\n\n" + invalid, false, msg, code, false},
		{"comments, event and id fields", ": ping\n\n:\nevent: error\nid: 7\n" + invalid, false, msg, code, false},
		{"keep-alive after content", ": keep-alive\n\n" + invalid, true, msg, code, false},
		{"error as a string", ": keep-alive\n\ndata: {\"error\":\"model overloaded\"}\n\n", false, "model overloaded", "", true},
		{"error without a message", ": keep-alive\n\ndata: {\"error\":{\"code\":\"rate_limited\",\"status\":429}}\n\n", false, `{"code":"rate_limited","status":429}`, "rate_limited", true},
		{"spaces in the prefix", ": keep-alive\n\ndata: { \"error\" : {\"message\":\"bad\",\"type\":\"invalid_request_error\"}}\n\n", false, "bad", "", false},
	})
}

// TestFaultErrorEventOverSeveralLines: an error event is the whole SSE
// event, as the SSE format (and the Python client's decoder) reads it: its
// data may be spread over several data: lines, and an "event: error" field
// makes its data an error whatever its shape. Each gives the provider's
// message in one *APIError, from one request when it names a client error.
func TestFaultErrorEventOverSeveralLines(t *testing.T) {
	runErrorEventCases(t, []errorEventCase{
		{"data over two lines", "event: error\ndata: {\"error\":{\"message\":\"too long\",\ndata: \"type\":\"invalid_request_error\",\"code\":\"string_above_max_length\"}}\n\n",
			false, "too long", "string_above_max_length", false},
		{"pretty-printed, no event field", "data: {\"error\":\ndata:   {\"message\":\"too long\", \"type\":\"invalid_request_error\"}\n: keep-alive\ndata: }\n\n",
			false, "too long", "", false},
		{"event: error with a bare message", "event: error\ndata: {\"message\":\"upstream overloaded\",\"type\":\"server_error\"}\n\n",
			false, "upstream overloaded", "", true},
		{"event: error with text", "event:error\r\nid: 4\r\ndata: upstream overloaded\r\n\r\n",
			false, "upstream overloaded", "", true},
		{"event: error after content", "event: error\ndata: upstream overloaded\n\n",
			true, "upstream overloaded", "", true},
	})
}
