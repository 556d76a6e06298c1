package session

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// Tool is a function the model may call.
type Tool interface {
	// Definition is what the model is told about the tool.
	Definition() ToolDefinition
	// Call runs the tool with the model's JSON arguments. ctx is cancelled
	// when the reply that made the call is interrupted (cause
	// [ErrInterrupted]) or the session closes ([ErrSessionClosed]); an
	// interrupted reply keeps the outputs of the calls that had finished.
	// ctx carries the call's [RunContext] (see [RunContextFrom]).
	//
	// A returned error becomes the call's output, marked as an error, and
	// the model is asked to reply to it. The model reads only a generic
	// message unless the error is (or wraps) a [*ToolError], whose Message
	// it reads; the error itself goes to the session's log. A panic is
	// treated like an error.
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
	// the reply ends (see [Session.UpdateAgent]). The handoff itself asks
	// for no reply; other calls of the same step that want one get it
	// first, from the agent that made them, with tool_choice none.
	Handoff *Agent
}

// ToolError is an error a tool means for the model: its Message becomes
// the call's output as it is. Any other error reaches the model as a
// generic message, so that internals (a database's user and host, a
// token) stay in the logs.
type ToolError struct {
	// Message is what the model reads.
	Message string
	// Err, if set, is the cause, for errors.Is/As and the log.
	Err error
}

// NewToolError returns a [*ToolError] whose message the model reads.
func NewToolError(format string, args ...any) *ToolError {
	return &ToolError{Message: fmt.Sprintf(format, args...)}
}

func (e *ToolError) Error() string { return e.Message }

func (e *ToolError) Unwrap() error { return e.Err }

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

// TextNode transforms a stream of text: it reads the pieces of text from
// in and yields the text to use instead, and may change, drop, add or hold
// back pieces. It must stop when in ends (or its caller stops). The
// session runs nodes on its own goroutines, never on its loop.
type TextNode func(ctx context.Context, in iter.Seq[string]) iter.Seq[string]

// Agent is one persona of a session: its instructions, its tools, its hooks
// and, optionally, its own stages of the reply pipeline (the Go form of
// LiveKit Agents' llm_node, tts_node and transcription_node).
//
// The session reads an Agent when it becomes active and never changes it;
// change the running agent with [Session.UpdateInstructions] and
// [Session.UpdateTools], or switch agents with [Session.UpdateAgent].
// Hooks and nodes run on goroutines of the session's, never on its loop, so
// they may call any Session method.
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
	// OnUserTurnCompleted runs when the reply to a committed user turn
	// starts, before its LLM request. It may change msg (its content goes
	// to the LLM and replaces the message in history, which holds the
	// message from the commit on) and add items to chat (for this reply
	// only). Returning [ErrStopResponse] vetoes the reply; another error is
	// reported and the reply goes ahead.
	OnUserTurnCompleted func(ctx context.Context, chat *ChatContext, msg *ChatMessage) error

	// LLMNode, when set, runs each LLM step in place of next.Chat: it may
	// change the request, wrap the stream (to change or drop chunks), or
	// answer without calling next.
	LLMNode func(ctx context.Context, req ChatRequest, next LLM) (LLMStream, error)
	// TTSNode, when set, transforms the reply's text before the sentence
	// splitter and TTS: it changes what is spoken (a pronunciation, a
	// markup the TTS reads). In voice mode the transcript is what TTS says
	// it spoke; change how it reads with TranscriptionNode.
	TTSNode TextNode
	// TranscriptionNode, when set, transforms the agent's words as they go
	// to the text output; history keeps what it yields. In voice mode it
	// reads the words as playout releases them, so what it yields is
	// paced by the audio; in text mode it reads the LLM's text.
	TranscriptionNode TextNode
}

// agentView is the active agent as a reply uses it: the Agent and the
// instructions and tools the session runs it with, which
// UpdateInstructions and UpdateTools change without touching the Agent.
type agentView struct {
	*Agent
	instructions string
	tools        []Tool
}

func viewOf(a *Agent) agentView {
	return agentView{Agent: a, instructions: a.Instructions, tools: a.Tools}
}

func (a agentView) toolDefs() []ToolDefinition {
	if len(a.tools) == 0 {
		return nil
	}
	defs := make([]ToolDefinition, len(a.tools))
	for i, t := range a.tools {
		defs[i] = t.Definition()
	}
	return defs
}

func (a agentView) tool(name string) Tool {
	for _, t := range a.tools {
		if t.Definition().Name == name {
			return t
		}
	}
	return nil
}

// checkAgent checks what the session would otherwise fail on later, on a
// goroutine of its own: an agent that is nil or has a tool that is nil,
// nameless or named twice.
func checkAgent(a *Agent) error {
	if a == nil {
		return errors.New("session: agent must not be nil")
	}
	if err := checkTools(a.Tools); err != nil {
		return fmt.Errorf("session: agent %w", err)
	}
	return nil
}

// checkTools reports the first tool that is nil or whose name is empty or
// used twice (the model could not tell them apart).
func checkTools(tools []Tool) error {
	seen := make(map[string]bool, len(tools))
	for i, t := range tools {
		if t == nil {
			return fmt.Errorf("tools[%d] is nil", i)
		}
		switch name := t.Definition().Name; {
		case name == "":
			return fmt.Errorf("tools[%d] has no name", i)
		case seen[name]:
			return fmt.Errorf("tools[%d]: name %q is used twice", i, name)
		default:
			seen[name] = true
		}
	}
	return nil
}
