package inference

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/livekit-go/agents/session"
)

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
	// ExtraContent is the call's extra_content as the model sent it (Gemini's
	// thought_signature), filtered as the Python client filters it.
	ExtraContent json.RawMessage `json:"extra_content,omitzero"`
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

// toolChoiceWire writes tool_choice as the API takes it: a mode string,
// {"type": T, T: {"name": ...}} for a named tool (function, custom), or the
// allowed_tools object.
type toolChoiceWire struct {
	tc *session.ToolChoice
	at *AllowedTools
}

func (c toolChoiceWire) MarshalJSON() ([]byte, error) {
	switch {
	case c.at != nil:
		return c.at.MarshalJSON()
	case c.tc == nil:
		return []byte("null"), nil
	case !isNamedToolChoice(c.tc):
		return marshalNoEscape(c.tc.Mode)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteString(`{"type":`)
	if err := encodeTrim(enc, &buf, c.tc.Mode); err != nil {
		return nil, err
	}
	buf.WriteByte(',')
	if err := encodeTrim(enc, &buf, c.tc.Mode); err != nil {
		return nil, err
	}
	buf.WriteString(`:{"name":`)
	if err := encodeTrim(enc, &buf, c.tc.Function); err != nil {
		return nil, err
	}
	buf.WriteString("}}")
	return buf.Bytes(), nil
}

// buildBody returns the exact JSON body of the request: the model verbatim,
// the messages, the tools, every set option under its wire key in the
// option table's order, stream and stream_options, then the Extra keys in
// sorted order. An Extra key that names a typed option or a key the request
// owns is skipped, so a typed field always wins (validation rejects such
// keys before this runs; the skip guards against middleware that adds them
// later). Strings are not HTML-escaped, so "<" stays "<".
func buildBody(r *Request) ([]byte, error) {
	msgs, err := reqMessages(r.Chat)
	if err != nil {
		return nil, err
	}
	var tools []reqTool
	if len(r.Tools) > 0 {
		tools = make([]reqTool, len(r.Tools))
		for i, t := range r.Tools {
			if t.Parameters != nil && !json.Valid(t.Parameters) {
				return nil, fmt.Errorf("inference: tool %q: parameters are not valid JSON", t.Name)
			}
			tools[i] = reqTool{Type: "function", Function: reqFunction{
				Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict,
			}}
		}
	}

	o := &r.Options
	var buf bytes.Buffer
	buf.Grow(512 + 64*len(msgs))
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	put := func(key string, v any) error {
		buf.WriteString(`,"`)
		buf.WriteString(key) // wire keys are plain ASCII
		buf.WriteString(`":`)
		if err := encodeTrim(enc, &buf, v); err != nil {
			return fmt.Errorf("inference: %s: %w", key, err)
		}
		return nil
	}
	buf.WriteString(`{"model":`)
	if err := encodeTrim(enc, &buf, r.Model); err != nil {
		return nil, fmt.Errorf("inference: body: %w", err)
	}
	if err := put("messages", msgs); err != nil {
		return nil, err
	}
	if tools != nil {
		if err := put("tools", tools); err != nil {
			return nil, err
		}
	}
	for i := range optionTable {
		row := &optionTable[i]
		if row.wire == nil || !row.isSet(o) {
			continue
		}
		if err := put(row.key, row.wire(o)); err != nil {
			return nil, err
		}
	}
	buf.WriteString(`,"stream":true,"stream_options":{"include_usage":true}`)
	for _, k := range slices.Sorted(maps.Keys(o.Extra)) {
		if isTypedKey(k) || reservedKeys[k] || k == keyExtraBody {
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
				Function:     reqFunctionCall{Name: it.Name, Arguments: it.Arguments},
				ExtraContent: sendableExtraContent(it.ExtraContent),
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

// extraContentKeys are the keys of a tool call's extra_content that go back
// to the model, the ones the Python client sends back: a provider's data
// meant for a later request (Gemini's google.thought_signature), not
// whatever else a provider attached.
var extraContentKeys = []string{"google", "livekit", "xai"}

// sendableExtraContent returns the part of a call's extra_content sent back
// with it: the extraContentKeys with a value that is not empty, in that
// order, or nil. Anything that is not a JSON object is not sent.
func sendableExtraContent(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	var buf bytes.Buffer
	for _, k := range extraContentKeys {
		v, ok := obj[k]
		if !ok || isEmptyJSON(v) {
			continue
		}
		if buf.Len() == 0 {
			buf.WriteByte('{')
		} else {
			buf.WriteByte(',')
		}
		buf.WriteString(`"` + k + `":`)
		buf.Write(v)
	}
	if buf.Len() == 0 {
		return nil
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// isEmptyJSON reports whether v is a value Python finds false: null, false,
// a zero number, "", [] or {}.
func isEmptyJSON(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	switch string(v) {
	case "null", "false", "0", `""`, "[]", "{}":
		return true
	}
	if len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
		f, err := strconv.ParseFloat(string(v), 64)
		return err == nil && f == 0
	}
	if len(v) > 0 && (v[0] == '[' || v[0] == '{') {
		var x any
		if json.Unmarshal(v, &x) == nil {
			switch x := x.(type) {
			case []any:
				return len(x) == 0
			case map[string]any:
				return len(x) == 0
			}
		}
	}
	return false
}
