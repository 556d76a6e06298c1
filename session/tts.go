package session

import "context"

// TTS turns text into speech.
type TTS interface {
	// Stream opens a synthesis stream. Cancelling ctx ends it; the caller
	// closes it.
	Stream(ctx context.Context) (TTSStream, error)
}

// TTSStream synthesises the text pushed into it. PushText/Flush/EndInput are
// called from one goroutine, Recv from another; Close may be called from any
// and unblocks both.
type TTSStream interface {
	// PushText adds text to the current segment.
	PushText(text string) error
	// Flush ends the current segment: synthesise it now, without waiting
	// for more text. The session flushes after every sentence.
	Flush() error
	// EndInput says no more text follows; Recv returns io.EOF once all
	// audio was delivered.
	EndInput() error
	// Recv returns the next piece of audio, io.EOF once after the last,
	// or the error that ended the stream.
	Recv() (SynthesizedAudio, error)
	// Close ends the stream; idempotent.
	Close() error
}

// SynthesizedAudio is a frame of speech and the text it speaks.
type SynthesizedAudio struct {
	Frame AudioFrame
	// Text is the text of the segment (the flushed sentence) the frame
	// belongs to; every frame of a segment carries the same text.
	Text string
	// SegmentEnd marks the last frame of a segment.
	SegmentEnd bool
}
