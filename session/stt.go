package session

import "context"

// STT turns speech into text.
type STT interface {
	// Stream opens a recognition stream. Cancelling ctx ends it; the caller
	// closes it.
	Stream(ctx context.Context) (STTStream, error)
}

// STTStream recognises the audio pushed into it. Push/Flush/EndInput are
// called from one goroutine, Recv from another; Close may be called from
// any and unblocks both.
type STTStream interface {
	// Push sends audio.
	Push(f AudioFrame) error
	// Flush asks for a final transcript of what was pushed so far. The
	// session flushes when the VAD reports the end of speech, so an STT
	// that waits for more audio before finalising answers sooner.
	Flush() error
	// EndInput says no more audio follows; Recv returns io.EOF once
	// everything was recognised.
	EndInput() error
	// Recv returns the next event, io.EOF once after the last one, or the
	// error that ended the stream.
	Recv() (SpeechEvent, error)
	// Close ends the stream; idempotent.
	Close() error
}

// SpeechEventType is the kind of a [SpeechEvent].
type SpeechEventType int

// The speech events an STT stream emits.
const (
	// SpeechStarted: the recogniser heard speech begin.
	SpeechStarted SpeechEventType = iota + 1
	// SpeechInterim: a transcript that may still change.
	SpeechInterim
	// SpeechFinal: a transcript that will not change.
	SpeechFinal
	// SpeechEnded: the recogniser heard speech end.
	SpeechEnded
)

func (t SpeechEventType) String() string {
	switch t {
	case SpeechStarted:
		return "start_of_speech"
	case SpeechInterim:
		return "interim_transcript"
	case SpeechFinal:
		return "final_transcript"
	case SpeechEnded:
		return "end_of_speech"
	}
	return "unknown"
}

// SpeechEvent is one recognition result.
type SpeechEvent struct {
	Type SpeechEventType
	// Text is the transcript for interim and final events.
	Text string
	// Language is a BCP-47 tag when the recogniser knows it.
	Language string
	// Confidence is in [0, 1]; 0 when unknown.
	Confidence float64
}
