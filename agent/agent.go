package agent

import (
	"context"
	"iter"
	"log/slog"
	"time"

	"github.com/livekit-go/agents/session"
)

// The types a user writes against live in package session, where the turn
// loop needs them; these names let an agent be written with this package
// alone.
type (
	// Agent is instructions, tools and hooks; see [session.Agent].
	Agent = session.Agent
	// Session runs a conversation; see [session.Session].
	Session = session.Session
	// Option configures a session.
	Option = session.Option
	// IO is what a session talks through.
	IO = session.IO
	// Tool is a function the model may call.
	Tool = session.Tool
	// ToolResult is what a tool returns.
	ToolResult = session.ToolResult
	// SpeechHandle is one thing the agent says.
	SpeechHandle = session.SpeechHandle
	// SpeechOption configures Say and GenerateReply.
	SpeechOption = session.SpeechOption
	// Event is something a session reports.
	Event = session.Event
	// RunContext is what a running tool knows about its reply; see
	// [session.RunContext] and [RunContextFrom].
	RunContext = session.RunContext
	// ToolError is a tool error whose message the model reads; any other
	// tool error reaches the model as a generic message.
	ToolError = session.ToolError
	// TextNode transforms a stream of text (an Agent's TTSNode and
	// TranscriptionNode).
	TextNode = session.TextNode
	// RunResult is what Session.Run produced; check it with
	// sessiontest.Expect.
	RunResult = session.RunResult
	// ClosedError says why a session closed (Session.Err, Session.Wait).
	ClosedError = session.ClosedError
)

// RunContextFrom returns the run context of the tool call ctx belongs to:
// call it in a tool function to wait for the agent's words to play out,
// disallow interruptions, or reach the session and its user data.
func RunContextFrom(ctx context.Context) (*RunContext, bool) { return session.RunContextFrom(ctx) }

// NewToolError returns an error whose message the model reads as the
// tool's output.
func NewToolError(format string, args ...any) *ToolError {
	return session.NewToolError(format, args...)
}

// NewSession returns a session configured by opts, not started yet: call
// Start with the first agent and the I/O. An LLM whose construction failed
// (one with an Err() error method returning non-nil, as inference.LLM
// reports bad options) makes NewSession return that error.
func NewSession(opts ...Option) (*Session, error) { return session.New(opts...) }

// WithLLM sets the language model.
func WithLLM(l session.LLM) Option { return session.WithLLM(l) }

// WithSTT sets speech recognition.
func WithSTT(s session.STT) Option { return session.WithSTT(s) }

// WithTTS sets speech synthesis.
func WithTTS(t session.TTS) Option { return session.WithTTS(t) }

// WithVAD sets voice activity detection.
func WithVAD(v session.VAD) Option { return session.WithVAD(v) }

// WithTurnDetector sets the end-of-turn model.
func WithTurnDetector(t session.TurnDetector) Option { return session.WithTurnDetector(t) }

// WithMinEndpointingDelay: see [session.WithMinEndpointingDelay] (0.5 s).
func WithMinEndpointingDelay(d time.Duration) Option { return session.WithMinEndpointingDelay(d) }

// WithMaxEndpointingDelay: see [session.WithMaxEndpointingDelay] (3 s).
func WithMaxEndpointingDelay(d time.Duration) Option { return session.WithMaxEndpointingDelay(d) }

// WithMinInterruptionDuration: see [session.WithMinInterruptionDuration] (0.5 s).
func WithMinInterruptionDuration(d time.Duration) Option {
	return session.WithMinInterruptionDuration(d)
}

// WithMinInterruptionWords: see [session.WithMinInterruptionWords] (0).
func WithMinInterruptionWords(n int) Option { return session.WithMinInterruptionWords(n) }

// WithFalseInterruptionTimeout: see [session.WithFalseInterruptionTimeout] (2 s).
func WithFalseInterruptionTimeout(d time.Duration) Option {
	return session.WithFalseInterruptionTimeout(d)
}

// WithUserAwayTimeout: see [session.WithUserAwayTimeout] (15 s).
func WithUserAwayTimeout(d time.Duration) Option { return session.WithUserAwayTimeout(d) }

// WithMaxToolSteps: see [session.WithMaxToolSteps] (3).
func WithMaxToolSteps(n int) Option { return session.WithMaxToolSteps(n) }

// WithPreemptiveGeneration: see [session.WithPreemptiveGeneration] (on).
func WithPreemptiveGeneration(on bool) Option { return session.WithPreemptiveGeneration(on) }

// WithEventHandler sets the function that receives every event, in order.
// More can subscribe with Session.Subscribe or Session.Events.
func WithEventHandler(fn func(Event)) Option { return session.WithEventHandler(fn) }

// WithEventBuffer: see [session.WithEventBuffer] (1024 events per
// subscriber).
func WithEventBuffer(n int) Option { return session.WithEventBuffer(n) }

// WithCloseTimeout: see [session.WithCloseTimeout] (5 s).
func WithCloseTimeout(d time.Duration) Option { return session.WithCloseTimeout(d) }

// WithUserData attaches a value for tools (RunContext.UserData) and hooks
// (Session.UserData).
func WithUserData(v any) Option { return session.WithUserData(v) }

// WithLogger sets the session's logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return session.WithLogger(l) }

// AllowInterruptions sets whether the user may interrupt a speech
// (default true).
func AllowInterruptions(allow bool) SpeechOption { return session.AllowInterruptions(allow) }

// AddToHistory sets whether a Say is added to history (default true).
func AddToHistory(add bool) SpeechOption { return session.AddToHistory(add) }

// WithInstructions adds instructions for one reply, after the agent's own.
func WithInstructions(instructions string) SpeechOption {
	return session.WithInstructions(instructions)
}

// WithToolChoice sets the tool choice of a reply's first LLM step.
func WithToolChoice(tc session.ToolChoice) SpeechOption { return session.WithToolChoice(tc) }

// WithModelOptions sets per-call model options for a reply (they reach
// the LLM request's ModelOptions, e.g. {"temperature": 0.2}).
func WithModelOptions(opts map[string]any) SpeechOption { return session.WithModelOptions(opts) }

// WithUserInput adds a user message to history before a reply.
func WithUserInput(text string) SpeechOption { return session.WithUserInput(text) }

// WithAudio makes a Say play frames instead of synthesising its text.
func WithAudio(frames iter.Seq[session.AudioFrame]) SpeechOption { return session.WithAudio(frames) }

// Handoff is a tool result that hands the session to next once the tool
// step ends; output, if any, is what the model is told.
func Handoff(next *Agent, output string) ToolResult {
	return ToolResult{Output: output, Handoff: next}
}
