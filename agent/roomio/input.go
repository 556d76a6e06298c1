package roomio

import (
	"context"
	"io"
	"sync"
	"sync/atomic"

	"github.com/livekit/media-sdk"

	"github.com/livekit-go/agents/session"
)

// inputBuffer is how many decoded frames (about 20 ms each) wait for the
// session before the oldest are dropped: a stalled reader must not hold up
// the SDK's RTP loop or grow memory without bound.
const inputBuffer = 250

// audioInput is the user's microphone as a session.AudioInput. The decoder
// of the subscribed track (media.PCMRemoteTrack) writes into it; a new
// subscription after a reconnection writes into the same input.
type audioInput struct {
	rate    int
	frames  chan session.AudioFrame
	once    sync.Once
	done    chan struct{}
	dropped atomic.Int64
}

var _ session.AudioInput = (*audioInput)(nil)

func newAudioInput(rate int) *audioInput {
	return &audioInput{rate: rate, frames: make(chan session.AudioFrame, inputBuffer), done: make(chan struct{})}
}

// trackWriter adapts the input to media.PCMRemoteTrackWriter: the decoder
// closes its writer when the track ends, which must not end the input.
type trackWriter struct{ in *audioInput }

func (w trackWriter) WriteSample(s media.PCM16Sample) error { return w.in.write(s) }
func (w trackWriter) Close() error                          { return nil }

// write copies s into a frame and queues it without blocking.
func (in *audioInput) write(s media.PCM16Sample) error {
	if len(s) == 0 {
		return nil
	}
	select {
	case <-in.done:
		return nil
	default:
	}
	data := make([]int16, len(s))
	copy(data, s)
	f := session.AudioFrame{Data: data, SampleRate: in.rate, NumChannels: 1, SamplesPerChannel: len(data)}
	for {
		select {
		case in.frames <- f:
			return nil
		default:
		}
		select { // full: drop the oldest
		case <-in.frames:
			in.dropped.Add(1)
		default:
		}
	}
}

// RecvFrame implements session.AudioInput; io.EOF once the input was closed
// (the user left).
func (in *audioInput) RecvFrame(ctx context.Context) (session.AudioFrame, error) {
	select {
	case f := <-in.frames:
		return f, nil
	case <-in.done:
		return session.AudioFrame{}, io.EOF
	case <-ctx.Done():
		return session.AudioFrame{}, ctx.Err()
	}
}

func (in *audioInput) close() { in.once.Do(func() { close(in.done) }) }
