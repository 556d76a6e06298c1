package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/livekit-go/agents/plugins/inference"
	"github.com/livekit-go/agents/session"
)

// runChat reads user turns from stdin, one a line, and streams each reply to
// stdout, keeping the conversation.
func runChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "openai/gpt-4.1-mini", "LiveKit Inference model")
	provider := fs.String("provider", "", "provider to ask the gateway for (X-LiveKit-Inference-Provider)")
	options := fs.String("model-options", "", `model options as a JSON object with the reference's keys, e.g. {"temperature":0.7}`)
	instructions := fs.String("instructions", "You are a helpful voice assistant.", "system instructions")
	if err := fs.Parse(args); err != nil {
		return 2
	}

	llm, err := chatLLM(*model, *provider, *options, stderr, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "voice-agent: %v\n", err)
		return 1
	}

	// The session's text mode keeps the conversation, runs the agent's
	// tools and reports failed replies (chat_session.go).
	return runChatSession(ctx, llm, *instructions, stdin, stdout, stderr)
}

// chatLLM picks the LLM: LiveKit Inference when a gateway or credentials are
// configured, else the local stand-in (and says so). Invalid model options
// are an error either way, before anything is sent.
func chatLLM(model, provider, options string, stderr io.Writer, getenv func(string) string) (session.LLM, error) {
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

	key, secret := inferenceCredentials(getenv)
	if getenv("LIVEKIT_INFERENCE_URL") == "" && key == "" {
		fmt.Fprintln(stderr, "voice-agent: no LIVEKIT_INFERENCE_URL or LiveKit API key set: answering with the local deterministic responder, a stand-in that is not a language model")
		return localResponder{}, nil
	}
	opts := []inference.Option{inference.WithModelOptions(mo), inference.WithCredentials(key, secret)}
	if url := gatewayURL(getenv); url != "" {
		opts = append(opts, inference.WithBaseURL(url))
	}
	if provider != "" {
		opts = append(opts, inference.WithProvider(provider))
	}
	return inference.NewLLM(model, opts...)
}
