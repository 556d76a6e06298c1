package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/livekit/protocol/auth"

	"github.com/livekit-go/agents/plugins/inference"
)

// The local stand-in model: where no gateway credentials are set, the agent
// still talks to its model through inference.LLM, over HTTP, to this
// OpenAI-compatible Chat Completions endpoint on 127.0.0.1. It speaks the
// gateway's wire format (a signed token, streamed SSE chunks, tool calls
// streamed as OpenAI streams them, usage last) and answers by rule
// (respond), so the whole request path, options, middleware and the tool
// step run as they would against LiveKit Inference. It is not a language
// model, and the programs say so.

// standInKey is the API key the stand-in accepts; the secret is random per
// run and never leaves the process.
const standInKey = "local-stand-in"

// localModel is a running stand-in and the inference.LLM pointed at it.
type localModel struct {
	LLM *inference.Model
	URL string // the base URL, http://127.0.0.1:PORT/v1

	srv    *http.Server
	h      *standIn
	served chan struct{}
}

// startLocalModel serves the stand-in on a free port of 127.0.0.1 and
// returns inference.LLM(model) pointed at it with its credentials; opts are
// added after those (model options, middleware, a logger). Close stops it.
func startLocalModel(model string, log *slog.Logger, opts ...inference.Option) (*localModel, error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	secret := hex.EncodeToString(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("stand-in model: %w", err)
	}
	h := newStandIn(secret, log)
	m := &localModel{
		URL:    "http://" + ln.Addr().String() + "/v1",
		srv:    &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		h:      h,
		served: make(chan struct{}),
	}
	go func() { // exits when Close shuts the server
		defer close(m.served)
		_ = m.srv.Serve(ln)
	}()
	all := append([]inference.Option{inference.WithBaseURL(m.URL), inference.WithCredentials(standInKey, secret)}, opts...)
	if m.LLM, err = inference.NewLLM(model, all...); err != nil {
		_ = m.Close()
		return nil, err
	}
	return m, nil
}

// Close stops the server and waits for the requests in flight; idempotent.
func (m *localModel) Close() error {
	err := m.srv.Close()
	<-m.served
	m.h.wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// standIn is the endpoint: POST /v1/chat/completions and GET /v1/models.
type standIn struct {
	// verify checks a token's signature against the run's secret, which
	// no field holds, so that no formatted value can show it.
	verify func(*auth.APIKeyTokenVerifier) (*auth.ClaimGrants, error)
	log    *slog.Logger
	wg     sync.WaitGroup // requests being served
}

func newStandIn(secret string, log *slog.Logger) *standIn {
	return &standIn{
		verify: func(v *auth.APIKeyTokenVerifier) (*auth.ClaimGrants, error) {
			_, g, err := v.Verify(secret)
			return g, err
		},
		log: log,
	}
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	switch {
	case r.URL.Path == "/v1/chat/completions" && r.Method == http.MethodPost:
	case r.URL.Path == "/v1/models" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"local-stand-in","object":"model","owned_by":"livekit-go-agents"}]}`)
		return
	default:
		apiError(w, http.StatusNotFound, "not_found", fmt.Sprintf("%s %s: the stand-in serves POST /v1/chat/completions and GET /v1/models", r.Method, r.URL.Path))
		return
	}
	if err := s.authorize(r.Header.Get("Authorization")); err != nil {
		apiError(w, http.StatusUnauthorized, "invalid_api_key", err.Error())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		apiError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", fmt.Sprintf("body: %v", err))
		return
	}
	req, err := parseChatRequest(body)
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
		return
	}
	rep := respond(req)
	if s.log != nil {
		s.log.Debug("stand-in model: request", "model", req.Model, "messages", len(req.Messages), "tools", req.Tools, "options", len(req.Options), "calls_tool", rep.Call != nil)
	}
	_ = streamReply(w, req, rep) // a write error is the client gone
}

// authorize checks the token as the gateway does: signed with the
// stand-in's key and secret, granting inference.
func (s *standIn) authorize(header string) error {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return errors.New("missing bearer token")
	}
	v, err := auth.ParseAPIToken(tok)
	if err != nil {
		return errors.New("malformed token")
	}
	if v.APIKey() != standInKey {
		return errors.New("unknown API key")
	}
	grants, err := s.verify(v)
	if err != nil {
		return errors.New("invalid token")
	}
	if grants.Inference == nil || !grants.Inference.Perform {
		return errors.New("token lacks the inference grant")
	}
	return nil
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": "stand-in model: " + msg, "type": typ, "code": nil}})
	_, _ = w.Write(b)
}

// The chunk shapes of a streamed chat completion, as OpenAI sends them.
type (
	wireChunk struct {
		ID      string        `json:"id"`
		Object  string        `json:"object"`
		Created int64         `json:"created"`
		Model   string        `json:"model"`
		Choices []chunkChoice `json:"choices"`
		Usage   *chunkUsage   `json:"usage,omitempty"`
	}
	chunkChoice struct {
		Index        int        `json:"index"`
		Delta        chunkDelta `json:"delta"`
		FinishReason *string    `json:"finish_reason"`
	}
	chunkDelta struct {
		Role      string          `json:"role,omitempty"`
		Content   *string         `json:"content,omitempty"`
		ToolCalls []chunkToolCall `json:"tool_calls,omitempty"`
	}
	chunkToolCall struct {
		Index    int           `json:"index"`
		ID       string        `json:"id,omitempty"`
		Type     string        `json:"type,omitempty"`
		Function chunkFunction `json:"function"`
	}
	chunkFunction struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	}
	chunkUsage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	}
)

// argPiece is how many bytes of a tool call's arguments each chunk
// carries: OpenAI streams them in fragments, which a client must join.
const argPiece = 8

// streamReply writes rep as a streamed completion: a role chunk, the text
// a word a chunk or the tool call with its arguments in fragments, the
// finish reason, the usage when asked, and [DONE].
func streamReply(w http.ResponseWriter, req *wireRequest, rep standInReply) error {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	base := wireChunk{ID: "chatcmpl-" + hex.EncodeToString(b), Object: "chat.completion.chunk", Created: time.Now().Unix(), Model: req.Model}
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	send := func(c wireChunk) error {
		data, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	}
	delta := func(d chunkDelta, finish string) wireChunk {
		c := base
		ch := chunkChoice{Delta: d}
		if finish != "" {
			ch.FinishReason = &finish
		}
		c.Choices = []chunkChoice{ch}
		return c
	}
	var chunks []wireChunk
	finish := "stop"
	completion := rep.Text
	if call := rep.Call; call != nil {
		finish = "tool_calls"
		completion = call.Name + call.Arguments
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		chunks = append(chunks, delta(chunkDelta{Role: "assistant", ToolCalls: []chunkToolCall{{
			ID: "call_" + hex.EncodeToString(b), Type: "function", Function: chunkFunction{Name: call.Name},
		}}}, ""))
		for a := call.Arguments; a != ""; {
			n := min(argPiece, len(a))
			chunks = append(chunks, delta(chunkDelta{ToolCalls: []chunkToolCall{{Function: chunkFunction{Arguments: a[:n]}}}}, ""))
			a = a[n:]
		}
	} else {
		chunks = append(chunks, delta(chunkDelta{Role: "assistant", Content: new("")}, ""))
		for _, word := range strings.SplitAfter(rep.Text, " ") {
			chunks = append(chunks, delta(chunkDelta{Content: &word}, ""))
		}
	}
	chunks = append(chunks, delta(chunkDelta{}, finish))
	if req.IncludeUsage {
		c := base
		c.Choices = []chunkChoice{}
		prompt := 0
		for _, m := range req.Messages {
			prompt += estimateTokens(m.Content)
			for _, tc := range m.ToolCalls {
				prompt += estimateTokens(tc.Name + tc.Arguments)
			}
		}
		done := estimateTokens(completion)
		c.Usage = &chunkUsage{PromptTokens: prompt, CompletionTokens: done, TotalTokens: prompt + done}
		chunks = append(chunks, c)
	}
	for _, c := range chunks {
		if err := send(c); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "data: [DONE]\n\n")
	return err
}

// estimateTokens is the usual four bytes a token: the stand-in has no
// tokenizer, and its usage figures are estimates.
func estimateTokens(s string) int { return (len(s) + 3) / 4 }
