package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"time"

	protologger "github.com/livekit/protocol/logger"
	"github.com/livekit/protocol/logger/zaputil"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

// newLogger is openLog with the text format.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	return openLog(w, level, "text")
}

// openLog makes the program's one log stream, at level ("debug", "info",
// "warn", "error") in format ("text" or "json"), and routes every other
// logger of the process into it: slog's default and the standard log
// package, server-sdk-go's (lksdk.SetLogger), livekit/protocol's package
// logger (which agent/roomio's tracks use), and pion's, which server-sdk-go
// builds from its own. Their lines then obey -log-level and -log-format
// like the program's, at the levels they were logged at.
//
// The routing is process-wide, as those loggers are; the last call wins.
func openLog(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("-log-format: %q: want text or json", format)
	}
	log := slog.New(h)
	slog.SetDefault(log) // also the standard log package's output
	lksdk.SetLogger(sdkLogger{log: log, name: "lksdk"})
	protologger.SetLogger(sdkLogger{log: log}, "livekit")
	return log, nil
}

// sdkLogger is livekit/protocol's Logger (what server-sdk-go and, through
// its pion adapter, pion log to) over the program's slog.Logger: Debugw,
// Infow, Warnw and Errorw become slog's Debug, Info, Warn and Error (pion's
// Trace and Debug both arrive as Debugw), and the logger's name goes in a
// "logger" attribute ("lksdk", "livekit.pion.ice"). Through the standard
// logr adapter (protocol's LogRLogger) warnings would come out at Info and
// debug lines at logr's V(1), which slog has no name for.
type sdkLogger struct {
	log   *slog.Logger
	name  string
	depth int // frames to skip for the caller, as WithCallDepth asks
}

var _ protologger.Logger = sdkLogger{}

func (l sdkLogger) emit(level slog.Level, msg string, err error, kv []any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	var pcs [1]uintptr
	runtime.Callers(3+l.depth, pcs[:]) // emit, the Logger method, its caller
	r := slog.NewRecord(time.Now(), level, msg, pcs[0])
	if l.name != "" {
		r.AddAttrs(slog.String("logger", l.name))
	}
	if err != nil {
		r.AddAttrs(slog.Any("error", err))
	}
	r.Add(kv...)
	_ = l.log.Handler().Handle(ctx, r)
}

func (l sdkLogger) Debugw(msg string, kv ...any) { l.emit(slog.LevelDebug, msg, nil, kv) }
func (l sdkLogger) Infow(msg string, kv ...any)  { l.emit(slog.LevelInfo, msg, nil, kv) }
func (l sdkLogger) Warnw(msg string, err error, kv ...any) {
	level := slog.LevelWarn
	if strings.HasSuffix(l.name, "pion.ice") && strings.HasPrefix(msg, "Failed to ping without candidate pairs") {
		// Every connection's first moments, before candidates arrive.
		// LiveKit's pion adapter drops it under its former wording
		// ("pingAllCandidates called with no candidate pairs"); it stays
		// here, at Debug.
		level = slog.LevelDebug
	}
	l.emit(level, msg, err, kv)
}
func (l sdkLogger) Errorw(msg string, err error, kv ...any) {
	l.emit(slog.LevelError, msg, err, kv)
}

func (l sdkLogger) WithValues(kv ...any) protologger.Logger {
	l.log = l.log.With(kv...)
	return l
}

func (l sdkLogger) WithUnlikelyValues(kv ...any) protologger.UnlikelyLogger {
	return protologger.NewUnlikelyLogger(l, kv...)
}

func (l sdkLogger) WithName(name string) protologger.Logger {
	switch {
	case name == "":
	case l.name == "":
		l.name = name
	default:
		l.name += "." + name
	}
	return l
}

func (l sdkLogger) WithComponent(component string) protologger.Logger { return l.WithName(component) }

func (l sdkLogger) WithCallDepth(depth int) protologger.Logger {
	l.depth += depth
	return l
}

func (l sdkLogger) WithItemSampler() protologger.Logger { return l } // slog does not sample
func (l sdkLogger) WithoutSampler() protologger.Logger  { return l }

func (l sdkLogger) WithDeferredValues() (protologger.Logger, protologger.DeferredFieldResolver) {
	return l, zaputil.NoOpDeferrer{}
}
