package session

import (
	"context"
	"time"
)

// VAD detects voice activity.
type VAD interface {
	// Stream opens a detection stream. Cancelling ctx ends it; the caller
	// closes it.
	Stream(ctx context.Context) (VADStream, error)
}

// VADStream reports speech in the audio pushed into it. Push is called from
// one goroutine, Recv from another; Close may be called from any and
// unblocks both.
type VADStream interface {
	Push(f AudioFrame) error
	// Recv returns the next event, io.EOF once after the last one, or the
	// error that ended the stream.
	Recv() (VADEvent, error)
	Close() error
}

// VADEventType is the kind of a [VADEvent].
type VADEventType int

// The events a VAD stream emits.
const (
	VADStartOfSpeech VADEventType = iota + 1
	VADEndOfSpeech
	// VADInference carries a probability update; optional.
	VADInference
)

// VADEvent is a change in voice activity.
type VADEvent struct {
	Type VADEventType
	// Probability of speech in the latest window, in [0, 1].
	Probability float64
	// SpeechDuration is how long the current speech has lasted (at start
	// of speech: how much speech it took to decide).
	SpeechDuration time.Duration
	// SpeechEndedAt is, for VADEndOfSpeech, the moment the user's voice
	// stopped (not the moment the silence was long enough to say so), on
	// the user's timeline: from the [AudioFrame.CapturedAt] of the audio
	// when the frames carry it, else estimated from the time the audio was
	// pushed. The endpointing delay and the turn's end of utterance and
	// e2e metrics are measured from it. Zero means "now"; a time after now
	// is taken as now.
	SpeechEndedAt time.Time
}

// TurnDetector decides whether the user finished their turn, from what was
// said. The session asks it once a final transcript follows end of speech;
// when it says the user is not done, the session waits up to the maximum
// endpointing delay instead of the minimum.
type TurnDetector interface {
	// EndOfTurn returns the probability that the last user message in
	// chat ends the turn, and whether that clears the detector's
	// threshold.
	EndOfTurn(ctx context.Context, chat *ChatContext) (TurnPrediction, error)
}

// TurnPrediction is a [TurnDetector]'s answer.
type TurnPrediction struct {
	Probability float64
	Done        bool
}
