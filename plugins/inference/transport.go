package inference

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// newTransport returns the transport used when no HTTP client is given. A
// voice worker streams from one gateway host for many sessions at once, so
// it keeps many idle connections per host (net/http keeps 2, and go-openai's
// default client inherits that: every stream beyond the second then pays a
// new TCP and TLS handshake). HTTP/2 is used when the server offers it.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	t.ForceAttemptHTTP2 = true
	// A gzip-encoded event stream is decoded in blocks, which holds tokens
	// back; SSE is small text and gains little from compression.
	t.DisableCompression = true
	return t
}

// setExtras returns what puts a request's extra headers and query
// (ModelOptions' ExtraHeaders, ExtraQuery) on each attempt's HTTP request,
// before the gateway's own headers; nil when there are none. The stream
// and its attempts hold them only inside this func, which fmt prints as an
// address with any verb, so printing a stream shows none of their values
// (a provider key may be one).
func setExtras(headers, query map[string]string) func(*http.Request) {
	if len(headers) == 0 && len(query) == 0 {
		return nil
	}
	return func(req *http.Request) {
		for k, v := range headers {
			req.Header.Set(k, v) // the gateway's headers, set next, win
		}
		if len(query) > 0 {
			q := req.URL.Query()
			for k, v := range query {
				q.Set(k, v)
			}
			req.URL.RawQuery = q.Encode()
		}
	}
}

// attemptKey carries the *attempt in the request context, through go-openai,
// to the gatewayDoer.
type attemptKey struct{}

// attempt is one HTTP exchange of a request. go-openai builds the
// *http.Request; the attempt supplies what go-openai cannot express (the
// exact body, our headers) and watches the response for the first-byte and
// idle timeouts.
type attempt struct {
	g    *gateway
	body []byte
	// extras puts the request's extra headers and query on (setExtras).
	extras func(*http.Request)
	// ctx is the attempt's context (the caller's, cancellable on its own).
	// It is kept so that read errors can be mapped to what ended the attempt
	// (a timeout, Close, or the caller's cancellation).
	ctx    context.Context
	cancel context.CancelCauseFunc
	start  time.Time
	timer  *time.Timer

	ended    atomic.Bool
	gotFirst atomic.Bool
	lastRead atomic.Int64 // time.Since(start) at the last read, in ns

	mu        sync.Mutex
	resp      *watchedBody // the response body, once there is one
	requestID string       // the gateway's x-request-id
}

// newAttempt starts the clock of one attempt: the first-byte timer runs from
// here, covering connect, response headers and the first body byte.
func (g *gateway) newAttempt(parent context.Context, body []byte) *attempt {
	ctx, cancel := context.WithCancelCause(parent)
	a := &attempt{g: g, body: body, cancel: cancel, start: time.Now()}
	a.ctx = context.WithValue(ctx, attemptKey{}, a)
	a.timer = time.AfterFunc(g.firstByte, a.onTimer)
	return a
}

// onTimer runs when the first-byte or idle deadline may have passed. Reads
// only record their time; the timer re-arms itself for the rest of the idle
// window, so a fast stream costs no timer reset per read.
func (a *attempt) onTimer() {
	if a.ended.Load() {
		return
	}
	if !a.gotFirst.Load() {
		a.cancel(&TimeoutError{Phase: "first byte", After: a.g.firstByte})
		return
	}
	quiet := time.Since(a.start) - time.Duration(a.lastRead.Load())
	if quiet >= a.g.idleTimeout {
		a.cancel(&TimeoutError{Phase: "idle", After: a.g.idleTimeout})
		return
	}
	a.timer.Reset(a.g.idleTimeout - quiet)
}

// end stops the attempt: the timer, the context, and the body. cause is what
// a read still in flight reports. Safe to call more than once, from any
// goroutine.
func (a *attempt) end(cause error) {
	a.ended.Store(true)
	a.timer.Stop()
	a.cancel(cause)
	a.mu.Lock()
	body := a.resp
	a.resp = nil
	a.mu.Unlock()
	if body != nil {
		_ = body.Close() // the error of closing a body we are done with says nothing.
	}
}

// errorEvent returns the error event the attempt's body ended with, or nil.
func (a *attempt) errorEvent() []byte {
	a.mu.Lock()
	b := a.resp
	a.mu.Unlock()
	if b == nil {
		return nil
	}
	return b.errorEvent()
}

// drain reads the rest of the body for reuse (see watchedBody.drain).
func (a *attempt) drain(wait time.Duration) {
	a.mu.Lock()
	b := a.resp
	a.mu.Unlock()
	if b != nil {
		b.drain(wait)
	}
}

func (a *attempt) reqID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requestID
}

// mapErr turns a transport error into what ended the attempt: a
// *TimeoutError, the caller's context cause, session.ErrStreamClosed after
// Close, or else a *ConnectionError.
func (a *attempt) mapErr(op string, err error) error {
	if cause := context.Cause(a.ctx); cause != nil {
		return cause
	}
	return &ConnectionError{Op: op, Err: err}
}

// gatewayDoer is the go-openai HTTPDoer. It puts the real body and the
// gateway headers on go-openai's request and maps failure statuses to
// *APIError itself, keeping what go-openai's own error mapping drops
// (Retry-After, x-request-id). go-openai returns an error from Do unwrapped.
type gatewayDoer struct{ g *gateway }

func (d gatewayDoer) Do(req *http.Request) (*http.Response, error) {
	a, ok := req.Context().Value(attemptKey{}).(*attempt)
	if !ok {
		return nil, errors.New("inference: request without an attempt (internal error)")
	}
	body := a.body
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	if a.extras != nil {
		a.extras(req)
	}
	if err := d.g.setHeaders(req); err != nil {
		return nil, err
	}
	resp, err := d.g.hc.Do(req)
	if err != nil {
		return nil, a.mapErr("connect", redactURLError(err))
	}
	reqID := resp.Header.Get("X-Request-Id")
	a.mu.Lock()
	a.requestID = reqID // also for a failure, so metrics can name it
	a.mu.Unlock()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		_ = resp.Body.Close()
		if rerr != nil && len(b) == 0 {
			if cause := context.Cause(a.ctx); cause != nil {
				return nil, cause
			}
		}
		return nil, apiErrorFromResponse(resp, b, time.Now())
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		// Not an event stream: a proxy's error, or a gateway that ignored
		// stream:true. go-openai would read it as an empty stream when it
		// has no trailing newline.
		return nil, jsonInsteadOfStream(a, resp)
	}
	wb := &watchedBody{rc: resp.Body, a: a, http1: resp.ProtoMajor == 1}
	a.mu.Lock()
	a.resp = wb
	a.mu.Unlock()
	resp.Body = wb
	return resp, nil
}

// jsonInsteadOfStream reads a JSON answer to a streaming request: an error
// object becomes a stream *APIError (retryable unless it names a client
// error), anything else an error saying what arrived.
func jsonInsteadOfStream(a *attempt, resp *http.Response) error {
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	if rerr != nil {
		return a.mapErr("read", rerr)
	}
	e := &APIError{InStream: true, RequestID: resp.Header.Get("X-Request-Id"), Body: b}
	fillFromErrorJSON(e, b)
	if e.Message != "" || e.Code != "" {
		return e
	}
	return fmt.Errorf("inference: gateway answered a streaming request with %s, not an event stream: %q", resp.Header.Get("Content-Type"), echo(b))
}

// watchedBody records each read for the idle timer, reports read errors
// as what ended the attempt, and passes the bytes through an sseFilter.
type watchedBody struct {
	rc    io.ReadCloser
	a     *attempt
	http1 bool
	f     sseFilter // owned by the one goroutine that reads
	once  sync.Once
	err   error
}

func (b *watchedBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(p) <= len(b.f.head) {
		// The held-back line start (under maxSSEHead bytes) goes in front
		// of the next read; our readers (go-openai's bufio, io.Copy) read
		// kilobytes at a time.
		return 0, io.ErrShortBuffer
	}
	for {
		k := b.f.takeHead(p)
		n, err := b.rc.Read(p[k:])
		a := b.a
		if n > 0 {
			a.lastRead.Store(int64(time.Since(a.start)))
			if !a.gotFirst.Load() {
				a.gotFirst.Store(true)
				// The first-byte window is over; from now on the idle one
				// applies.
				a.timer.Reset(a.g.idleTimeout)
			}
		}
		if err != nil && err != io.EOF {
			err = a.mapErr("read", err)
		}
		// A line start still held at the end of the body was a cut line,
		// which go-openai would not return either: it is dropped.
		m := b.f.filter(p[:k+n])
		if b.f.done {
			return m, io.EOF // an error event: the stream decodes it
		}
		if m > 0 || err != nil {
			return m, err
		}
	}
}

// errorEvent returns the error event the body ended with, or nil. Only the
// reading goroutine calls it, after a read returned io.EOF.
func (b *watchedBody) errorEvent() []byte { return b.f.errorEvent() }

// drain reads what is left of an HTTP/1.1 body after [DONE], at most
// maxDrain bytes and for at most wait, so that its end (the last chunk of
// the chunked encoding) arrives and the connection goes back to the pool:
// closing a body before its end closes the connection. HTTP/2 needs none.
func (b *watchedBody) drain(wait time.Duration) {
	if !b.http1 || wait <= 0 {
		return
	}
	t := time.AfterFunc(wait, func() { b.a.cancel(errDrainTimeout) })
	defer t.Stop()
	_, _ = io.CopyN(io.Discard, b.rc, maxDrain)
}

// maxDrain bounds the bytes read after [DONE] in search of the body's end.
const maxDrain = 64 << 10

// errDrainTimeout ends an attempt whose body did not end soon after [DONE];
// nobody sees it, the stream has ended cleanly.
var errDrainTimeout = errors.New("inference: body did not end after [DONE]")

// Close closes the body once; Close and Recv may both get here.
func (b *watchedBody) Close() error {
	b.once.Do(func() { b.err = b.rc.Close() })
	return b.err
}
