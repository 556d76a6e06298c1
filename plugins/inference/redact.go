package inference

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"slices"
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

// description is what a type holding credentials shows of itself: its
// name for %v and for %#v, and its fields as key, value pairs (empty values
// left out) with the secrets already redacted. A description without kv
// is a nil pointer's.
type description struct {
	name   string // "inference.LLM"
	goName string // "Model"
	kv     []string
}

// String writes "name{k=v k=v}".
func (d description) String() string {
	if d.kv == nil {
		return "<nil>"
	}
	return d.write(d.name+"{", "=", " ", func(s string) string { return s })
}

// GoString writes "&inference.Name{k:"v", ...}".
func (d description) GoString() string {
	if d.kv == nil {
		return "(*inference." + d.goName + ")(nil)"
	}
	return d.write("&inference."+d.goName+"{", ":", ", ", strconv.Quote)
}

func (d description) write(open, eq, sep string, value func(string) string) string {
	var b strings.Builder
	b.WriteString(open)
	first := true
	for i := 0; i+1 < len(d.kv); i += 2 {
		if d.kv[i+1] == "" {
			continue
		}
		if !first {
			b.WriteString(sep)
		}
		first = false
		b.WriteString(d.kv[i] + eq + value(d.kv[i+1]))
	}
	b.WriteByte('}')
	return b.String()
}

// Format writes the description for every verb (formatRedacted).
func (d description) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, d.String(), d.GoString())
}

// LogValue is the slog group of the pairs.
func (d description) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(d.kv)/2)
	for i := 0; i+1 < len(d.kv); i += 2 {
		if d.kv[i+1] != "" {
			attrs = append(attrs, slog.String(d.kv[i], d.kv[i+1]))
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

// SecretMap is a map of strings whose values may be credentials (a
// provider's API key in extra_headers or extra_query). It is used as any
// map; printed with fmt (every verb), logged with slog or marshalled to
// JSON it shows its keys and [redacted] for every value.
type SecretMap map[string]string

// redacted returns a copy with every value replaced by [redacted].
func (m SecretMap) redacted() map[string]string {
	if m == nil {
		return nil
	}
	r := make(map[string]string, len(m))
	for k := range m {
		r[k] = redacted
	}
	return r
}

// String shows the keys, sorted, with the values redacted.
func (m SecretMap) String() string { return fmt.Sprint(m.redacted()) }

// GoString shows the keys with the values redacted.
func (m SecretMap) GoString() string {
	if m == nil {
		return "inference.SecretMap(nil)"
	}
	return "inference.SecretMap" + strings.TrimPrefix(fmt.Sprintf("%#v", m.redacted()), "map[string]string")
}

// Format shows the keys with the values redacted, for every verb.
func (m SecretMap) Format(f fmt.State, verb rune) { formatRedacted(f, verb, m.String(), m.GoString()) }

// LogValue logs the keys with the values redacted.
func (m SecretMap) LogValue() slog.Value { return slog.AnyValue(m.redacted()) }

// MarshalJSON writes the keys with the values redacted: the JSON of a
// SecretMap is for logs, never for the wire.
func (m SecretMap) MarshalJSON() ([]byte, error) { return json.Marshal(m.redacted()) }

// redactURL returns raw with its password and its query's values replaced,
// for errors and formatted values: a base URL may carry a password, and
// extra_query a key.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.ContainsAny(raw, "@?") {
			return redacted
		}
		return raw
	}
	if u.RawQuery != "" {
		var b strings.Builder
		for i, k := range slices.Sorted(maps.Keys(u.Query())) {
			if i > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			b.WriteString("=" + redacted)
		}
		u.RawQuery = b.String()
	}
	return u.Redacted()
}

// redactURLError redacts the URL of a *url.Error in err (net/http's
// client wraps its errors in one, with the request URL, query included).
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redactURL(ue.URL)
	}
	return err
}

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
		kv[5] = redactURL(g.baseURL)
		// The key and secret in use, which may come from the environment.
		kv = append(kv[:6], g.tokens.fields()...)
	}
	if m.err != nil {
		kv = append(kv, "err", m.err.Error())
	}
	return kv
}

func (m *Model) describe() description {
	if m == nil {
		return description{goName: "Model"}
	}
	return description{"inference.LLM", "Model", m.fields()}
}

// String describes the model without its API secret or gateway token.
func (m *Model) String() string { return m.describe().String() }

// GoString describes the model without its API secret or gateway token.
func (m *Model) GoString() string { return m.describe().GoString() }

// Format prints the model without its API secret or gateway token, for
// every verb.
func (m *Model) Format(f fmt.State, verb rune) { m.describe().Format(f, verb) }

// LogValue logs the model without its API secret or gateway token.
func (m *Model) LogValue() slog.Value { return m.describe().LogValue() }

// speechGateway, STTModel, TTSModel

func (g *speechGateway) fields() []string {
	if g == nil {
		return nil
	}
	return append([]string{"base_url", redactURL(g.wsBase)}, g.tokens.fields()...)
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

func (m *STTModel) describe() description {
	if m == nil {
		return description{goName: "STTModel"}
	}
	return description{"inference.STT", "STTModel", speechFields(m.model, &m.cfg.speechConfig, m.gw, m.err)}
}

// String describes the model without its API secret or gateway token.
func (m *STTModel) String() string { return m.describe().String() }

// GoString describes the model without its API secret or gateway token.
func (m *STTModel) GoString() string { return m.describe().GoString() }

// Format prints the model without its API secret or gateway token, for
// every verb.
func (m *STTModel) Format(f fmt.State, verb rune) { m.describe().Format(f, verb) }

// LogValue logs the model without its API secret or gateway token.
func (m *STTModel) LogValue() slog.Value { return m.describe().LogValue() }

func (m *TTSModel) describe() description {
	if m == nil {
		return description{goName: "TTSModel"}
	}
	return description{"inference.TTS", "TTSModel", speechFields(m.model, &m.cfg.speechConfig, m.gw, m.err)}
}

// String describes the model without its API secret or gateway token.
func (m *TTSModel) String() string { return m.describe().String() }

// GoString describes the model without its API secret or gateway token.
func (m *TTSModel) GoString() string { return m.describe().GoString() }

// Format prints the model without its API secret or gateway token, for
// every verb.
func (m *TTSModel) Format(f fmt.State, verb rune) { m.describe().Format(f, verb) }

// LogValue logs the model without its API secret or gateway token.
func (m *TTSModel) LogValue() slog.Value { return m.describe().LogValue() }
