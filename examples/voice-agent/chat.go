package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/livekit-go/agents/plugins/inference"
)

// runChat reads user turns from stdin, one a line, and streams each reply to
// stdout, keeping the conversation.
func runChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var af agentFlags
	af.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}

	llm, err := chatLLM(af.model, af.provider, af.options, stderr, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "voice-agent: %v\n", err)
		return 1
	}
	defer llm.close()

	// The session's text mode keeps the conversation, runs the agent's
	// tools and reports failed replies (chat_session.go).
	return runChatSession(ctx, llm, af.instructions, stdin, stdout, stderr)
}

// agentLLM is the LLM the agent talks to: inference.LLM, at LiveKit
// Inference (or the gateway in LIVEKIT_INFERENCE_URL), or at the local
// stand-in model when no gateway is configured.
type agentLLM struct {
	*inference.Model
	local *localModel // the stand-in it talks to; nil at a gateway
}

// close stops the stand-in, if there is one.
func (l *agentLLM) close() {
	if l.local != nil {
		_ = l.local.Close()
	}
}

// chatLLM picks the LLM: LiveKit Inference when a gateway or credentials
// for one are configured (gatewayEnv), else inference.LLM pointed at the
// local stand-in model (startLocalModel), and says so on note. Invalid
// model options are an error either way, before anything is sent. extra
// options (middleware, a logger) are added to the LLM's. Close it.
func chatLLM(model, provider, options string, note io.Writer, getenv func(string) string, extra ...inference.Option) (*agentLLM, error) {
	var mo inference.ModelOptions
	if options != "" {
		dec := json.NewDecoder(bytes.NewReader([]byte(options)))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("-model-options: not a JSON object: %w", err)
		}
		var err error
		if mo, err = inference.ParseModelOptions(m); err != nil {
			return nil, err
		}
	}
	if err := mo.Validate(); err != nil {
		return nil, err
	}
	opts := []inference.Option{inference.WithModelOptions(mo)}
	if provider != "" {
		opts = append(opts, inference.WithProvider(provider))
	}
	opts = append(opts, extra...)

	getenv = gatewayEnv(getenv)
	key, secret := inferenceCredentials(getenv)
	if getenv("LIVEKIT_INFERENCE_URL") == "" && key == "" {
		local, err := startLocalModel(model, nil, opts...)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(note, "voice-agent: no LIVEKIT_INFERENCE_URL or LiveKit Inference credentials set: inference.LLM talks to the local stand-in model at %s, which answers by rule and is not a language model\n", local.URL)
		return &agentLLM{Model: local.LLM, local: local}, nil
	}
	opts = append([]inference.Option{inference.WithCredentials(key, secret)}, opts...)
	if url := gatewayURL(getenv); url != "" {
		opts = append([]inference.Option{inference.WithBaseURL(url)}, opts...)
	}
	m, err := inference.NewLLM(model, opts...)
	if err != nil {
		return nil, err
	}
	return &agentLLM{Model: m}, nil
}
