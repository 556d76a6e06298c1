package inference

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
)

func TestTokenClaims(t *testing.T) {
	ts := newTokenSource(credentials{gwTestKey, newSecret(gwTestSecret)})
	h, err := ts.header()
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		t.Fatalf("header %q: want a Bearer token", h)
	}
	v, err := auth.ParseAPIToken(raw)
	if err != nil {
		t.Fatal(err)
	}
	claims, grants, err := v.Verify(gwTestSecret)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if claims.Issuer != gwTestKey || claims.Subject != "agent" {
		t.Errorf("iss, sub = %q, %q; want %q, agent", claims.Issuer, claims.Subject, gwTestKey)
	}
	if d := claims.ExpiresAt.Sub(claims.NotBefore.Time); d != tokenTTL {
		t.Errorf("exp - nbf = %v, want %v", d, tokenTTL)
	}
	if grants.Inference == nil || !grants.Inference.Perform {
		t.Errorf("inference grant = %+v, want perform", grants.Inference)
	}
	if _, _, err := v.Verify("wrong"); err == nil {
		t.Error("token verified with the wrong secret")
	}
}

func TestTokenReusedUntilNearExpiry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	ts := newTokenSource(credentials{gwTestKey, newSecret(gwTestSecret)})
	ts.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	first, _ := ts.header()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if h, _ := ts.header(); h != first {
				t.Error("concurrent callers got different tokens")
			}
		})
	}
	wg.Wait()
	advance(tokenTTL - tokenRefresh - time.Second)
	if h, _ := ts.header(); h != first {
		t.Error("token re-signed before the refresh point")
	}
	advance(2 * time.Second)
	// ToJWT stamps its own clock, so a token signed in the same second may
	// be byte-identical; what matters is that the refresh point moved.
	_, _ = ts.header()
	if want := now.Add(tokenTTL - tokenRefresh); !ts.refresh.Equal(want) {
		t.Errorf("refresh point = %v, want %v (re-signed)", ts.refresh, want)
	}
}

func TestCredentialsResolution(t *testing.T) {
	tests := []struct {
		name             string
		cfg              config
		env              map[string]string
		wantKey, wantErr string
	}{
		{"options win", config{apiKey: "k", apiSecret: newSecret("s")}, map[string]string{"LIVEKIT_INFERENCE_API_KEY": "ik", "LIVEKIT_INFERENCE_API_SECRET": "is"}, "k", ""},
		{"inference env", config{}, map[string]string{"LIVEKIT_INFERENCE_API_KEY": "ik", "LIVEKIT_INFERENCE_API_SECRET": "is", "LIVEKIT_API_KEY": "lk", "LIVEKIT_API_SECRET": "ls"}, "ik", ""},
		{"livekit env", config{}, map[string]string{"LIVEKIT_API_KEY": "lk", "LIVEKIT_API_SECRET": "ls"}, "lk", ""},
		{"none", config{}, nil, "", "LIVEKIT_INFERENCE_API_KEY and LIVEKIT_INFERENCE_API_SECRET"},
		{"no secret", config{apiKey: "k"}, nil, "", "LIVEKIT_INFERENCE_API_SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"LIVEKIT_INFERENCE_API_KEY", "LIVEKIT_INFERENCE_API_SECRET", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"} {
				t.Setenv(k, tt.env[k])
			}
			c, err := resolveCredentials(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "inference: ") {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || c.key != tt.wantKey {
				t.Fatalf("key = %q, %v; want %q", c.key, err, tt.wantKey)
			}
		})
	}
}

func TestNewLLMMissingCredentials(t *testing.T) {
	for _, k := range []string{"LIVEKIT_INFERENCE_API_KEY", "LIVEKIT_INFERENCE_API_SECRET", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"} {
		t.Setenv(k, "")
	}
	_, err := NewLLM("openai/gpt-4.1-mini")
	if err == nil || !strings.Contains(err.Error(), "LIVEKIT_API_KEY") {
		t.Fatalf("err = %v, want one naming the env variables", err)
	}
}

func TestBaseURLResolution(t *testing.T) {
	tests := []struct{ opt, inferenceURL, livekitURL, want string }{
		{"http://opt/v1", "http://env/v1", "", "http://opt/v1"},
		{"", "http://env/v1", "wss://x.staging.livekit.cloud", "http://env/v1"},
		{"", "", "wss://proj.staging.livekit.cloud", stagingGatewayURL},
		{"", "", "wss://proj.livekit.cloud", defaultGatewayURL},
		{"", "", "", defaultGatewayURL},
	}
	for _, tt := range tests {
		t.Setenv("LIVEKIT_INFERENCE_URL", tt.inferenceURL)
		t.Setenv("LIVEKIT_URL", tt.livekitURL)
		if got := resolveBaseURL(tt.opt); got != tt.want {
			t.Errorf("resolveBaseURL(%q) with env %q, %q = %q, want %q", tt.opt, tt.inferenceURL, tt.livekitURL, got, tt.want)
		}
	}
}
