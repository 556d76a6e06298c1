package inference

import (
	"encoding/json"

	"github.com/livekit-go/agents/session"
)

// STUB: replaced by the options work. buildBody returns the exact JSON body
// of the request.
func buildBody(r *Request) ([]byte, error) {
	type msg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	var msgs []msg
	for _, it := range r.Chat.Items {
		if m, ok := it.(*session.ChatMessage); ok {
			msgs = append(msgs, msg{string(m.Role), m.Content})
		}
	}
	return json.Marshal(map[string]any{
		"model": r.Model, "messages": msgs, "stream": true,
		"stream_options": map[string]any{"include_usage": true},
	})
}
