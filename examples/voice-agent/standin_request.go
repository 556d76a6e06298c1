package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// wireRequest is a Chat Completions request as the stand-in model reads it
// (parseChatRequest): what it answers from, and the options it was sent,
// verbatim, for the demo to show.
type wireRequest struct {
	Model    string
	Messages []wireMessage
	// Tools are the names of the functions offered.
	Tools []string
	// ToolChoice is "" (unset), "auto", "none", "required", or the name
	// of the one function the model must call.
	ToolChoice   string
	IncludeUsage bool
	// Options are the other keys of the body (temperature, seed, a
	// provider's own...), as they arrived.
	Options map[string]json.RawMessage
}

type wireMessage struct {
	Role       string
	Content    string // the text, text parts joined
	ToolCalls  []wireToolCall
	ToolCallID string // of a tool message
}

type wireToolCall struct {
	ID, Name, Arguments string
}

// maxRequestBody bounds what the stand-in reads of one request.
const maxRequestBody = 4 << 20

var wireRoles = []string{"system", "developer", "user", "assistant", "tool"}

// parseChatRequest reads a streamed Chat Completions request body. It
// checks what the stand-in relies on and the shapes of the OpenAI schema it
// reads, and names the field when something is wrong
// ("messages[2].role: ..."). Keys it does not read are kept in Options.
func parseChatRequest(body []byte) (*wireRequest, error) {
	var top map[string]json.RawMessage
	if err := strictDecode(body, &top); err != nil {
		return nil, fmt.Errorf("body: not a JSON object: %w", err)
	}
	if top == nil {
		return nil, errors.New("body: not a JSON object")
	}
	r := &wireRequest{Options: map[string]json.RawMessage{}}
	for k, v := range top {
		var err error
		switch k {
		case "model":
			err = json.Unmarshal(v, &r.Model)
		case "messages":
			r.Messages, err = parseMessages(v)
		case "tools":
			r.Tools, err = parseTools(v)
		case "tool_choice":
			r.ToolChoice, err = parseToolChoice(v)
		case "stream":
			var s bool
			if err = json.Unmarshal(v, &s); err == nil && !s {
				err = errors.New("false: the stand-in answers only streamed requests")
			}
		case "stream_options":
			var so struct {
				IncludeUsage *bool `json:"include_usage"`
			}
			if err = strictDecode(v, &so); err == nil && so.IncludeUsage != nil {
				r.IncludeUsage = *so.IncludeUsage
			}
		default:
			r.Options[k] = v
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	switch {
	case r.Model == "":
		return nil, errors.New("model: missing or empty")
	case len(r.Messages) == 0:
		return nil, errors.New("messages: missing or empty")
	case top["stream"] == nil:
		return nil, errors.New("stream: missing: the stand-in answers only streamed requests")
	}
	if c := r.ToolChoice; c != "" && c != "auto" && c != "none" && c != "required" && !slices.Contains(r.Tools, c) {
		return nil, fmt.Errorf("tool_choice: function %q is not among the tools", c)
	}
	return r, nil
}

// strictDecode decodes one JSON value and nothing after it.
func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

func parseMessages(raw json.RawMessage) ([]wireMessage, error) {
	var msgs []struct {
		Role       *string         `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCallID *string         `json:"tool_call_id"`
		ToolCalls  []struct {
			ID       string `json:"id"`
			Type     string `json:"type"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	}
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return nil, err
	}
	out := make([]wireMessage, len(msgs))
	for i, m := range msgs {
		at := func(format string, args ...any) error {
			return fmt.Errorf("[%d]."+format, append([]any{i}, args...)...)
		}
		if m.Role == nil {
			return nil, at("role: missing")
		}
		if !slices.Contains(wireRoles, *m.Role) {
			return nil, at("role: %q is not one of %s", *m.Role, strings.Join(wireRoles, ", "))
		}
		w := wireMessage{Role: *m.Role}
		text, err := parseContent(m.Content)
		if err != nil {
			return nil, at("content: %w", err)
		}
		w.Content = text
		if m.Role != nil && *m.Role == "tool" {
			if m.ToolCallID == nil || *m.ToolCallID == "" {
				return nil, at("tool_call_id: missing on a tool message")
			}
			w.ToolCallID = *m.ToolCallID
		}
		if len(m.ToolCalls) > 0 && w.Role != "assistant" {
			return nil, at("tool_calls: only an assistant message carries them")
		}
		for j, c := range m.ToolCalls {
			if c.Type != "function" || c.ID == "" || c.Function.Name == "" {
				return nil, at("tool_calls[%d]: want an id, type \"function\" and a function name", j)
			}
			w.ToolCalls = append(w.ToolCalls, wireToolCall{ID: c.ID, Name: c.Function.Name, Arguments: c.Function.Arguments})
		}
		out[i] = w
	}
	return out, nil
}

// parseContent reads a message's content: a string, null, or a list of
// text parts (other kinds of part are not for a stand-in that only reads).
func parseContent(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("want a string, null or a list of parts")
	}
	var b strings.Builder
	for i, p := range parts {
		if p.Type != "text" || p.Text == nil {
			return "", fmt.Errorf("part %d: type %q: the stand-in reads text parts only", i, p.Type)
		}
		b.WriteString(*p.Text)
	}
	return b.String(), nil
}

func parseTools(raw json.RawMessage) ([]string, error) {
	var tools []struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &tools); err != nil {
		return nil, err
	}
	names := make([]string, len(tools))
	for i, t := range tools {
		if t.Type != "function" || t.Function.Name == "" {
			return nil, fmt.Errorf("[%d]: want type \"function\" and a function name", i)
		}
		names[i] = t.Function.Name
	}
	return names, nil
}

func parseToolChoice(raw json.RawMessage) (string, error) {
	var mode string
	if err := json.Unmarshal(raw, &mode); err == nil {
		switch mode {
		case "auto", "none", "required":
			return mode, nil
		}
		return "", fmt.Errorf("%q: want auto, none, required or a function", mode)
	}
	var fn struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &fn); err != nil || fn.Type != "function" || fn.Function.Name == "" {
		return "", errors.New(`want auto, none, required or {"type":"function","function":{"name":...}}`)
	}
	return fn.Function.Name, nil
}
