package main

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
)

// webFiles is the page: index.html, app.js, style.css. livekit-client's
// bundle is served from the file setup_browser installed.
//
//go:embed web
var webFiles embed.FS

const (
	// maxTokenRequest bounds the token request's body.
	maxTokenRequest = 4 << 10
	// maxParticipantName bounds the display name a page may ask for, in bytes.
	maxParticipantName = 128
	// webTokenTTL is how long a join token is valid; the server refreshes
	// it for a participant already in the room.
	webTokenTTL = 10 * time.Minute
)

// webHandler serves the page and mints join tokens. Every token is for a
// random identity in a fresh room whose configuration dispatches the
// agent. It answers only requests addressed to the loopback address it
// listens on (the Host check stops DNS rebinding) and refuses tokens to
// other origins. It is safe for concurrent use.
type webHandler struct {
	lkURL, key, secret string
	agentName          string
	clientJS           string          // livekit-client's UMD bundle
	hosts              map[string]bool // Host header values accepted
	log                *slog.Logger
	newID              func(prefix string) string // random names; replaced in tests
	mux                *http.ServeMux
}

type webHandlerConfig struct {
	lkURL, key, secret, agentName, clientJS string
	listen                                  net.Addr // where the server listens
	log                                     *slog.Logger
}

func newWebHandler(c webHandlerConfig) (*webHandler, error) {
	hosts, err := loopbackHosts(c.listen)
	if err != nil {
		return nil, err
	}
	page, err := fs.Sub(webFiles, "web")
	if err != nil {
		return nil, err
	}
	h := &webHandler{
		lkURL: c.lkURL, key: c.key, secret: c.secret, agentName: c.agentName, clientJS: c.clientJS,
		hosts: hosts, log: c.log, newID: func(prefix string) string { return prefix + randomSuffix() },
		mux: http.NewServeMux(),
	}
	static := http.FileServerFS(page)
	h.mux.Handle("GET /{$}", static)
	for _, name := range []string{"/app.js", "/style.css"} {
		h.mux.Handle("GET "+name, static)
	}
	h.mux.HandleFunc("GET /livekit-client.umd.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, h.clientJS)
	})
	h.mux.HandleFunc("POST /token", h.token)
	return h, nil
}

// loopbackHosts is the set of Host header values that address a server
// listening on addr: its IP and localhost, with its port.
func loopbackHosts(addr net.Addr) (map[string]bool, error) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		return nil, fmt.Errorf("web: listening on %v, want a loopback TCP address", addr)
	}
	port := strconv.Itoa(tcp.Port)
	return map[string]bool{net.JoinHostPort(tcp.IP.String(), port): true, net.JoinHostPort("localhost", port): true}, nil
}

func (h *webHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.hosts[r.Host] {
		http.Error(w, "web: this server answers only on its loopback address", http.StatusMisdirectedRequest)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	h.mux.ServeHTTP(w, r)
}

// tokenResponse is livekit.TokenSourceResponse (what livekit-client's
// TokenSource.endpoint reads) with the room and identity, for the page.
type tokenResponse struct {
	ServerURL           string `json:"server_url"`
	ParticipantToken    string `json:"participant_token"`
	RoomName            string `json:"room_name"`
	ParticipantIdentity string `json:"participant_identity"`
}

func (h *webHandler) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
		http.Error(w, "web: token: cross-origin request refused", http.StatusForbidden)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTokenRequest))
	if err != nil {
		http.Error(w, fmt.Sprintf("web: token: body over %d bytes", maxTokenRequest), http.StatusRequestEntityTooLarge)
		return
	}
	name, err := parseTokenRequest(r.Header.Get("Content-Type"), body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	res, err := h.mint(name)
	if err != nil {
		h.log.Error("web: minting a token", "err", err)
		http.Error(w, "web: token: could not sign", http.StatusInternalServerError)
		return
	}
	h.log.Info("web: token", "room", res.RoomName, "identity", res.ParticipantIdentity)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// mint signs a join token for a random identity in a fresh room whose
// configuration dispatches the agent when the room is created by the join.
func (h *webHandler) mint(name string) (tokenResponse, error) {
	res := tokenResponse{ServerURL: h.lkURL, RoomName: h.newID("voice-agent-web-"), ParticipantIdentity: h.newID("user-")}
	at := auth.NewAccessToken(h.key, h.secret).
		SetIdentity(res.ParticipantIdentity).
		SetName(name).
		SetValidFor(webTokenTTL).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: res.RoomName}).
		SetAgents(&livekit.RoomAgentDispatch{AgentName: h.agentName})
	tok, err := at.ToJWT()
	res.ParticipantToken = tok
	return res, err
}

// parseTokenRequest reads a token request: an empty body, or a
// livekit.TokenSourceRequest in JSON (what livekit-client's
// TokenSource.endpoint sends) asking for nothing but a display name. The
// room, the identity and the agent are the server's to choose; a request
// that asks for them is refused, naming the field.
func parseTokenRequest(contentType string, body []byte) (participantName string, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return "", nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return "", fmt.Errorf("web: token request: Content-Type %q, want application/json", contentType)
	}
	var req livekit.TokenSourceRequest
	if err := protojson.Unmarshal(body, &req); err != nil {
		return "", fmt.Errorf("web: token request: %w", err)
	}
	switch {
	case req.RoomName != nil:
		return "", errors.New("web: token request: room_name: every token is for a fresh room the server names")
	case req.ParticipantIdentity != nil:
		return "", errors.New("web: token request: participant_identity: every token is for a random identity")
	case req.ParticipantMetadata != nil || len(req.ParticipantAttributes) > 0:
		return "", errors.New("web: token request: participant_metadata and participant_attributes are not accepted")
	case req.RoomConfig != nil:
		return "", errors.New("web: token request: room_config: the server's room configuration dispatches its agent")
	}
	name := req.GetParticipantName()
	if len(name) > maxParticipantName {
		return "", fmt.Errorf("web: token request: participant_name: %d bytes, at most %d", len(name), maxParticipantName)
	}
	if !utf8.ValidString(name) {
		return "", errors.New("web: token request: participant_name: not UTF-8")
	}
	for _, c := range name {
		if unicode.IsControl(c) {
			return "", fmt.Errorf("web: token request: participant_name: control character %U", c)
		}
	}
	return name, nil
}
