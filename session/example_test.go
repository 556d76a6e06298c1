package session_test

import (
	"context"
	"fmt"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

// A session in text mode: each text in is a user turn, the reply streams to
// the text output. Here the models are fakes from sessiontest.
func ExampleSession() {
	llm := sessiontest.NewLLM(sessiontest.Response{Text: "It is sunny."})
	s, err := session.New(session.WithLLM(llm), session.WithEventHandler(func(e session.Event) {
		if e, ok := e.(session.ConversationItemAddedEvent); ok {
			if m, ok := e.Item.(*session.ChatMessage); ok {
				fmt.Printf("%s: %s\n", m.Role, m.Content)
			}
		}
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	in := sessiontest.NewTextInput()
	if err := s.Start(context.Background(), &session.Agent{Instructions: "Answer briefly."}, session.IO{Text: in}); err != nil {
		fmt.Println(err)
		return
	}
	in.Send("How is the weather?")
	in.Close() // the session answers, then closes: its input ended
	<-s.Done()
	// Output:
	// user: How is the weather?
	// assistant: It is sunny.
}
