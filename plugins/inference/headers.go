package inference

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"runtime"

	"github.com/livekit-go/agents/session"
)

// userAgent names this project and the Go runtime, so gateway operators can
// tell this client apart from the Python and Node ones.
var userAgent = "livekit-go-agents/0.1 " + runtime.Version()

// The gateway's header names, in the canonical form net/http sends (header
// names are case-insensitive; the references write X-LiveKit-...-ID).
const (
	headerProvider    = "X-Livekit-Inference-Provider"
	headerPriority    = "X-Livekit-Inference-Priority"
	headerRoomID      = "X-Livekit-Room-Id"
	headerJobID       = "X-Livekit-Job-Id"
	headerAgentID     = "X-Livekit-Agent-Id"
	headerWorkerToken = "X-Livekit-Worker-Token"
	headerSessionID   = "X-Livekit-Session-Id"
)

// setGatewayHeaders puts on h what every request and socket to the gateway
// carries, the LLM's and the speech models' alike, as the references build
// them (Python get_inference_headers, Node buildMetadataHeaders): the signed
// token, the user agent, the priority class, the provider (the LLM only;
// "" for speech), and inside a job (session.WithJobInfo on ctx) the room,
// job and agent ids, the worker token of a hosted agent
// (LIVEKIT_WORKER_TOKEN) and a new session id for this request or
// connection (as the Python client sends it). They replace any header of
// the same name already in h.
func setGatewayHeaders(ctx context.Context, h http.Header, tokens *tokenSource, provider, priority string) error {
	tok, err := tokens.header()
	if err != nil {
		return err
	}
	h["Authorization"] = []string{tok}
	h["User-Agent"] = []string{userAgent}
	if provider != "" {
		h[headerProvider] = []string{provider}
	}
	if priority != "" {
		h[headerPriority] = []string{priority}
	}
	info, ok := session.JobInfoFrom(ctx)
	if !ok {
		return nil
	}
	if info.RoomID != "" {
		h[headerRoomID] = []string{info.RoomID}
	}
	if info.JobID != "" {
		h[headerJobID] = []string{info.JobID}
	}
	if info.AgentID != "" {
		h[headerAgentID] = []string{info.AgentID}
	}
	if wt := os.Getenv("LIVEKIT_WORKER_TOKEN"); wt != "" {
		h[headerWorkerToken] = []string{wt}
	}
	h[headerSessionID] = []string{newSessionID()}
	return nil
}

// newSessionID is the id of one request or connection: "inference_" and 12
// hex digits, as the Python client makes it.
func newSessionID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail
	return "inference_" + hex.EncodeToString(b[:])
}
