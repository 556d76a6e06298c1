package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/livekit-go/agents/session"
)

// FunctionTool makes a tool of fn. The model sees a JSON schema generated
// from Args: exported fields by their json names, required unless tagged
// omitempty/omitzero, described by a `jsonschema:"..."` tag. The model's
// arguments are checked against that schema and decoded into Args; when they
// do not fit, fn is not called and the model gets the reason as the call's
// error output, so it can try again. fn's string is the call's output. An
// error fn returns is the call's error output: the model reads its message
// if it is a [ToolError] ([NewToolError]), else a generic message, and the
// error goes to the session's log. fn's ctx carries the call's
// [RunContext] and is cancelled when the reply is interrupted.
func FunctionTool[Args any](name, description string, fn func(ctx context.Context, args Args) (string, error)) (Tool, error) {
	if fn == nil {
		return nil, errors.New("agent: function tool " + name + ": fn must not be nil")
	}
	return FunctionToolResult(name, description, func(ctx context.Context, args Args) (ToolResult, error) {
		out, err := fn(ctx, args)
		return ToolResult{Output: out}, err
	})
}

// FunctionToolResult is [FunctionTool] for a function that returns a full
// [ToolResult]: to hand off to another agent ([Handoff]) or to ask for no
// reply.
func FunctionToolResult[Args any](name, description string, fn func(ctx context.Context, args Args) (ToolResult, error)) (Tool, error) {
	if name == "" {
		return nil, errors.New("agent: function tool name must not be empty")
	}
	if fn == nil {
		return nil, errors.New("agent: function tool " + name + ": fn must not be nil")
	}
	schema, err := jsonschema.For[Args](nil)
	if err != nil {
		return nil, fmt.Errorf("agent: function tool %s: arguments schema: %w", name, err)
	}
	if schema.Type != "object" {
		return nil, fmt.Errorf("agent: function tool %s: arguments must be a struct (a JSON object), got %s", name, schema.Type)
	}
	resolved, err := schema.Resolve(nil)
	if err != nil {
		return nil, fmt.Errorf("agent: function tool %s: arguments schema: %w", name, err)
	}
	raw, err := json.Marshal(schema)
	if err != nil {
		return nil, fmt.Errorf("agent: function tool %s: arguments schema: %w", name, err)
	}
	return &functionTool[Args]{
		def:      session.ToolDefinition{Name: name, Description: description, Parameters: raw},
		resolved: resolved,
		fn:       fn,
	}, nil
}

type functionTool[Args any] struct {
	def      session.ToolDefinition
	resolved *jsonschema.Resolved
	fn       func(ctx context.Context, args Args) (ToolResult, error)
}

func (t *functionTool[Args]) Definition() session.ToolDefinition { return t.def }

func (t *functionTool[Args]) Call(ctx context.Context, arguments string) (ToolResult, error) {
	if strings.TrimSpace(arguments) == "" {
		arguments = "{}"
	}
	var instance any
	if err := json.Unmarshal([]byte(arguments), &instance); err != nil {
		return ToolResult{}, argumentsError(t.def.Name, fmt.Errorf("not valid JSON: %w", err))
	}
	if err := t.resolved.Validate(instance); err != nil {
		return ToolResult{}, argumentsError(t.def.Name, err)
	}
	var args Args
	if err := json.Unmarshal([]byte(arguments), &args); err != nil {
		return ToolResult{}, argumentsError(t.def.Name, err)
	}
	return t.fn(ctx, args)
}

// argumentsError is an *ArgumentsError for the model to read: a
// *ToolError with the same message that unwraps to it.
func argumentsError(tool string, err error) error {
	ae := &ArgumentsError{Tool: tool, Err: err}
	return &ToolError{Message: ae.Error(), Err: ae}
}

// ArgumentsError says the model's arguments did not fit a tool's schema.
// The model reads its message: FunctionTool returns it inside a
// [ToolError] (errors.As finds either).
type ArgumentsError struct {
	Tool string
	Err  error
}

func (e *ArgumentsError) Error() string {
	return fmt.Sprintf("invalid arguments for %s: %v", e.Tool, e.Err)
}

func (e *ArgumentsError) Unwrap() error { return e.Err }
