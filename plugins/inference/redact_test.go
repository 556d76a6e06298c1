package inference

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// printVerbs are the verbs and flags a value may be printed with.
var printVerbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s", "%-8v", "% x", "%T", "%p"}

// leaks returns what of secrets s shows, by itself or as its start.
func leaks(s string, secrets ...string) []string {
	var found []string
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		// Hex verbs would print the secret's bytes, and a cut could show its
		// start: look for both.
		for _, form := range []string{sec, fmt.Sprintf("%x", sec), fmt.Sprintf("%X", sec), sec[:min(len(sec), 12)]} {
			if strings.Contains(s, form) {
				found = append(found, form)
			}
		}
	}
	return found
}

// printedForms is every way a value gets printed or logged: each verb on
// the value, on a struct holding it in an exported and an unexported field,
// and both slog handlers.
func printedForms(v any) map[string]string {
	out := map[string]string{}
	type holder struct {
		Exported   any
		unexported any
	}
	h := holder{v, v}
	for _, verb := range printVerbs {
		out[verb] = fmt.Sprintf(verb, v)
		out["holder "+verb] = fmt.Sprintf(verb, h)
		out["pointer holder "+verb] = fmt.Sprintf(verb, &h)
	}
	out["Sprint"] = fmt.Sprint(v)
	out["Sprintln"] = fmt.Sprintln(v, v)
	for name, newHandler := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"slog json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		l := slog.New(newHandler(&buf))
		l.Info("value", "v", v)
		l.Info("any", slog.Any("v", v))
		l.Info("holder", "h", h)
		l.With("w", v).Info("with")
		out[name] = buf.String()
	}
	return out
}

// TestSecretsNeverPrint: the API secret and the cached gateway token never
// show when a model (LLM, STT, TTS) or what holds credentials is printed
// with any verb or logged with either slog handler, before and after a
// request signed the token.
func TestSecretsNeverPrint(t *testing.T) {
	const secret = "s3cr3t-that-is-long-enough-for-hs256-signing"
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) { okStream(w) })
	llm := newGWModel(t, srv.URL, WithCredentials(gwTestKey, secret), WithProvider("openai"))
	stt, err := NewSTT("deepgram/nova-3", WithSpeechCredentials(gwTestKey, secret), WithSpeechBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	tts, err := NewTTS("cartesia/sonic-3", WithSpeechCredentials(gwTestKey, secret), WithSpeechBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer tts.Close()
	// A model that failed to build keeps its options, secret included.
	broken := LLM("openai/gpt-4.1-mini", WithCredentials(gwTestKey, secret), WithPriority("urgent"))

	values := func() map[string]any {
		return map[string]any{
			"llm": llm, "stt": stt, "tts": tts, "broken llm": broken,
			"llm config": llm.cfg, "llm gateway": llm.gw, "llm tokens": llm.gw.tokens, "credentials": llm.gw.tokens.creds,
			"stt gateway": stt.gw, "stt config": stt.cfg, "tts config": tts.cfg,
		}
	}
	check := func(when string, tokens ...string) {
		t.Helper()
		for name, v := range values() {
			for form, s := range printedForms(v) {
				if found := leaks(s, append([]string{secret}, tokens...)...); len(found) > 0 {
					t.Errorf("%s, %s printed with %s shows %q:\n%s", when, name, form, found, s)
				}
			}
		}
	}
	check("before a request")

	st, err := llm.Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	drain(t, st)
	st.Close()
	for _, m := range []*speechGateway{stt.gw, tts.gw} {
		if _, err := m.tokens.header(); err != nil { // what a dial signs and caches
			t.Fatal(err)
		}
	}
	var tokens []string
	for _, ts := range []*tokenSource{llm.gw.tokens, stt.gw.tokens, tts.gw.tokens} {
		tok := strings.TrimPrefix(ts.token.reveal(), "Bearer ")
		if tok == "" {
			t.Fatal("no token cached after a request")
		}
		// The whole JWT, and its signature alone.
		tokens = append(tokens, tok, tok[strings.LastIndexByte(tok, '.')+1:])
	}
	check("after a request", tokens...)

	// Still useful: the model and the key show.
	for _, s := range []string{fmt.Sprint(llm), fmt.Sprintf("%+v", llm), fmt.Sprintf("%#v", stt)} {
		if !strings.Contains(s, gwTestKey) || !strings.Contains(s, redacted) {
			t.Errorf("printed %q: want the API key and %s", s, redacted)
		}
	}
	if s := fmt.Sprint(llm); !strings.Contains(s, "openai/gpt-4.1-mini") {
		t.Errorf("printed %q: want the model", s)
	}
}
