package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/livekit-go/agents/agent/roomio"
	"github.com/livekit-go/agents/agent/worker"
)

// webConfig is what the web command runs with.
type webConfig struct {
	url, key, secret string // the LiveKit server: the worker registers there and the page joins there
	addr             string // the page's address, loopback only
	agentName        string
	clientJS         string // livekit-client's UMD bundle (setup_browser)
	flags            voiceFlags
	getenv           func(string) string
	log              *slog.Logger
	stdout           io.Writer
	// ready, if set, is called with the page's URL once it is served.
	ready func(pageURL string)
}

// runWeb serves a page that talks to the agent from a browser: it runs
// the agent as a worker of the LiveKit server in LIVEKIT_URL (default the
// local dev server) and an HTTP server on -addr with the page and a token
// endpoint whose tokens dispatch the agent to a fresh room.
func runWeb(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := webConfig{getenv: getenv, stdout: stdout}
	cfg.flags.register(fs)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "address of the page and its token endpoint (loopback only)")
	fs.StringVar(&cfg.agentName, "agent-name", "voice-agent-web", "the name the page's rooms dispatch the agent by")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log, err := newLogger(stderr, cfg.flags.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "voice-agent: %v\n", err)
		return 2
	}
	if err := checkLoopback(cfg.addr); err != nil {
		log.Error(err.Error())
		return 2
	}
	if cfg.agentName == "" {
		log.Error("-agent-name: empty; the page's rooms dispatch the agent by name")
		return 2
	}
	cfg.log = log
	cfg.url, cfg.key, cfg.secret = localServerDefaults(getenv)
	cfg.clientJS = livekitClientJS(getenv)
	if err := runWebConfig(ctx, cfg); err != nil {
		log.Error("web failed", "err", err)
		return 1
	}
	return 0
}

// localServerDefaults reads LIVEKIT_URL, LIVEKIT_API_KEY and
// LIVEKIT_API_SECRET, defaulting to the local dev server
// (scripts/livekit-dev.yaml, livekit-server --dev).
func localServerDefaults(getenv func(string) string) (url, key, secret string) {
	url, key, secret = getenv("LIVEKIT_URL"), getenv("LIVEKIT_API_KEY"), getenv("LIVEKIT_API_SECRET")
	if url == "" {
		url = devURL
	}
	if key == "" && secret == "" {
		key, secret = devKey, devSecret
	}
	return url, key, secret
}

// livekitClientJS is where setup_browser put livekit-client's bundle:
// LIVEKIT_CLIENT_JS, else its place under the cache directory.
func livekitClientJS(getenv func(string) string) string {
	if p := getenv("LIVEKIT_CLIENT_JS"); p != "" {
		return p
	}
	cache := getenv("LKGO_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "livekit-go-agents")
	}
	return filepath.Join(cache, "browser", "node_modules", "livekit-client", "dist", "livekit-client.umd.js")
}

// checkLoopback refuses an -addr that is not on a loopback interface: the
// token endpoint signs with the server's secret for whoever asks.
func checkLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("-addr %q: port: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr %q: the page and its token endpoint listen on loopback only (127.0.0.1, ::1 or localhost)", addr)
	}
	return nil
}

// runWebConfig runs the worker and the page's server until ctx ends.
func runWebConfig(ctx context.Context, cfg webConfig) error {
	if err := checkLoopback(cfg.addr); err != nil {
		return err
	}
	if _, err := os.Stat(cfg.clientJS); err != nil {
		return fmt.Errorf("livekit-client: %w (scripts/setup.sh setup_browser installs it, or set LIVEKIT_CLIENT_JS)", err)
	}
	sp, err := loadSpeech(cfg.getenv, cfg.log)
	if err != nil {
		return err
	}
	defer sp.close()
	llm, err := voiceLLM(&cfg.flags, withEnv(cfg.getenv, "LIVEKIT_URL", cfg.url), cfg.log)
	if err != nil {
		return fmt.Errorf("LLM: %w", err)
	}
	defer llm.close()
	setup, err := jobSetup(llm, sp, &cfg.flags, cfg.log)
	if err != nil {
		return err
	}
	// As dev runs it: every page's room gets the agent, however busy the
	// machine (see runDev).
	opts := append([]worker.Option{worker.WithAgentName(cfg.agentName), worker.WithLogger(cfg.log)}, devWorkerOptions(0)...)
	w, err := worker.New(cfg.url, cfg.key, cfg.secret, roomio.EntryPoint(setup), opts...)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	h, err := newWebHandler(webHandlerConfig{
		lkURL: cfg.url, key: cfg.key, secret: cfg.secret, agentName: cfg.agentName, clientJS: cfg.clientJS,
		listen: ln.Addr(), log: cfg.log,
	})
	if err != nil {
		_ = ln.Close()
		return err
	}

	parent := ctx
	ctx, stop := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	defer func() { stop(nil); wg.Wait() }()
	wg.Go(func() { // exits when ctx ends (Run cancels the jobs and waits for them)
		err := w.Run(ctx)
		if err == nil {
			err = context.Cause(ctx)
		}
		stop(fmt.Errorf("the worker: %w", err))
	})
	// Tokens dispatch the agent by name: serve them once the server knows it.
	if err := waitRegistered(ctx, w, cfg); err != nil {
		_ = ln.Close()
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(cfg.log.Handler(), slog.LevelWarn)}
	wg.Go(func() { // exits when Shutdown below closes the listener
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			stop(fmt.Errorf("the page's server: %w", err))
		}
	})
	page := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(cfg.stdout, "voice-agent web: open %s and press Talk (agent %q on %s; Ctrl-C stops)\n", page, cfg.agentName, cfg.url)
	if cfg.ready != nil {
		cfg.ready(page)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if parent.Err() != nil {
		return nil // stopped, not failed
	}
	return context.Cause(ctx)
}

// waitRegistered waits until the worker is registered, saying so in the
// log while the server does not answer.
func waitRegistered(ctx context.Context, w *worker.Worker, cfg webConfig) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	next := 5 * time.Second
	for w.ID() == "" {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-tick.C:
		}
		if time.Since(start) > next {
			cfg.log.Warn("web: the worker is not registered yet; is a LiveKit server running?", "url", cfg.url, "waited", time.Since(start).Round(time.Second))
			next += 10 * time.Second
		}
	}
	cfg.log.Info("web: worker registered", "id", w.ID(), "agent_name", cfg.agentName)
	return nil
}
