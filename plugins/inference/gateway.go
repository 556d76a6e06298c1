package inference

import (
	"context"
	"errors"

	"github.com/livekit-go/agents/session"
)

// STUB: replaced by the transport work.
type gateway struct{}

// Metrics describe one request.
type Metrics struct{}

func newGateway(cfg config) (*gateway, error) { return &gateway{}, nil }
func (g *gateway) send(ctx context.Context, r *Request) (session.LLMStream, error) {
	return nil, errors.New("inference: not implemented")
}
func (g *gateway) prewarm(ctx context.Context) error { return nil }
