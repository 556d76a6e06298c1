package roomio

import (
	"github.com/livekit/media-sdk"

	"github.com/livekit-go/agents/internal/resample"
)

// opusRate is the rate Opus decodes to and the track encodes from.
const opusRate = 48000

// The SDK's tracks resample with soxr, which measured about 20 ms of delay
// per pass on this loopback (two passes in each direction with a 16 kHz
// agent and client). For rates that divide 48 kHz the room converts itself,
// with internal/resample's short windowed-sinc FIR (under half a
// millisecond of delay).

// upsampleSink brings 10 ms chunks at the TTS rate to 48 kHz before the
// track, which then encodes them without resampling.
type upsampleSink struct {
	sink pcmSink
	up   *resample.Upsampler // used by the output's feeder alone, under its lock
}

func (s *upsampleSink) WriteSample(p media.PCM16Sample) error {
	return s.sink.WriteSample(s.up.Process(p))
}

func (s *upsampleSink) ClearQueue() { s.sink.ClearQueue() }
