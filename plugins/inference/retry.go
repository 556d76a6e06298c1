package inference

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Backoff bounds. The base is per gateway (tests shrink it); the caps keep
// a turn from waiting longer than a user would.
const (
	defaultBackoffBase = 500 * time.Millisecond
	backoffMax         = 8 * time.Second
	// retryAfterMax caps how long a server-requested wait is honoured; a
	// voice turn waiting longer has already failed for the user.
	retryAfterMax = 30 * time.Second
)

// retryable reports whether err may go away if the request is sent again.
// Only errors of this package say yes; a cancelled context never does.
func retryable(err error) bool {
	var r interface{ Retryable() bool }
	return errors.As(err, &r) && r.Retryable()
}

// backoff is how long to wait before retry number n (1 for the first
// retry): the server's Retry-After when err carries one, else exponential
// from base with jitter in its upper half.
func backoff(base time.Duration, n int, err error) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return min(ae.RetryAfter, retryAfterMax)
	}
	d := base << min(n-1, 16)
	d = min(d, backoffMax)
	// Half fixed, half random: keeps a floor while spreading the herd of
	// sessions that hit the same 5xx at once.
	return d/2 + rand.N(d/2+1)
}

// sleep waits d, returning early with the context's cause or errStop's
// when either ends first.
func sleep(ctx context.Context, d time.Duration, stop <-chan struct{}, errStop error) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-stop:
		return errStop
	}
}

// retryAfter reads Retry-After-Ms (milliseconds, sent by OpenAI-style
// gateways) or Retry-After (seconds or an HTTP date); 0 when absent or
// unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
