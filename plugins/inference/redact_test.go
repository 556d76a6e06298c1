package inference

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
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
	type holder struct {
		Exported   any
		unexported any
	}
	return printedFormsIn(v, holder{v, v})
}

// printedFormsIn is printedForms with v held by h.
func printedFormsIn(v, h any) map[string]string {
	out := map[string]string{}
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

	if d := chatDrained(t, t.Context(), llm, gwRequest()); d.err != nil {
		t.Fatal(d.err)
	}
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

// TestExtraHeadersAndQueryNeverPrint: extra_headers and extra_query values
// (a provider key, an Authorization the gateway's replaces) and a base
// URL's password are sent, but never shown: not by the options printed
// with any verb or logged (also inside a Request), not in the error of a
// failed connection, not in the retry warning, not by the model.
func TestExtraHeadersAndQueryNeverPrint(t *testing.T) {
	const headerSecret, querySecret, password = "hdr-s3cr3t-value", "qry-s3cr3t-value", "pa55-s3cr3t-word"
	opts := map[string]any{
		"extra_headers": map[string]any{"X-Api-Key": headerSecret, "Authorization": "Bearer " + headerSecret},
		"extra_query":   map[string]any{"key": querySecret},
	}
	var logs bytes.Buffer
	m, err := NewLLM("openai/gpt-4.1-mini", WithCredentials(gwTestKey, gwTestSecret),
		WithBaseURL("http://user:"+password+"@127.0.0.1:9/v1"), WithMaxRetries(1),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithModelOptionsMap(opts))
	if err != nil {
		t.Fatal(err)
	}
	m.gw.backoffBase = time.Millisecond
	defer m.gw.hc.Transport.(*http.Transport).CloseIdleConnections()
	_, chatErr := m.Chat(t.Context(), gwRequest())
	var ce *ConnectionError
	if !errors.As(chatErr, &ce) {
		t.Fatalf("Chat against a closed port: %v, want a *ConnectionError", chatErr)
	}
	_, urlErr := NewLLM("openai/gpt-4.1-mini", WithCredentials("k", "s"), WithBaseURL("ftp://user:"+password+"@host/v1"))

	o := m.ModelOptions()
	if o.ExtraHeaders["X-Api-Key"] != headerSecret || o.ExtraQuery["key"] != querySecret {
		t.Fatalf("the options lost their values: %d headers, %d query keys", len(o.ExtraHeaders), len(o.ExtraQuery))
	}
	// A stream holds them too.
	srv := newGWServer(t, func(w http.ResponseWriter, r *http.Request, n int) { okStream(w) })
	st, err := newGWModel(t, srv.URL, WithModelOptionsMap(opts)).Chat(t.Context(), gwRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := srv.headers[0].Get("X-Api-Key"); got != headerSecret {
		t.Fatalf("X-Api-Key sent = %q, want the value", got)
	}

	// Values a user holds: fmt calls SecretMap's methods wherever it can,
	// which is not inside a struct's unexported field, nor under a verb
	// that does not fit the struct around it (%p, %s on a pointer to it):
	// there fmt prints fields raw. So these are printed with the verbs that
	// fit, as they are, in an exported field, and behind a pointer; and
	// logged, and marshalled.
	type exportedHolder struct{ Exported any }
	values := map[string]any{
		"options": o, "headers": o.ExtraHeaders, "query": o.ExtraQuery, "request": Request{Model: "m", Options: o},
	}
	for name, v := range values {
		forms := printedFormsIn(v, exportedHolder{v})
		for _, verb := range printVerbs {
			if verb != "%v" && verb != "%+v" && verb != "%#v" && verb != "%s" {
				delete(forms, verb)
				delete(forms, "holder "+verb)
				delete(forms, "pointer holder "+verb)
			}
		}
		ptr := reflect.New(reflect.TypeOf(v)) // a *T holding v
		ptr.Elem().Set(reflect.ValueOf(v))
		for _, verb := range []string{"%v", "%+v", "%#v"} {
			forms["pointer "+verb] = fmt.Sprintf(verb, ptr.Interface())
			forms["held pointer "+verb] = fmt.Sprintf(verb, exportedHolder{ptr.Interface()})
		}
		for form, s := range forms {
			if found := leaks(s, headerSecret, querySecret, password); len(found) > 0 {
				t.Errorf("%s printed with %s shows %q:\n%s", name, form, found, s)
			}
		}
	}
	for name, v := range map[string]any{"model": m, "stream": st} {
		for form, s := range printedForms(v) {
			if found := leaks(s, headerSecret, querySecret); len(found) > 0 {
				t.Errorf("%s printed with %s shows %q:\n%s", name, form, found, s)
			}
		}
	}
	// The model describes itself with its base URL's password redacted.
	// (A verb fmt finds bad for a struct, on a model held in an unexported
	// field, prints its fields raw; a password in the gateway URL is not
	// guarded that far.)
	for _, s := range []string{fmt.Sprint(m), fmt.Sprintf("%+v", m), fmt.Sprintf("%#v", m), fmt.Sprintf("%s", m), printedForms(m)["slog json"]} {
		if found := leaks(s, password); len(found) > 0 {
			t.Errorf("model printed shows %q: %s", found, s)
		}
	}
	drain(t, st)
	js, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	for what, s := range map[string]string{"Chat error": chatErr.Error(), "retry warning": logs.String(), "URL error": fmt.Sprint(urlErr), "JSON": string(js)} {
		if found := leaks(s, headerSecret, querySecret, password); len(found) > 0 {
			t.Errorf("%s shows %q: %s", what, found, s)
		}
	}
	// Still useful: the keys show.
	if s := fmt.Sprint(o); !strings.Contains(s, "X-Api-Key:"+redacted) || !strings.Contains(s, "key:"+redacted) {
		t.Errorf("options printed %q: want the keys with %s", s, redacted)
	}
	if s := chatErr.Error(); !strings.Contains(s, "key="+redacted) {
		t.Errorf("Chat error %q: want the query key with %s", s, redacted)
	}
}
