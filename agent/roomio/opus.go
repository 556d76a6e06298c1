package roomio

import (
	"gopkg.in/hraban/opus.v2"
)

// opusDecoder is libopus decoding one stream to mono (stereo packets, as
// browsers may send, are mixed down by the decoder).
type opusDecoder struct{ d *opus.Decoder }

func newOpusDecoder(rate int) (packetDecoder, error) {
	d, err := opus.NewDecoder(rate, 1)
	if err != nil {
		return nil, err
	}
	return opusDecoder{d}, nil
}

func (o opusDecoder) decode(payload []byte, pcm []int16) (int, error) {
	if len(payload) == 0 {
		return 0, nil
	}
	return o.d.Decode(payload, pcm)
}

func (o opusDecoder) conceal(pcm []int16) error { return o.d.DecodePLC(pcm) }
