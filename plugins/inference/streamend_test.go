package inference

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
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
		st, err := m.Chat(t.Context(), gwRequest())
		if err != nil {
			t.Fatal(err)
		}
		if d := drain(t, st); d.err != nil || d.content != "ok" {
			t.Fatalf("request %d: %q, %v", i, d.content, d.err)
		}
		st.Close()
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
// (the tool calls flushed at [DONE], the usage); before the end it still
// stops the stream.
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

	// Before the end, cancelling still stops the stream at once.
	srv2, stalled := stallServer(t, func(s sse) { s.content("a"); s.content("b") })
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	st2, err := newGWModel(t, srv2.URL).Chat(ctx2, gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if c, err := st2.Recv(); err != nil || c.Content != "a" {
		t.Fatalf("first chunk %+v, %v", c, err)
	}
	<-stalled
	cancel2()
	if _, err := st2.Recv(); !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel mid-stream: %v, want context.Canceled", err)
	}
}
