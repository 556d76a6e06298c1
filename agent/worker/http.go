package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves the worker's health check and metrics:
//
//   - GET / answers 200 "OK" while the worker is registered with the server
//     and takes jobs, and 503 with the reason while it is connecting,
//     reconnecting, draining or stopping: a load balancer or an
//     orchestrator's probe stops counting on it then.
//   - GET /metrics answers the worker's metrics, the Go runtime's and the
//     process's, and those added with WithCollectors, in the Prometheus
//     text format.
//
// Run serves it on WithHTTPAddr; mount it elsewhere to serve it yourself.
func (w *Worker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", w.serveHealth)
	mux.Handle("GET /metrics", promhttp.HandlerFor(w.registry, promhttp.HandlerOpts{}))
	return mux
}

// Healthy says whether the worker is registered and takes jobs, and if not,
// why.
func (w *Worker) Healthy() (ok bool, reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.draining:
		return false, "draining"
	case w.closing:
		return false, "stopping"
	case w.sess == nil:
		return false, "not registered with LiveKit"
	}
	return true, "OK"
}

func (w *Worker) serveHealth(rw http.ResponseWriter, _ *http.Request) {
	ok, reason := w.Healthy()
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	if !ok {
		rw.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprintln(rw, reason)
}

// HTTPAddr returns the address Run serves Handler on (with the port chosen
// when WithHTTPAddr gave port 0), or "" when it does not serve it.
func (w *Worker) HTTPAddr() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.httpAddr
}

// serveHTTP listens on the configured address and serves Handler on a
// goroutine counted in wg; stop shuts the server down and waits for it.
func (w *Worker) serveHTTP(ctx context.Context, wg *sync.WaitGroup) (stop func(), err error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", w.cfg.httpAddr)
	if err != nil {
		return nil, fmt.Errorf("worker: http: %w", err)
	}
	srv := &http.Server{
		Handler:           w.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	w.mu.Lock()
	w.httpAddr = ln.Addr().String()
	w.mu.Unlock()
	w.log.Info("worker: serving health and metrics", "addr", ln.Addr().String())
	wg.Go(func() { // exits when stop shuts the server down
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.log.Warn("worker: http server stopped", "err", err)
		}
	})
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
		w.mu.Lock()
		w.httpAddr = ""
		w.mu.Unlock()
	}, nil
}
