package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/livekit/protocol/auth"

	"github.com/livekit-go/agents/internal/simuser"
)

const (
	testKey    = "devkey"
	testSecret = "a-secret-long-enough-for-livekit-0123456789"
	testAgent  = "voice-agent-web-test"
	testHost   = "127.0.0.1:8080"
)

// newTestWebHandler is the handler as runWeb builds it, listening (as far
// as it knows) on testHost, with livekit-client's bundle in a temp file.
func newTestWebHandler(t *testing.T) *webHandler {
	t.Helper()
	js := filepath.Join(t.TempDir(), "livekit-client.umd.js")
	if err := os.WriteFile(js, []byte("var LivekitClient = {};"), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := newWebHandler(webHandlerConfig{
		lkURL: "ws://127.0.0.1:7880", key: testKey, secret: testSecret, agentName: testAgent, clientJS: js,
		listen: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080},
		log:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func tokenRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://"+testHost+"/token", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// mintedClaims checks the response is a token signed with the server's
// secret and returns what it grants.
func mintedClaims(t *testing.T, w *httptest.ResponseRecorder) (tokenResponse, *auth.ClaimGrants) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, body %q", w.Code, w.Body.String())
	}
	var res tokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		t.Fatalf("response %q: %v", w.Body.String(), err)
	}
	v, err := auth.ParseAPIToken(res.ParticipantToken)
	if err != nil {
		t.Fatal(err)
	}
	if v.APIKey() != testKey {
		t.Errorf("token key %q, want %q", v.APIKey(), testKey)
	}
	_, grants, err := v.Verify(testSecret)
	if err != nil {
		t.Fatalf("token not signed with the server's secret: %v", err)
	}
	return res, grants
}

func TestWebTokenIsForARandomIdentityInAFreshRoomThatDispatchesTheAgent(t *testing.T) {
	h := newTestWebHandler(t)
	seen := map[string]bool{}
	for range 2 {
		w := serve(h, tokenRequest(`{}`))
		if got := w.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", got)
		}
		res, g := mintedClaims(t, w)
		if res.ServerURL != "ws://127.0.0.1:7880" {
			t.Errorf("server_url %q, want the LiveKit server's", res.ServerURL)
		}
		if g.Identity != res.ParticipantIdentity || g.Video == nil || !g.Video.RoomJoin || g.Video.Room != res.RoomName {
			t.Errorf("grants identity %q video %+v, want join of %q as %q", g.Identity, g.Video, res.RoomName, res.ParticipantIdentity)
		}
		if g.RoomConfig == nil || len(g.RoomConfig.Agents) != 1 || g.RoomConfig.Agents[0].AgentName != testAgent {
			t.Errorf("room configuration %v, want one dispatch of %q", g.RoomConfig, testAgent)
		}
		if g.Video.RoomAdmin || g.Video.RoomCreate || g.Video.RoomList || g.Video.Agent {
			t.Errorf("grants %+v: more than joining its room", g.Video)
		}
		for _, s := range []string{res.RoomName, res.ParticipantIdentity} {
			if seen[s] {
				t.Errorf("%q given twice: want a fresh room and identity per token", s)
			}
			seen[s] = true
		}
	}
}

func TestWebTokenAcceptsAnEmptyBodyAndADisplayName(t *testing.T) {
	h := newTestWebHandler(t)
	r := httptest.NewRequest(http.MethodPost, "http://"+testHost+"/token", nil) // no body, no Content-Type
	if _, g := mintedClaims(t, serve(h, r)); g.Name != "" {
		t.Errorf("name %q, want none", g.Name)
	}
	// What livekit-client's TokenSource.endpoint sends with participantName.
	if _, g := mintedClaims(t, serve(h, tokenRequest(`{"participant_name":"Ada Lovelace"}`))); g.Name != "Ada Lovelace" {
		t.Errorf("name %q, want Ada Lovelace", g.Name)
	}
}

func TestWebTokenRefusesWhatItDoesNotGrant(t *testing.T) {
	h := newTestWebHandler(t)
	for _, tc := range []struct {
		name, contentType, body string
		code                    int
		want                    string // in the error
	}{
		{"room", "application/json", `{"room_name":"theirs"}`, 400, "room_name"},
		{"identity", "application/json", `{"participant_identity":"admin"}`, 400, "participant_identity"},
		{"metadata", "application/json", `{"participant_metadata":"x"}`, 400, "participant_metadata"},
		{"attributes", "application/json", `{"participant_attributes":{"a":"b"}}`, 400, "participant_attributes"},
		{"room config", "application/json", `{"room_config":{"agents":[{"agent_name":"other"}]}}`, 400, "room_config"},
		{"unknown field", "application/json", `{"admin":true}`, 400, "admin"},
		{"not JSON", "application/json", `{"participant_name":`, 400, "token request"},
		{"two values", "application/json", `{} {}`, 400, "token request"},
		{"wrong type", "application/json", `{"participant_name":7}`, 400, "participantName"},
		{"form", "application/x-www-form-urlencoded", `participant_name=x`, 400, "Content-Type"},
		{"long name", "application/json", `{"participant_name":"` + strings.Repeat("a", maxParticipantName+1) + `"}`, 400, "participant_name"},
		{"control character", "application/json", `{"participant_name":"a\u0007b"}`, 400, "control character"},
		{"huge body", "application/json", `{"participant_name":"` + strings.Repeat("a", maxTokenRequest) + `"}`, 413, "bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tokenRequest(tc.body)
			r.Header.Set("Content-Type", tc.contentType)
			w := serve(h, r)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) {
				t.Errorf("status %d, body %q; want %d naming %q", w.Code, w.Body.String(), tc.code, tc.want)
			}
			if strings.Contains(w.Body.String(), "participant_token") {
				t.Error("a refused request got a token")
			}
		})
	}
}

func TestWebTokenIsPostOnly(t *testing.T) {
	h := newTestWebHandler(t)
	w := serve(h, httptest.NewRequest(http.MethodGet, "http://"+testHost+"/token", nil))
	if w.Code != http.StatusMethodNotAllowed || strings.Contains(w.Body.String(), "participant_token") {
		t.Errorf("GET /token: status %d, body %q; want 405", w.Code, w.Body.String())
	}
}

// A page of another site in the user's browser must not get a token: the
// browser names its origin, and the token endpoint refuses it.
func TestWebTokenRefusesOtherOrigins(t *testing.T) {
	h := newTestWebHandler(t)
	r := tokenRequest(`{}`)
	r.Header.Set("Origin", "http://evil.example")
	if w := serve(h, r); w.Code != http.StatusForbidden {
		t.Errorf("cross-origin: status %d, want 403", w.Code)
	}
	r = tokenRequest(`{}`)
	r.Header.Set("Origin", "http://"+testHost)
	mintedClaims(t, serve(h, r))
}

// A name that resolves to 127.0.0.1 (DNS rebinding) reaches the server
// with its own Host: only the loopback address and localhost are served.
func TestWebAnswersOnlyItsLoopbackHost(t *testing.T) {
	h := newTestWebHandler(t)
	for host, ok := range map[string]bool{
		testHost: true, "localhost:8080": true,
		"evil.example:8080": false, "evil.example": false, "127.0.0.1:9999": false, "": false,
	} {
		for _, r := range []*http.Request{httptest.NewRequest(http.MethodGet, "/", nil), tokenRequest(`{}`)} {
			r.Host = host
			w := serve(h, r)
			if got := w.Code == http.StatusOK; got != ok {
				t.Errorf("%s %s with Host %q: status %d, want served %v", r.Method, r.URL.Path, host, w.Code, ok)
			}
		}
	}
}

func TestWebServesThePage(t *testing.T) {
	h := newTestWebHandler(t)
	for _, tc := range []struct{ path, contentType, want string }{
		{"/", "text/html", `id="talk"`},
		{"/app.js", "javascript", "lk.agent.state"},
		{"/style.css", "text/css", ".interim"},
		{"/livekit-client.umd.js", "javascript", "var LivekitClient"},
	} {
		w := serve(h, httptest.NewRequest(http.MethodGet, "http://"+testHost+tc.path, nil))
		if w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Content-Type"), tc.contentType) || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("GET %s: status %d, type %q, body has %q: %v", tc.path, w.Code, w.Header().Get("Content-Type"), tc.want, strings.Contains(w.Body.String(), tc.want))
		}
	}
	for _, path := range []string{"/web/index.html", "/../web.go", "/index.html/x", "/app.js.map"} {
		if w := serve(h, httptest.NewRequest(http.MethodGet, "http://"+testHost+path, nil)); w.Code == http.StatusOK {
			t.Errorf("GET %s: served, want only the page's files", path)
		}
	}
}

// The page hears the agent (and the user) at the level the simulated
// user does, so the page's latency and the demo's are one measure.
func TestPageHearsAtTheSimulatedUsersLevel(t *testing.T) {
	js, err := webFiles.ReadFile("web/app.js")
	if err != nil {
		t.Fatal(err)
	}
	constant := func(name string) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^const ` + name + ` = (-?[0-9.]+);`).FindSubmatch(js)
		if m == nil {
			t.Fatalf("app.js: no const %s", name)
		}
		v, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := constant("AUDIBLE_DBFS"); got != simuser.AudibleDBFS {
		t.Errorf("app.js AUDIBLE_DBFS = %v, want simuser.AudibleDBFS, %v", got, simuser.AudibleDBFS)
	}
	if got := constant("WINDOW_SECONDS"); got != simuser.OnsetFrame.Seconds() {
		t.Errorf("app.js WINDOW_SECONDS = %v, want simuser.OnsetFrame, %v", got, simuser.OnsetFrame)
	}
}

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080": true, "127.0.0.1:0": true, "[::1]:8080": true, "localhost:8080": true, "127.0.0.2:80": true,
		"0.0.0.0:8080": false, ":8080": false, "[::]:8080": false, "192.168.1.10:8080": false, "example.com:80": false,
		"127.0.0.1": false, "127.0.0.1:99999": false, "127.0.0.1:-1": false, "": false,
	} {
		err := checkLoopback(addr)
		if (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v, want accepted %v", addr, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "-addr") {
			t.Errorf("checkLoopback(%q) = %v: want the flag named", addr, err)
		}
	}
}

func TestWebRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-addr", "0.0.0.0:8080"}, "loopback only"},
		{[]string{"-addr", "8080"}, "-addr"},
		{[]string{"-agent-name", ""}, "-agent-name"},
		{[]string{"-log-level", "loud"}, "-log-level"},
	} {
		var stderr bytes.Buffer
		code := run(t.Context(), append([]string{"web"}, tc.args...), nil, io.Discard, &stderr, envOf(nil))
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("web %q: exit %d, stderr %q; want 2 naming %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

func TestWebIsInTheUsage(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(t.Context(), []string{"help"}, nil, &stdout, io.Discard, envOf(nil)); code != 0 || !strings.Contains(stdout.String(), "\n  web ") {
		t.Errorf("help: exit %d, %q; want the web command listed", code, stdout.String())
	}
}

func TestWebSaysWhereToGetLivekitClient(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	err := runWebConfig(t.Context(), webConfig{addr: "127.0.0.1:0", clientJS: filepath.Join(t.TempDir(), "missing.js"), getenv: envOf(nil), log: log, stdout: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "setup_browser") || !strings.Contains(err.Error(), "LIVEKIT_CLIENT_JS") {
		t.Errorf("err = %v, want it to name setup_browser and LIVEKIT_CLIENT_JS", err)
	}
}

func TestLivekitClientJSPath(t *testing.T) {
	if got := livekitClientJS(envOf(map[string]string{"LIVEKIT_CLIENT_JS": "/x/lk.js", "LKGO_CACHE": "/c"})); got != "/x/lk.js" {
		t.Errorf("with LIVEKIT_CLIENT_JS: %q", got)
	}
	if got, want := livekitClientJS(envOf(map[string]string{"LKGO_CACHE": "/c"})), "/c/browser/node_modules/livekit-client/dist/livekit-client.umd.js"; got != want {
		t.Errorf("with LKGO_CACHE: %q, want %q", got, want)
	}
}

func FuzzParseTokenRequest(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"participant_name":"Ada"}`, `{"room_name":"r"}`, `{"room_config":{"agents":[{"agent_name":"a"}]}}`,
		`{"participant_name":"\u0000"}`, `{"participant_attributes":{"a":"b"}}`, `[]`, `null`, "\xff"} {
		f.Add("application/json", []byte(s))
	}
	f.Add("application/json; charset=utf-8", []byte(`{"participant_name":"x"}`))
	f.Add("text/plain", []byte(`{}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		name, err := parseTokenRequest(contentType, body)
		if err != nil {
			if name != "" {
				t.Errorf("error %v with a name %q", err, name)
			}
			if !strings.HasPrefix(err.Error(), "web: token request: ") {
				t.Errorf("error %q does not say where it comes from", err)
			}
			return
		}
		if len(name) > maxParticipantName || !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
			t.Errorf("accepted name %q", name)
		}
	})
}

func FuzzCheckLoopback(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8080", "[::1]:0", "localhost:1", "0.0.0.0:80", ":80", "[fe80::1%lo]:80", "127.0.0.1:http"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		if checkLoopback(addr) != nil {
			return
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("accepted %q: %v", addr, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			t.Errorf("accepted %q, not loopback", addr)
		}
	})
}
