package inference

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// The API secret and the signed gateway token never print or log. They are
// held in a secret, whose value fmt cannot reach: it prints a pointer
// inside a value as its address, and fmt prints the unexported fields of a
// struct without calling their methods, so no method could redact them
// there. The public types that hold them (Model, STTModel, TTSModel) also
// describe themselves usefully: String for %v and %s, GoString for %#v,
// Format for every verb (fmt calls it first), and LogValue for slog. The
// API key is not secret (it is the token's issuer) and is shown.

const redacted = "[redacted]"

// formatRedacted writes a value that describes itself as s (and as gs for
// %#v) for any verb and flags: the verb applies to s as to a string.
func formatRedacted(f fmt.State, verb rune, s, gs string) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, gs)
		return
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), s)
}

// describe writes "name{k=v k=v}" with empty values left out.
func describe(name string, kv ...string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	first := true
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(kv[i])
		b.WriteByte('=')
		b.WriteString(kv[i+1])
	}
	b.WriteByte('}')
	return b.String()
}

// goDescribe writes "&inference.Name{k:"v", ...}" with empty values left
// out.
func goDescribe(name string, kv ...string) string {
	var b strings.Builder
	b.WriteString("&inference.")
	b.WriteString(name)
	b.WriteByte('{')
	first := true
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(kv[i])
		b.WriteByte(':')
		b.WriteString(strconv.Quote(kv[i+1]))
	}
	b.WriteByte('}')
	return b.String()
}

// logGroup is the slog group of the same pairs.
func logGroup(kv ...string) slog.Value {
	attrs := make([]slog.Attr, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			attrs = append(attrs, slog.String(kv[i], kv[i+1]))
		}
	}
	return slog.GroupValue(attrs...)
}

// secret holds a secret (the API secret, the signed token) behind a
// pointer: fmt prints a pointer inside a value as its address, so the
// secret stays out even where fmt cannot call a method (a struct in an
// unexported field, %p on a value); where it can, it prints [redacted].
type secret struct{ p *string }

func newSecret(s string) secret {
	if s == "" {
		return secret{}
	}
	return secret{&s}
}

// reveal returns the secret, for signing and for the header only.
func (s secret) reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

func (s secret) isZero() bool { return s.p == nil }

// String returns [redacted], or "" when no secret is set.
func (s secret) String() string {
	if s.isZero() {
		return ""
	}
	return redacted
}

// GoString redacts the secret.
func (s secret) GoString() string { return strconv.Quote(s.String()) }

// Format redacts the secret for every verb.
func (s secret) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, s.String(), s.GoString())
}

// LogValue redacts the secret.
func (s secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON redacts the secret.
func (s secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// credentials

func (c credentials) fields() []string {
	return []string{"api_key", c.key, "api_secret", c.secret.String()}
}

// tokenSource

func (t *tokenSource) fields() []string {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	cached := !t.token.isZero()
	t.mu.Unlock()
	tok := ""
	if cached {
		tok = redacted
	}
	return append(t.creds.fields(), "token", tok)
}

// Model

func (m *Model) fields() []string {
	if m == nil {
		return nil
	}
	kv := []string{"model", m.model, "provider", m.cfg.provider, "base_url", "", "api_key", m.cfg.apiKey, "api_secret", m.cfg.apiSecret.String()}
	if g := m.gw; g != nil {
		kv[5] = g.baseURL
		// The key and secret in use, which may come from the environment.
		kv = append(kv[:6], g.tokens.fields()...)
	}
	if m.err != nil {
		kv = append(kv, "err", m.err.Error())
	}
	return kv
}

// String describes the model without its API secret or gateway token.
func (m *Model) String() string {
	if m == nil {
		return "<nil>"
	}
	return describe("inference.LLM", m.fields()...)
}

// GoString describes the model without its API secret or gateway token.
func (m *Model) GoString() string {
	if m == nil {
		return "(*inference.Model)(nil)"
	}
	return goDescribe("Model", m.fields()...)
}

// Format prints the model without its API secret or gateway token, for
// every verb.
func (m *Model) Format(f fmt.State, verb rune) { formatRedacted(f, verb, m.String(), m.GoString()) }

// LogValue logs the model without its API secret or gateway token.
func (m *Model) LogValue() slog.Value { return logGroup(m.fields()...) }

// speechGateway, STTModel, TTSModel

func (g *speechGateway) fields() []string {
	if g == nil {
		return nil
	}
	return append([]string{"base_url", g.wsBase}, g.tokens.fields()...)
}

func speechFields(model string, cfg *speechConfig, gw *speechGateway, err error) []string {
	kv := []string{"model", model}
	if gw != nil {
		kv = append(kv, gw.fields()...)
	} else {
		kv = append(kv, "api_key", cfg.apiKey, "api_secret", cfg.apiSecret.String())
	}
	if err != nil {
		kv = append(kv, "err", err.Error())
	}
	return kv
}

func (m *STTModel) fields() []string {
	return speechFields(m.model, &m.cfg.speechConfig, m.gw, m.err)
}

// String describes the model without its API secret or gateway token.
func (m *STTModel) String() string {
	if m == nil {
		return "<nil>"
	}
	return describe("inference.STT", m.fields()...)
}

// GoString describes the model without its API secret or gateway token.
func (m *STTModel) GoString() string {
	if m == nil {
		return "(*inference.STTModel)(nil)"
	}
	return goDescribe("STTModel", m.fields()...)
}

// Format prints the model without its API secret or gateway token, for
// every verb.
func (m *STTModel) Format(f fmt.State, verb rune) { formatRedacted(f, verb, m.String(), m.GoString()) }

// LogValue logs the model without its API secret or gateway token.
func (m *STTModel) LogValue() slog.Value {
	if m == nil {
		return slog.GroupValue()
	}
	return logGroup(m.fields()...)
}

func (m *TTSModel) fields() []string {
	return speechFields(m.model, &m.cfg.speechConfig, m.gw, m.err)
}

// String describes the model without its API secret or gateway token.
func (m *TTSModel) String() string {
	if m == nil {
		return "<nil>"
	}
	return describe("inference.TTS", m.fields()...)
}

// GoString describes the model without its API secret or gateway token.
func (m *TTSModel) GoString() string {
	if m == nil {
		return "(*inference.TTSModel)(nil)"
	}
	return goDescribe("TTSModel", m.fields()...)
}

// Format prints the model without its API secret or gateway token, for
// every verb.
func (m *TTSModel) Format(f fmt.State, verb rune) { formatRedacted(f, verb, m.String(), m.GoString()) }

// LogValue logs the model without its API secret or gateway token.
func (m *TTSModel) LogValue() slog.Value {
	if m == nil {
		return slog.GroupValue()
	}
	return logGroup(m.fields()...)
}
