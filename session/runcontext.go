package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"
)

// RunContext is what a running tool knows about the reply that called it
// (the Go form of LiveKit Agents' RunContext). The session puts it in the
// ctx of [Tool.Call]; get it with [RunContextFrom], so that tool functions
// keep their (ctx, args) shape. The zero RunContext (a tool called outside
// a session, in a unit test) has no session, speech or user data: it waits
// for nothing and cannot disallow interruptions.
type RunContext struct {
	s      *Session
	h      *SpeechHandle
	call   FunctionCall
	played <-chan struct{} // closed once the step's speech before the call ended
}

type runContextKey struct{}

// RunContextFrom returns the run context of the tool call ctx belongs to.
func RunContextFrom(ctx context.Context) (*RunContext, bool) {
	rc, ok := ctx.Value(runContextKey{}).(*RunContext)
	return rc, ok
}

// Session is the session the tool runs in.
func (rc *RunContext) Session() *Session { return rc.s }

// SpeechHandle is the reply that made the call.
func (rc *RunContext) SpeechHandle() *SpeechHandle { return rc.h }

// FunctionCall is the call being run (a copy).
func (rc *RunContext) FunctionCall() FunctionCall {
	c := rc.call
	c.ExtraContent = bytes.Clone(c.ExtraContent)
	return c
}

// UserData is the session's user data (see [WithUserData]).
func (rc *RunContext) UserData() any {
	if rc.s == nil {
		return nil
	}
	return rc.s.o.userData
}

// WaitForPlayout waits until what the agent said in the LLM step that made
// this call has played out (or was cut short), or ctx ends. An "end the
// call" tool waits for its goodbye this way before closing the session.
// It does not wait for the rest of the reply, which waits for the tool.
func (rc *RunContext) WaitForPlayout(ctx context.Context) error {
	if rc.played == nil {
		return nil // no speech to wait for
	}
	return waitFor(ctx, rc.played)
}

// DisallowInterruptions makes the reply that made the call uninterruptible
// from now on, so the tool and the rest of the reply run to their end. It
// returns [ErrInterrupted] if the reply was interrupted already.
func (rc *RunContext) DisallowInterruptions() error {
	if rc.h == nil {
		return errors.New("session: DisallowInterruptions: the run context has no speech (not from a tool call)")
	}
	if err := rc.h.disallowInterruptions(); err != nil {
		return err
	}
	h := rc.h
	rc.s.post(func(l *loop) { l.interruptionsDisallowed(h) })
	return nil
}

// The model's view of a tool that failed without a message for it, as
// LiveKit Agents words it.
const toolFailedOutput = "An internal error occurred"

// callTool runs one call of the model's to one of agent's tools and
// returns its output for the model. The model reads a tool error's message
// only when the tool meant it for the model (a *ToolError); the rest goes
// to the log.
func (t *task) callTool(ctx context.Context, agent agentView, call FunctionCall) (out *FunctionCallOutput, res ToolResult) {
	out = &FunctionCallOutput{CallID: call.CallID, Name: call.Name}
	defer func() { fill(&out.ID, &out.CreatedAt, "fnco_", time.Now()) }()
	tool := agent.tool(call.Name)
	if tool == nil {
		out.Output, out.IsError = fmt.Sprintf("unknown tool %q", call.Name), true
		return out, res
	}
	log := t.s.o.logger.With("component", "session", "speech_id", t.h.id, "tool", call.Name, "call_id", call.CallID)
	defer func() {
		if p := recover(); p != nil {
			log.Error("tool panicked", "panic", p, "stack", string(debug.Stack()))
			out.Output, out.IsError = toolFailedOutput, true
			res = ToolResult{}
		}
	}()
	r, err := tool.Call(ctx, call.Arguments)
	if err != nil {
		out.IsError = true
		var te *ToolError
		if errors.As(err, &te) {
			out.Output = te.Message
			log.Debug("tool error for the model", "err", err)
		} else {
			out.Output = toolFailedOutput
			level := slog.LevelWarn
			if ctx.Err() != nil {
				level = slog.LevelDebug // cancelled with its reply: nothing went wrong
			}
			log.Log(ctx, level, "tool failed", "err", err)
		}
		return out, ToolResult{}
	}
	out.Output = r.Output
	if r.Handoff != nil && out.Output == "" {
		out.Output = "transferred to another agent"
	}
	return out, r
}
