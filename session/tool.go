package session

import "context"

// Tool is a function the model may call.
type Tool interface {
	// Definition is what the model is told about the tool.
	Definition() ToolDefinition
	// Call runs the tool with the model's JSON arguments. A returned error
	// is given to the model as the call's output, marked as an error, and
	// the model is asked to reply to it. ctx is cancelled when the session
	// closes, not when the user interrupts the reply: results are kept in
	// history either way.
	Call(ctx context.Context, arguments string) (ToolResult, error)
}

// ToolResult is what a tool returns to the session.
type ToolResult struct {
	// Output is given to the model as the call's output.
	Output string
	// NoReply says the model need not speak after this call. A new LLM
	// step follows a tool step when any call of it wants a reply.
	NoReply bool
	// Handoff, when set, is the agent that takes over the session once
	// the tool step ends (see [Session.UpdateAgent]).
	Handoff *Agent
}

// ToolFunc adapts a function to a [Tool].
type ToolFunc struct {
	Def ToolDefinition
	Fn  func(ctx context.Context, arguments string) (ToolResult, error)
}

// Definition implements [Tool].
func (t ToolFunc) Definition() ToolDefinition { return t.Def }

// Call implements [Tool].
func (t ToolFunc) Call(ctx context.Context, arguments string) (ToolResult, error) {
	return t.Fn(ctx, arguments)
}

// Agent is one persona of a session: its instructions, its tools and its
// hooks. A session runs one agent at a time; [Session.UpdateAgent] or a tool
// returning [ToolResult.Handoff] switches to another.
//
// Hooks run on their own goroutine, never on the session's loop, so they may
// call any Session method.
type Agent struct {
	// Instructions become the system message of every LLM request.
	Instructions string
	// Tools the model may call while this agent is active.
	Tools []Tool
	// OnEnter runs when the agent becomes active (at Start or on handoff);
	// a typical one calls GenerateReply or Say to greet.
	OnEnter func(ctx context.Context, s *Session) error
	// OnExit runs when another agent takes over.
	OnExit func(ctx context.Context, s *Session) error
	// OnUserTurnCompleted runs when a user turn is committed, before the
	// reply. It may change msg (its content goes to history and to the
	// LLM) and add items to chat (for this reply only). Returning
	// [ErrStopResponse] vetoes the reply; another error is reported and the
	// reply goes ahead.
	OnUserTurnCompleted func(ctx context.Context, chat *ChatContext, msg *ChatMessage) error
}

func (a *Agent) toolDefs() []ToolDefinition {
	if a == nil || len(a.Tools) == 0 {
		return nil
	}
	defs := make([]ToolDefinition, len(a.Tools))
	for i, t := range a.Tools {
		defs[i] = t.Definition()
	}
	return defs
}

func (a *Agent) tool(name string) Tool {
	if a == nil {
		return nil
	}
	for _, t := range a.Tools {
		if t.Definition().Name == name {
			return t
		}
	}
	return nil
}
