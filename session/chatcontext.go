package session

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Role is the author of a [ChatMessage].
type Role string

// The roles a chat message can have.
const (
	RoleSystem    Role = "system"
	RoleDeveloper Role = "developer"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// ChatItem is one entry of a [ChatContext]: a *[ChatMessage], a
// *[FunctionCall] or a *[FunctionCallOutput].
type ChatItem interface {
	// ItemID is the item's id, unique within its chat context.
	ItemID() string
	chatItem()
}

// ChatMessage is text said by the system, the user or the assistant.
type ChatMessage struct {
	ID        string
	Role      Role
	Content   string
	CreatedAt time.Time
	// Interrupted marks an assistant message cut short by the user; Content
	// then holds only what was played.
	Interrupted bool
}

// FunctionCall is a tool call the model asked for.
type FunctionCall struct {
	ID string
	// CallID is the model's id for the call, echoed by its FunctionCallOutput.
	CallID string
	Name   string
	// Arguments is the JSON object the model produced.
	Arguments string
	// ExtraContent is provider data the model attached to this call
	// (tool_calls[].extra_content, e.g. Gemini's thought_signature), kept
	// verbatim so the next request can carry it back on the same call.
	ExtraContent json.RawMessage
	CreatedAt    time.Time
}

// FunctionCallOutput is the result of running a FunctionCall.
type FunctionCallOutput struct {
	ID        string
	CallID    string
	Name      string
	Output    string
	IsError   bool
	CreatedAt time.Time
}

func (m *ChatMessage) ItemID() string        { return m.ID }
func (c *FunctionCall) ItemID() string       { return c.ID }
func (o *FunctionCallOutput) ItemID() string { return o.ID }

func (*ChatMessage) chatItem()        {}
func (*FunctionCall) chatItem()       {}
func (*FunctionCallOutput) chatItem() {}

// ChatContext is a conversation: the ordered items a model reads. It is a
// plain value owned by whoever holds it and is not safe for concurrent use;
// hand a [ChatContext.Copy] to anything that runs on its own.
type ChatContext struct {
	Items []ChatItem
}

// NewChatContext returns a chat context holding items.
func NewChatContext(items ...ChatItem) *ChatContext {
	return &ChatContext{Items: items}
}

// Add appends an item, giving it an id and a creation time if it has none,
// and returns it.
func (c *ChatContext) Add(item ChatItem) ChatItem {
	fillItem(item, time.Now())
	c.Items = append(c.Items, item)
	return item
}

// fillItem gives item an id and a creation time if it has none.
func fillItem(item ChatItem, now time.Time) {
	switch it := item.(type) {
	case *ChatMessage:
		fill(&it.ID, &it.CreatedAt, "msg_", now)
	case *FunctionCall:
		fill(&it.ID, &it.CreatedAt, "fnc_", now)
	case *FunctionCallOutput:
		fill(&it.ID, &it.CreatedAt, "fnco_", now)
	}
}

// AddMessage appends a message with the given role and text.
func (c *ChatContext) AddMessage(role Role, content string) *ChatMessage {
	m := &ChatMessage{Role: role, Content: content}
	c.Add(m)
	return m
}

// Copy returns a deep copy: changing the copy or its items leaves c as it was.
func (c *ChatContext) Copy() *ChatContext {
	if c == nil {
		return &ChatContext{}
	}
	out := &ChatContext{Items: make([]ChatItem, len(c.Items))}
	for i, item := range c.Items {
		switch it := item.(type) {
		case *ChatMessage:
			v := *it
			out.Items[i] = &v
		case *FunctionCall:
			v := *it
			v.ExtraContent = bytes.Clone(it.ExtraContent)
			out.Items[i] = &v
		case *FunctionCallOutput:
			v := *it
			out.Items[i] = &v
		default:
			out.Items[i] = item
		}
	}
	return out
}

// Index returns the position of the item with the given id, or -1.
func (c *ChatContext) Index(id string) int {
	for i, item := range c.Items {
		if item.ItemID() == id {
			return i
		}
	}
	return -1
}

func fill(id *string, at *time.Time, prefix string, now time.Time) {
	if *id == "" {
		*id = NewID(prefix)
	}
	if at.IsZero() {
		*at = now
	}
}

// NewID returns prefix followed by 12 random hex digits.
func NewID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return prefix + hex.EncodeToString(b[:])
}
