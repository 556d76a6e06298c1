package inference

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/livekit/protocol/auth"
)

const (
	// tokenTTL is the gateway token's lifetime (nbf to exp).
	tokenTTL = 10 * time.Minute
	// tokenRefresh is how long before expiry a new token is signed, so that a
	// request never leaves with a token about to lapse on the way.
	tokenRefresh = 2 * time.Minute
)

// credentials are the API key and secret the gateway token is signed with.
type credentials struct {
	key    string
	secret secret
}

// credentials, tokenSource and the types that hold them format and log
// without the secret or the token (redact.go).

// resolveCredentials picks the key and the secret, each from the options,
// else LIVEKIT_INFERENCE_API_KEY/SECRET, else LIVEKIT_API_KEY/SECRET (the
// order the Python and Node plugins use).
func resolveCredentials(cfg config) (credentials, error) {
	c := credentials{
		key:    firstNonEmpty(cfg.apiKey, os.Getenv("LIVEKIT_INFERENCE_API_KEY"), os.Getenv("LIVEKIT_API_KEY")),
		secret: newSecret(firstNonEmpty(cfg.apiSecret.reveal(), os.Getenv("LIVEKIT_INFERENCE_API_SECRET"), os.Getenv("LIVEKIT_API_SECRET"))),
	}
	switch {
	case c.key == "" && c.secret.isZero():
		return c, fmt.Errorf("inference: missing API key and secret: use WithCredentials or set LIVEKIT_INFERENCE_API_KEY and LIVEKIT_INFERENCE_API_SECRET (or LIVEKIT_API_KEY and LIVEKIT_API_SECRET)")
	case c.key == "":
		return c, fmt.Errorf("inference: missing API key: use WithCredentials or set LIVEKIT_INFERENCE_API_KEY (or LIVEKIT_API_KEY)")
	case c.secret.isZero():
		return c, fmt.Errorf("inference: missing API secret: use WithCredentials or set LIVEKIT_INFERENCE_API_SECRET (or LIVEKIT_API_SECRET)")
	}
	return c, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// tokenSource signs the gateway token once and hands out the same one until
// it is near expiry. It is safe for concurrent use.
type tokenSource struct {
	creds credentials
	now   func() time.Time

	mu      sync.Mutex
	token   secret // "Bearer <jwt>", ready for the header
	refresh time.Time
}

func newTokenSource(creds credentials) *tokenSource {
	return &tokenSource{creds: creds, now: time.Now}
}

// header returns the Authorization header value.
func (t *tokenSource) header() (string, error) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.token.isZero() && now.Before(t.refresh) {
		return t.token.reveal(), nil
	}
	jwt, err := auth.NewAccessToken(t.creds.key, t.creds.secret.reveal()).
		SetIdentity("agent").
		SetInferenceGrant(&auth.InferenceGrant{Perform: true}).
		SetValidFor(tokenTTL).
		ToJWT()
	if err != nil {
		// The error comes from the JWT library and names no secret.
		return "", fmt.Errorf("inference: sign gateway token: %w", err)
	}
	t.token = newSecret("Bearer " + jwt)
	// ToJWT stamps nbf with its own clock; now is at most a few
	// microseconds earlier, which only refreshes a hair sooner.
	t.refresh = now.Add(tokenTTL - tokenRefresh)
	return t.token.reveal(), nil
}
