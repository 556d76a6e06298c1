package agent

import (
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
)

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
func WithEventHandler(fn func(Event)) Option { return session.WithEventHandler(fn) }

// Per-speech options, for Say and GenerateReply.
var (
	AllowInterruptions = session.AllowInterruptions
	AddToHistory       = session.AddToHistory
	WithInstructions   = session.WithInstructions
	WithToolChoice     = session.WithToolChoice
	WithModelOptions   = session.WithModelOptions
	WithUserInput      = session.WithUserInput
	WithAudio          = session.WithAudio
)

// Handoff is a tool result that hands the session to next once the tool
// step ends; output, if any, is what the model is told.
func Handoff(next *Agent, output string) ToolResult {
	return ToolResult{Output: output, Handoff: next}
}
