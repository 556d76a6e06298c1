package inference

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/livekit-go/agents/session"
)

// reqBody is the Chat Completions request body. Field order is the order of
// the keys on the wire, so bodies compare byte for byte. Options point at
// the Request's own values: nil (unset) is omitted by omitzero, a set zero
// or false is sent.
type reqBody struct {
	Model             string         `json:"model"`
	Messages          []reqMessage   `json:"messages"`
	Tools             []reqTool      `json:"tools,omitzero"`
	ToolChoice        *reqToolChoice `json:"tool_choice,omitzero"`
	ParallelToolCalls *bool          `json:"parallel_tool_calls,omitzero"`

	Temperature         *float64          `json:"temperature,omitzero"`
	TopP                *float64          `json:"top_p,omitzero"`
	MaxTokens           *int              `json:"max_tokens,omitzero"`
	MaxCompletionTokens *int              `json:"max_completion_tokens,omitzero"`
	ReasoningEffort     *string           `json:"reasoning_effort,omitzero"`
	FrequencyPenalty    *float64          `json:"frequency_penalty,omitzero"`
	PresencePenalty     *float64          `json:"presence_penalty,omitzero"`
	Seed                *int64            `json:"seed,omitzero"`
	Stop                *Stop             `json:"stop,omitzero"`
	N                   *int              `json:"n,omitzero"`
	Logprobs            *bool             `json:"logprobs,omitzero"`
	TopLogprobs         *int              `json:"top_logprobs,omitzero"`
	LogitBias           map[string]int    `json:"logit_bias,omitzero"`
	User                *string           `json:"user,omitzero"`
	ServiceTier         *string           `json:"service_tier,omitzero"`
	Metadata            map[string]string `json:"metadata,omitzero"`
	Store               *bool             `json:"store,omitzero"`
	Prediction          *Prediction       `json:"prediction,omitzero"`
	Modalities          []string          `json:"modalities,omitzero"`
	WebSearchOptions    *WebSearchOptions `json:"web_search_options,omitzero"`
	Verbosity           *string           `json:"verbosity,omitzero"`
	PromptCacheKey      *string           `json:"prompt_cache_key,omitzero"`
	SafetyIdentifier    *string           `json:"safety_identifier,omitzero"`

	Stream        bool             `json:"stream"`
	StreamOptions reqStreamOptions `json:"stream_options"`
}

type reqStreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// reqMessage is any of the request message kinds. Content is a pointer so
// that an empty string is sent where the schema requires content, and
// omitted on an assistant message that only carries tool calls.
type reqMessage struct {
	Role       string        `json:"role"`
	Content    *string       `json:"content,omitzero"`
	ToolCalls  []reqToolCall `json:"tool_calls,omitzero"`
	ToolCallID *string       `json:"tool_call_id,omitzero"`
}

type reqToolCall struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Function reqFunctionCall `json:"function"`
}

type reqFunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type reqTool struct {
	Type     string      `json:"type"`
	Function reqFunction `json:"function"`
}

type reqFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitzero"`
	Parameters  json.RawMessage `json:"parameters,omitzero"`
	Strict      bool            `json:"strict,omitzero"`
}

// reqToolChoice writes a tool choice as the API takes it: a mode string, or
// {"type":"function","function":{"name":...}}.
type reqToolChoice session.ToolChoice

func (c reqToolChoice) MarshalJSON() ([]byte, error) {
	if c.Mode != "function" {
		return marshalNoEscape(c.Mode)
	}
	type name struct {
		Name string `json:"name"`
	}
	type named struct {
		Type     string `json:"type"`
		Function name   `json:"function"`
	}
	return marshalNoEscape(named{"function", name{c.Function}})
}

// buildBody returns the exact JSON body of the request: the model verbatim,
// the messages, the tools, every set option under its wire key, stream and
// stream_options, then the Extra keys in sorted order. An Extra key that
// names a typed option or a key the request owns is skipped, so a typed
// field always wins (Validate rejects such keys before this runs; the skip
// guards against middleware that adds them later). Strings are not
// HTML-escaped, so "<" stays "<".
func buildBody(r *Request) ([]byte, error) {
	msgs, err := reqMessages(r.Chat)
	if err != nil {
		return nil, err
	}
	o := &r.Options
	b := reqBody{
		Model:               r.Model,
		Messages:            msgs,
		ParallelToolCalls:   o.ParallelToolCalls,
		Temperature:         o.Temperature,
		TopP:                o.TopP,
		MaxTokens:           o.MaxTokens,
		MaxCompletionTokens: o.MaxCompletionTokens,
		ReasoningEffort:     o.ReasoningEffort,
		FrequencyPenalty:    o.FrequencyPenalty,
		PresencePenalty:     o.PresencePenalty,
		Seed:                o.Seed,
		Stop:                o.Stop,
		N:                   o.N,
		Logprobs:            o.Logprobs,
		TopLogprobs:         o.TopLogprobs,
		LogitBias:           o.LogitBias,
		User:                o.User,
		ServiceTier:         o.ServiceTier,
		Metadata:            o.Metadata,
		Store:               o.Store,
		Prediction:          o.Prediction,
		Modalities:          o.Modalities,
		WebSearchOptions:    o.WebSearchOptions,
		Verbosity:           o.Verbosity,
		PromptCacheKey:      o.PromptCacheKey,
		SafetyIdentifier:    o.SafetyIdentifier,
		Stream:              true,
		StreamOptions:       reqStreamOptions{IncludeUsage: true},
	}
	if o.ToolChoice != nil {
		b.ToolChoice = (*reqToolChoice)(o.ToolChoice)
	}
	if len(r.Tools) > 0 {
		b.Tools = make([]reqTool, len(r.Tools))
		for i, t := range r.Tools {
			if t.Parameters != nil && !json.Valid(t.Parameters) {
				return nil, fmt.Errorf("inference: tool %q: parameters are not valid JSON", t.Name)
			}
			b.Tools[i] = reqTool{Type: "function", Function: reqFunction{
				Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict,
			}}
		}
	}

	var buf bytes.Buffer
	buf.Grow(512 + 64*len(msgs))
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := encodeTrim(enc, &buf, &b); err != nil {
		return nil, fmt.Errorf("inference: body: %w", err)
	}
	if len(o.Extra) == 0 {
		return buf.Bytes(), nil
	}
	buf.Truncate(buf.Len() - 1) // reopen the object: drop its '}'
	for _, k := range slices.Sorted(maps.Keys(o.Extra)) {
		if isTypedKey(k) || reservedKeys[k] {
			continue
		}
		buf.WriteByte(',')
		if err := encodeTrim(enc, &buf, k); err != nil {
			return nil, fmt.Errorf("inference: body: %w", err)
		}
		buf.WriteByte(':')
		if err := encodeTrim(enc, &buf, o.Extra[k]); err != nil {
			return nil, fmt.Errorf("inference: %s: %w", k, err)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// marshalNoEscape is json.Marshal without HTML escaping. The body's
// encoder does not escape, but it cannot undo what a MarshalJSON method
// escaped itself, so the option types marshal with this to keep "<" as "<"
// everywhere in the body.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := encodeTrim(enc, &buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeTrim encodes v and drops the newline Encoder adds.
func encodeTrim(enc *json.Encoder, buf *bytes.Buffer, v any) error {
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1)
	return nil
}

// reqMessages converts the chat context to request messages. Consecutive
// function calls become the tool_calls of one assistant message, the one
// just before them when it is an assistant message, as the model produced
// them; a function output becomes a tool message.
func reqMessages(chat *session.ChatContext) ([]reqMessage, error) {
	if chat == nil {
		return []reqMessage{}, nil
	}
	msgs := make([]reqMessage, 0, len(chat.Items))
	// callsInto is the index of the assistant message that the next function
	// call joins, or -1 when it needs a new one.
	callsInto := -1
	for i, item := range chat.Items {
		if item == nil || isNilItem(item) {
			return nil, fmt.Errorf("inference: chat item %d is nil", i)
		}
		switch it := item.(type) {
		case *session.ChatMessage:
			switch it.Role {
			case session.RoleSystem, session.RoleDeveloper, session.RoleUser, session.RoleAssistant:
			default:
				return nil, fmt.Errorf("inference: chat item %d (%s): unknown role %q", i, it.ID, it.Role)
			}
			msgs = append(msgs, reqMessage{Role: string(it.Role), Content: &it.Content})
			callsInto = -1
			if it.Role == session.RoleAssistant {
				callsInto = len(msgs) - 1
			}
		case *session.FunctionCall:
			if callsInto < 0 {
				msgs = append(msgs, reqMessage{Role: string(session.RoleAssistant)})
				callsInto = len(msgs) - 1
			}
			m := &msgs[callsInto]
			if m.Content != nil && *m.Content == "" {
				m.Content = nil // no text: tool_calls alone is the message
			}
			m.ToolCalls = append(m.ToolCalls, reqToolCall{
				ID: it.CallID, Type: "function",
				Function: reqFunctionCall{Name: it.Name, Arguments: it.Arguments},
			})
		case *session.FunctionCallOutput:
			msgs = append(msgs, reqMessage{Role: "tool", Content: &it.Output, ToolCallID: &it.CallID})
			callsInto = -1
		default:
			return nil, fmt.Errorf("inference: chat item %d: unsupported type %T", i, item)
		}
	}
	return msgs, nil
}

// isNilItem reports whether item is a typed nil pointer.
func isNilItem(item session.ChatItem) bool {
	switch it := item.(type) {
	case *session.ChatMessage:
		return it == nil
	case *session.FunctionCall:
		return it == nil
	case *session.FunctionCallOutput:
		return it == nil
	}
	return false
}
