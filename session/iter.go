package session

import (
	"io"
	"iter"
)

// recvSeq adapts a Recv function to a sequence that ends after io.EOF (not
// yielded) or after yielding the first other error.
func recvSeq[T any](recv func() (T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			v, err := recv()
			if err == io.EOF {
				return
			}
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			if !yield(v, nil) {
				return
			}
		}
	}
}

// SpeechEvents adapts an STT stream to a range-over-func sequence, like
// [Chunks]; the caller still closes the stream.
func SpeechEvents(s STTStream) iter.Seq2[SpeechEvent, error] { return recvSeq(s.Recv) }

// SynthesizedFrames adapts a TTS stream to a range-over-func sequence, like
// [Chunks]; the caller still closes the stream.
func SynthesizedFrames(s TTSStream) iter.Seq2[SynthesizedAudio, error] { return recvSeq(s.Recv) }

// VADEvents adapts a VAD stream to a range-over-func sequence, like
// [Chunks]; the caller still closes the stream.
func VADEvents(s VADStream) iter.Seq2[VADEvent, error] { return recvSeq(s.Recv) }
