package inference

import (
	"context"
	"log/slog"
	"sync"

	"github.com/livekit-go/agents/session"
)

// warnUserOnce makes the warning about the deprecated user option once per
// process: it is a configuration matter, and repeating it every turn would
// only bury other logs.
var warnUserOnce sync.Once

// warnDeprecated logs, once per process, that a request sets the deprecated
// user option. It belongs after validateSent, so that a request rejected
// for other reasons does not warn.
func (m *Model) warnDeprecated(next Handler) Handler {
	return func(ctx context.Context, r *Request) (session.LLMStream, error) {
		warnUser(ctx, m.cfg.logger, &warnUserOnce, &r.Options)
		return next(ctx, r)
	}
}

func warnUser(ctx context.Context, l *slog.Logger, once *sync.Once, o *ModelOptions) {
	if o.User == nil || l == nil {
		return
	}
	once.Do(func() {
		l.WarnContext(ctx, "inference: model option user is deprecated; it is still sent, but use safety_identifier (to identify the end user) and prompt_cache_key (for caching) instead")
	})
}
