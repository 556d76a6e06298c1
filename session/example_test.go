package session_test

import (
	"context"
	"errors"
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

// Run plays one user turn and returns what it added to history, tool steps
// included: the Go form of LiveKit Agents' session.run(user_input=...).
// Package sessiontest's Expect checks the result in a test.
func ExampleSession_Run() {
	llm := sessiontest.NewLLM(
		sessiontest.Response{ToolCalls: []session.FunctionCall{{CallID: "1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		sessiontest.Response{Text: "It is sunny in Paris."},
	)
	weather := session.ToolFunc{
		Def: session.ToolDefinition{Name: "get_weather", Description: "The weather in a city."},
		Fn: func(context.Context, string) (session.ToolResult, error) {
			return session.ToolResult{Output: "sunny"}, nil
		},
	}
	s, err := session.New(session.WithLLM(llm))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if err := s.Start(ctx, &session.Agent{Tools: []session.Tool{weather}}, session.IO{}); err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	res, err := s.Run(ctx, "What's the weather in Paris?")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range res.Events {
		if e, ok := e.(session.ConversationItemAddedEvent); ok {
			switch it := e.Item.(type) {
			case *session.FunctionCall:
				fmt.Printf("call %s(%s)\n", it.Name, it.Arguments)
			case *session.FunctionCallOutput:
				fmt.Printf("output %s: %s\n", it.Name, it.Output)
			case *session.ChatMessage:
				fmt.Printf("%s: %s\n", it.Role, it.Content)
			}
		}
	}
	// Output:
	// call get_weather({"city":"Paris"})
	// output get_weather: sunny
	// assistant: It is sunny in Paris.
}

// A tool finds its reply in its ctx: this one lets the goodbye it was
// called with play out, then ends the session.
func ExampleRunContextFrom() {
	endCall := session.ToolFunc{
		Def: session.ToolDefinition{Name: "end_call", Description: "End the call."},
		Fn: func(ctx context.Context, _ string) (session.ToolResult, error) {
			rc, ok := session.RunContextFrom(ctx)
			if !ok {
				return session.ToolResult{}, errors.New("end_call: not called by a session")
			}
			if err := rc.WaitForPlayout(ctx); err != nil {
				return session.ToolResult{}, err
			}
			rc.Session().CloseAsync() // Close would wait for this tool
			return session.ToolResult{NoReply: true}, nil
		},
	}
	llm := sessiontest.NewLLM(sessiontest.Response{Text: "Goodbye!", ToolCalls: []session.FunctionCall{{CallID: "1", Name: "end_call", Arguments: "{}"}}})
	s, err := session.New(session.WithLLM(llm))
	if err != nil {
		fmt.Println(err)
		return
	}
	out := &sessiontest.TextOutput{}
	in := sessiontest.NewTextInput()
	if err := s.Start(context.Background(), &session.Agent{Tools: []session.Tool{endCall}}, session.IO{Text: in, TextOut: out}); err != nil {
		fmt.Println(err)
		return
	}
	in.Send("That's all, bye.")
	<-s.Done()
	fmt.Println(out.Messages())
	fmt.Println(s.Err())
	// Output:
	// [Goodbye!]
	// session: closed (user_initiated)
}

// Events is the session's events as an iterator; several subscribers (and
// WithEventHandler) each get every event.
func ExampleSession_Events() {
	s, err := session.New(session.WithLLM(sessiontest.NewLLM(sessiontest.Response{Text: "Hi!"})))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	events := s.Events(ctx) // before Start, to see every event
	in := sessiontest.NewTextInput()
	if err := s.Start(ctx, &session.Agent{}, session.IO{Text: in}); err != nil {
		fmt.Println(err)
		return
	}
	in.Send("Hello")
	in.Close() // the session answers, then closes
	for e := range events {
		switch e := e.(type) {
		case session.ConversationItemAddedEvent:
			if m, ok := e.Item.(*session.ChatMessage); ok {
				fmt.Printf("%s: %s\n", m.Role, m.Content)
			}
		case session.CloseEvent:
			fmt.Println("closed:", e.Reason)
		}
	}
	// Output:
	// user: Hello
	// assistant: Hi!
	// closed: input_ended
}
