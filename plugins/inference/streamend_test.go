package inference

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit-go/agents/session"
)

// What happens when a stream ends: the connection goes back to the pool,
// and the chunks already decoded are given.

// TestConnectionReusedWhenBodyEndsAfterDone: on HTTP/1.1 the body's end
// (the last chunk of the chunked encoding) may arrive a little after
// [DONE]; the client reads it, so the next request reuses the connection
// instead of opening a new one.
func TestConnectionReusedWhenBodyEndsAfterDone(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		okStream(w)
		time.Sleep(20 * time.Millisecond) // the handler's return ends the body, shortly after [DONE]
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	m := newGWModel(t, srv.URL)
	m.gw.drainWait = 10 * time.Second // a bound for a hang: the server ends the body in 20 ms
	for i := range 3 {
		if d := chatDrained(t, t.Context(), m, gwRequest()); d.err != nil || d.content != "ok" {
			t.Fatalf("request %d: %q, %v", i, d.content, d.err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 3 sequential requests, want 1", n)
	}
}

// TestStreamEndsWhenBodyDoesNotEndAfterDone: a server that keeps the body
// open after [DONE] costs the stream its connection, not a hang.
func TestStreamEndsWhenBodyDoesNotEndAfterDone(t *testing.T) {
	gone := make(chan struct{})
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		okStream(w)
		<-r.Context().Done()
		close(gone)
	})
	st, err := newGWModel(t, srv.URL).Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if d := drain(t, st); d.err != nil || d.content != "ok" {
		t.Fatalf("got %q, %v", d.content, d.err)
	}
	select {
	case <-gone:
	case <-time.After(10 * time.Second): // a bound for a hang, not a timing assertion
		t.Fatal("the connection is still open after the stream ended")
	}
}

// TestCancelAfterStreamEndKeepsQueuedChunks: once the whole answer has
// arrived, cancelling the context does not drop the chunks still queued
// (the tool calls flushed at [DONE], the usage).
func TestCancelAfterStreamEndKeepsQueuedChunks(t *testing.T) {
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		s.content("Checking.")
		s.data(`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{}"}}]}}]}`)
		s.data(`{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`)
		s.done()
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	st, err := newGWModel(t, srv.URL).Chat(ctx, gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if c, err := st.Recv(); err != nil || c.Content != "Checking." {
		t.Fatalf("first chunk %+v, %v", c, err)
	}
	// This Recv reads to [DONE]: the call and the usage are queued, the
	// call is returned.
	if c, err := st.Recv(); err != nil || len(c.ToolCalls) != 1 || c.ToolCalls[0].CallID != "call_1" {
		t.Fatalf("second chunk %+v, %v; want the tool call", c, err)
	}
	cancel()
	if c, err := st.Recv(); err != nil || c.Usage == nil || c.Usage.TotalTokens != 8 {
		t.Fatalf("after cancel: %+v, %v; want the usage chunk", c, err)
	}
	if _, err := st.Recv(); err != io.EOF {
		t.Fatalf("after the last chunk: %v, want io.EOF", err)
	}

	// Before the end, cancelling still stops the stream at once:
	// TestFaultCancelDuringRecv.
}

// TestStreamExitPaths: every way a request can end early returns the
// right error and lets the server see the client leave; goleak (TestMain)
// checks that no goroutine or timer outlives them.
func TestStreamExitPaths(t *testing.T) {
	// A server that never answers until the client leaves, and one whose
	// first answer is a retryable error event, so that Recv waits in the
	// backoff before the second attempt.
	hold := func(gone chan<- struct{}) func(w http.ResponseWriter, r *http.Request, n int) {
		return func(w http.ResponseWriter, r *http.Request, n int) {
			<-r.Context().Done()
			gone <- struct{}{}
		}
	}
	retryLater := func(w http.ResponseWriter, r *http.Request, n int) {
		s := startSSE(w)
		s.data(`{"error":{"message":"overloaded","type":"server_error"}}`)
	}
	for _, tc := range []struct {
		name    string
		handler func(gone chan<- struct{}) func(w http.ResponseWriter, r *http.Request, n int)
		// stop ends the request, while Chat or Recv waits, by cancel or
		// Close.
		stop    func(cancel context.CancelFunc, st func() io.Closer)
		inChat  bool // the wait is in Chat (before the first byte)
		wantErr error
	}{
		{"cancel before the first byte", hold, func(cancel context.CancelFunc, _ func() io.Closer) { cancel() }, true, context.Canceled},
		{"cancel during the retry wait", func(chan<- struct{}) func(http.ResponseWriter, *http.Request, int) { return retryLater },
			func(cancel context.CancelFunc, _ func() io.Closer) { cancel() }, false, context.Canceled},
		{"Close during the retry wait", func(chan<- struct{}) func(http.ResponseWriter, *http.Request, int) { return retryLater },
			func(_ context.CancelFunc, st func() io.Closer) { st().Close() }, false, session.ErrStreamClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gone := make(chan struct{}, 4)
			srv := newGWServer(t, tc.handler(gone))
			m := newGWModel(t, srv.URL)
			m.gw.backoffBase = time.Hour // the wait only ends by stop
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var (
				mu sync.Mutex
				st session.LLMStream
			)
			stream := func() io.Closer { // the stream, once Chat returned it
				for {
					mu.Lock()
					c := st
					mu.Unlock()
					if c != nil {
						return c
					}
					time.Sleep(time.Millisecond)
				}
			}
			var wg sync.WaitGroup
			defer wg.Wait()
			started := make(chan struct{})
			wg.Go(func() {
				<-started
				for srv.count() == 0 {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(20 * time.Millisecond) // let the wait begin; correctness does not depend on it
				tc.stop(cancel, stream)
			})
			close(started)
			s, err := m.Chat(ctx, gwRequest())
			if tc.inChat {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Chat = %v, want %v", err, tc.wantErr)
				}
				select {
				case <-gone:
				case <-time.After(10 * time.Second): // a bound for a hang
					t.Fatal("the server still holds the request")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			st = s
			mu.Unlock()
			defer s.Close()
			if _, err := s.Recv(); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Recv = %v, want %v", err, tc.wantErr)
			}
			if n := srv.count(); n != 1 {
				t.Errorf("requests = %d, want 1 (the retry never began)", n)
			}
		})
	}
}
