package session

import "time"

// Event is something the session reports: one of the *Event types of this
// package. Each subscriber ([WithEventHandler], [Session.Subscribe],
// [Session.Events]) gets them in order, one at a time, through a queue of
// its own: a slow subscriber delays its own later events, never the turn
// loop or another subscriber, and past [WithEventBuffer] queued events it
// loses events instead of growing (an [EventsDroppedEvent] says how many).
type Event interface{ event() }

// UserState is what the user is doing.
type UserState string

// AgentState is what the agent is doing.
type AgentState string

// The user and agent states.
const (
	UserListening UserState = "listening"
	UserSpeaking  UserState = "speaking"
	UserAway      UserState = "away"

	AgentInitializing AgentState = "initializing"
	AgentListening    AgentState = "listening"
	AgentThinking     AgentState = "thinking"
	AgentSpeaking     AgentState = "speaking"
)

// UserStateChangedEvent reports a change of [UserState].
type UserStateChangedEvent struct {
	Old, New UserState
	At       time.Time
}

// AgentStateChangedEvent reports a change of [AgentState].
type AgentStateChangedEvent struct {
	Old, New AgentState
	At       time.Time
}

// UserInputTranscribedEvent carries an interim or final transcript.
type UserInputTranscribedEvent struct {
	Text       string
	Final      bool
	Language   string
	Confidence float64
}

// ConversationItemAddedEvent reports an item added to history: a user or
// assistant message (assistant messages once their speech ended, cut to
// what was played when interrupted), a function call or its output. Item
// is a copy; changing it does not change history.
type ConversationItemAddedEvent struct {
	Item ChatItem
}

// FunctionToolsExecutedEvent reports one tool step: the calls and their
// outputs (copies), in the order the model made them.
type FunctionToolsExecutedEvent struct {
	Calls   []*FunctionCall
	Outputs []*FunctionCallOutput
}

// SpeechCreatedEvent reports a new speech (a reply or a Say).
type SpeechCreatedEvent struct {
	Speech *SpeechHandle
	// Source is "say", "generate_reply" or "user_turn".
	Source string
}

// AgentFalseInterruptionEvent reports that the user talked over the agent
// but said nothing within the false interruption timeout, so playback
// resumed.
type AgentFalseInterruptionEvent struct {
	Resumed bool
}

// MetricsEvent carries the latencies of one reply.
type MetricsEvent struct {
	Metrics TurnMetrics
}

// TurnMetrics are the latencies of one reply. A field is zero when its stage
// did not run (no STT in text mode, no TTS without audio output).
type TurnMetrics struct {
	SpeechID string
	// EndOfUtteranceDelay is from the end of the user's speech (as the VAD
	// placed it) to the turn's commit.
	EndOfUtteranceDelay time.Duration
	// TranscriptionDelay is from the end of the user's speech to the last
	// final transcript of the turn.
	TranscriptionDelay time.Duration
	// LLMTTFT is from the first LLM request to its first content or tool
	// call.
	LLMTTFT time.Duration
	// TTSTTFB is from the first text pushed to TTS to its first audio, in
	// the first LLM step that spoke (each step measures from its own first
	// text, so a tool step in between does not count).
	TTSTTFB time.Duration
	// E2ELatency is from the end of the user's speech to the first agent
	// audio frame handed to the output (first text in text mode).
	E2ELatency time.Duration
	// CommitToFirstOutput is from the turn's commit to the first audio
	// frame handed to the output (first text in text mode).
	CommitToFirstOutput time.Duration
	// Preemptive is set when the reply used a preemptive generation.
	Preemptive bool
	// Usage of the LLM steps, summed.
	Usage Usage
}

// ErrorEvent reports a failure of a model or of the I/O. Recoverable errors
// do not count toward closing the session.
type ErrorEvent struct {
	// Source is the failing stage: one of the Source* constants ("llm",
	// "stt", "tts", "vad", "turn_detector", "hook", "audio_input",
	// "text_input", "audio_output", "text_output").
	Source      string
	Err         error
	Recoverable bool
}

// The sources of an [ErrorEvent]. Unrecoverable errors of the STT, the
// LLM, the TTS and the audio output count against a budget per source (see
// the package README); the others are reported and the session works on.
const (
	SourceLLM          = "llm"
	SourceSTT          = "stt"
	SourceTTS          = "tts"
	SourceVAD          = "vad"
	SourceTurnDetector = "turn_detector"
	SourceHook         = "hook"
	SourceAudioInput   = "audio_input"
	SourceTextInput    = "text_input"
	SourceAudioOutput  = "audio_output"
	SourceTextOutput   = "text_output"
)

// AgentHandoffEvent reports that another agent took over the session (a
// tool's [ToolResult.Handoff] or [Session.UpdateAgent]).
type AgentHandoffEvent struct {
	Old, New *Agent
}

// EventsDroppedEvent tells a subscriber that Dropped events did not fit its
// queue (see [WithEventBuffer]) and were lost; it comes in their place.
type EventsDroppedEvent struct {
	Dropped int
}

// CloseReason says why a session closed.
type CloseReason string

// The reasons a session closes for.
const (
	CloseUserInitiated CloseReason = "user_initiated"
	CloseError         CloseReason = "error"
	CloseInputEnded    CloseReason = "input_ended"
	CloseContextDone   CloseReason = "context_done"
	// CloseParticipantDisconnected: the user the session listened to left
	// (room I/O closes the session with it).
	CloseParticipantDisconnected CloseReason = "participant_disconnected"
)

// CloseEvent is the last event of a session.
type CloseEvent struct {
	Reason CloseReason
	// Err is the error behind CloseError, or what CloseWith was given.
	Err error
}

func (UserStateChangedEvent) event()       {}
func (AgentStateChangedEvent) event()      {}
func (UserInputTranscribedEvent) event()   {}
func (ConversationItemAddedEvent) event()  {}
func (FunctionToolsExecutedEvent) event()  {}
func (SpeechCreatedEvent) event()          {}
func (AgentFalseInterruptionEvent) event() {}
func (MetricsEvent) event()                {}
func (ErrorEvent) event()                  {}
func (CloseEvent) event()                  {}
func (AgentHandoffEvent) event()           {}
func (EventsDroppedEvent) event()          {}

// Recoverable reports whether err says it is recoverable: some error in its
// chain has a Recoverable() bool method returning true. Errors that reach
// the session from a model are final (plugins retry first), so the default
// is false.
func Recoverable(err error) bool {
	for err != nil {
		if r, ok := err.(interface{ Recoverable() bool }); ok {
			return r.Recoverable()
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}
