package session

import (
	"fmt"
	"log/slog"
	"time"
)

// Option configures a [Session].
type Option func(*options) error

type options struct {
	llm  LLM
	stt  STT
	tts  TTS
	vad  VAD
	turn TurnDetector

	minEndpointingDelay      time.Duration
	maxEndpointingDelay      time.Duration
	minInterruptionDuration  time.Duration
	minInterruptionWords     int
	falseInterruptionTimeout time.Duration
	userAwayTimeout          time.Duration
	maxToolSteps             int
	maxErrorsInRow           int
	preemptive               bool
	closeTimeout             time.Duration
	eventBuffer              int

	onEvent  func(Event)
	userData any
	logger   *slog.Logger
}

func defaultOptions() options {
	return options{
		minEndpointingDelay:      500 * time.Millisecond,
		maxEndpointingDelay:      3 * time.Second,
		minInterruptionDuration:  500 * time.Millisecond,
		falseInterruptionTimeout: 2 * time.Second,
		userAwayTimeout:          15 * time.Second,
		maxToolSteps:             3,
		maxErrorsInRow:           3,
		preemptive:               true,
		closeTimeout:             5 * time.Second,
		eventBuffer:              1024,
		logger:                   slog.Default(),
	}
}

// WithLLM sets the language model. A model with an Err() error method that
// returns an error (a plugin that defers construction errors) makes [New]
// fail with that error.
func WithLLM(l LLM) Option { return func(o *options) error { o.llm = l; return nil } }

// WithSTT sets speech recognition.
func WithSTT(s STT) Option { return func(o *options) error { o.stt = s; return nil } }

// WithTTS sets speech synthesis.
func WithTTS(t TTS) Option { return func(o *options) error { o.tts = t; return nil } }

// WithVAD sets voice activity detection. Without one, the STT's start and
// end of speech events stand in.
func WithVAD(v VAD) Option { return func(o *options) error { o.vad = v; return nil } }

// WithTurnDetector sets the model that decides whether the user finished.
func WithTurnDetector(t TurnDetector) Option {
	return func(o *options) error { o.turn = t; return nil }
}

func durationOption(name string, d time.Duration, field func(*options) *time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("session: %s must not be negative, got %v", name, d)
		}
		*field(o) = d
		return nil
	}
}

// WithMinEndpointingDelay sets how long after the end of speech a turn with
// a final transcript is committed (default 0.5 s).
func WithMinEndpointingDelay(d time.Duration) Option {
	return durationOption("min_endpointing_delay", d, func(o *options) *time.Duration { return &o.minEndpointingDelay })
}

// WithMaxEndpointingDelay sets how long the session waits when the turn
// detector says the user is not done (default 3 s).
func WithMaxEndpointingDelay(d time.Duration) Option {
	return durationOption("max_endpointing_delay", d, func(o *options) *time.Duration { return &o.maxEndpointingDelay })
}

// WithMinInterruptionDuration sets how long the user must speak over the
// agent to interrupt it (default 0.5 s).
func WithMinInterruptionDuration(d time.Duration) Option {
	return durationOption("min_interruption_duration", d, func(o *options) *time.Duration { return &o.minInterruptionDuration })
}

// WithFalseInterruptionTimeout sets how long after the user goes quiet a
// paused agent waits for a transcript before resuming (default 2 s); 0
// turns false interruption handling off, so any interruption stops the
// agent.
func WithFalseInterruptionTimeout(d time.Duration) Option {
	return durationOption("false_interruption_timeout", d, func(o *options) *time.Duration { return &o.falseInterruptionTimeout })
}

// WithUserAwayTimeout sets how long both sides must be quiet before the
// user counts as away (default 15 s); 0 never marks the user away.
func WithUserAwayTimeout(d time.Duration) Option {
	return durationOption("user_away_timeout", d, func(o *options) *time.Duration { return &o.userAwayTimeout })
}

// WithMinInterruptionWords sets how many transcribed words it takes to
// interrupt the agent (default 0: speech alone is enough).
func WithMinInterruptionWords(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("session: min_interruption_words must not be negative, got %d", n)
		}
		o.minInterruptionWords = n
		return nil
	}
}

// WithMaxToolSteps sets how many LLM steps may follow tool calls in one
// reply (default 3). The last of them is asked for words only
// (tool_choice none).
func WithMaxToolSteps(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("session: max_tool_steps must not be negative, got %d", n)
		}
		o.maxToolSteps = n
		return nil
	}
}

// WithPreemptiveGeneration turns preemptive generation on or off (default
// on): the LLM starts on a final transcript, before the turn is committed,
// and its answer is used if nothing changed by the commit.
func WithPreemptiveGeneration(on bool) Option {
	return func(o *options) error { o.preemptive = on; return nil }
}

// WithEventHandler sets the function that receives every [Event], in
// order, on a goroutine of the session's (as if passed to
// [Session.Subscribe] before Start; the last WithEventHandler wins). It
// should not call [Session.Close], which waits for it (up to the close
// grace); any other method is fine.
func WithEventHandler(fn func(Event)) Option {
	return func(o *options) error { o.onEvent = fn; return nil }
}

// WithEventBuffer sets how many events may wait for each subscriber
// (default 1024). A subscriber that falls further behind loses the events
// that do not fit and gets an [EventsDroppedEvent] saying how many, so a
// stuck handler cannot make the session hold events without bound.
func WithEventBuffer(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("session: event_buffer must be at least 1, got %d", n)
		}
		o.eventBuffer = n
		return nil
	}
}

// WithCloseTimeout sets how long Close waits for the work it cancelled
// (tools, hooks, model calls, event handlers) before it returns without it
// (default 5 s); the [ClosedError] it then returns names what it abandoned.
func WithCloseTimeout(d time.Duration) Option {
	return durationOption("close_timeout", d, func(o *options) *time.Duration { return &o.closeTimeout })
}

// WithUserData attaches a value of the application's to the session, for
// tools ([RunContext.UserData]) and hooks ([Session.UserData]).
func WithUserData(v any) Option {
	return func(o *options) error { o.userData = v; return nil }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("session: logger must not be nil")
		}
		o.logger = l
		return nil
	}
}
