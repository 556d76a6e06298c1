package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

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

	chat := session.NewChatContext()
	chat.AddMessage(session.RoleSystem, *instructions)
	failed := false
	lines := bufio.NewScanner(stdin)
	lines.Buffer(make([]byte, 64*1024), 1<<20)
	for lines.Scan() {
		text := strings.TrimSpace(lines.Text())
		if text == "" {
			continue
		}
		chat.AddMessage(session.RoleUser, text)
		reply, err := streamReply(ctx, llm, chat, stdout)
		if err != nil {
			// The partial reply was shown but is not kept: history holds
			// only complete turns.
			fmt.Fprintf(stderr, "voice-agent: %v\n", err)
			failed = true
			if ctx.Err() != nil {
				return 1
			}
			continue
		}
		chat.AddMessage(session.RoleAssistant, reply)
	}
	if err := lines.Err(); err != nil {
		fmt.Fprintf(stderr, "voice-agent: reading input: %v\n", err)
		return 1
	}
	if failed {
		return 1
	}
	return 0
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

	url := getenv("LIVEKIT_INFERENCE_URL")
	key, secret := getenv("LIVEKIT_INFERENCE_API_KEY"), getenv("LIVEKIT_INFERENCE_API_SECRET")
	if key == "" {
		key, secret = getenv("LIVEKIT_API_KEY"), getenv("LIVEKIT_API_SECRET")
	}
	if url == "" && key == "" {
		fmt.Fprintln(stderr, "voice-agent: no LIVEKIT_INFERENCE_URL or LiveKit API key set: answering with the local deterministic responder, a stand-in that is not a language model")
		return localResponder{}, nil
	}
	opts := []inference.Option{inference.WithModelOptions(mo), inference.WithCredentials(key, secret)}
	if url != "" {
		opts = append(opts, inference.WithBaseURL(url))
	} else if strings.Contains(getenv("LIVEKIT_URL"), ".staging.livekit.cloud") {
		opts = append(opts, inference.WithBaseURL("https://agent-gateway.staging.livekit.cloud/v1"))
	}
	if provider != "" {
		opts = append(opts, inference.WithProvider(provider))
	}
	return inference.NewLLM(model, opts...)
}

// streamReply streams one reply to out and returns its text.
func streamReply(ctx context.Context, llm session.LLM, chat *session.ChatContext, out io.Writer) (string, error) {
	stream, err := llm.Chat(ctx, session.ChatRequest{Chat: chat})
	if err != nil {
		return "", err
	}
	defer stream.Close()
	var reply strings.Builder
	for chunk, err := range session.Chunks(stream) {
		if err != nil {
			fmt.Fprintln(out)
			return "", err
		}
		if chunk.Index != 0 || chunk.Content == "" {
			continue
		}
		reply.WriteString(chunk.Content)
		if _, err := io.WriteString(out, chunk.Content); err != nil {
			return "", err
		}
	}
	fmt.Fprintln(out)
	if reply.Len() == 0 {
		return "", errors.New("the model sent no text")
	}
	return reply.String(), nil
}
