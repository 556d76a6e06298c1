package roomio

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/livekit/protocol/livekit"
)

// LiveKit's text streams, written as data packets: a header (topic,
// attributes, the sender), chunks of UTF-8 text, a trailer (attributes
// merged into the header's by the receivers: livekit-client and
// server-sdk-go). server-sdk-go's own stream writer is not used: it waits
// for the data channel to drain before each chunk (about 200 ms a stream
// here, so transcripts queued up behind each other) and cannot set the
// trailer's attributes nor the sender.

// maxChunk is the most bytes of text in one chunk (LiveKit's
// STREAM_CHUNK_SIZE).
const maxChunk = 15000

// dataSender sends a data packet reliably (the room's local participant,
// or a fake in tests); an error means it was not sent (not connected).
type dataSender interface {
	sendData(p *livekit.DataPacket) error
}

// rawPacket lets server-sdk-go publish a DataPacket built here.
type rawPacket struct{ p *livekit.DataPacket }

func (r rawPacket) ToProto() *livekit.DataPacket { return r.p }

// newStreamID returns a random UUID (version 4), as the SDKs use.
func newStreamID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}

// streamHeader opens text stream id on topic. sender, if set, is the
// participant the stream is sent for: the server keeps it on a text
// stream's header when an agent sends it, and receivers name that
// participant as the sender. total is the text's length when known.
func streamHeader(id, topic, sender string, attrs map[string]string, total int) *livekit.DataPacket {
	h := &livekit.DataStream_Header{
		StreamId:      id,
		Timestamp:     time.Now().UnixMilli(),
		Topic:         topic,
		MimeType:      "text/plain",
		Attributes:    attrs,
		ContentHeader: &livekit.DataStream_Header_TextHeader{TextHeader: &livekit.DataStream_TextHeader{OperationType: livekit.DataStream_CREATE}},
	}
	if total > 0 {
		n := uint64(total)
		h.TotalLength = &n
	}
	return &livekit.DataPacket{ParticipantIdentity: sender,
		Value: &livekit.DataPacket_StreamHeader{StreamHeader: h}}
}

// streamChunks cuts text into chunks of stream id, numbered from *next
// (advanced), each at most maxChunk bytes and cut between runes: a
// receiver decodes each chunk alone.
func streamChunks(id string, next *uint64, text string) []*livekit.DataPacket {
	var out []*livekit.DataPacket
	for len(text) > 0 {
		n := min(len(text), maxChunk)
		for n < len(text) && n > 0 && !utf8.RuneStart(text[n]) {
			n--
		}
		if n == 0 { // no rune start within a chunk: not UTF-8; cut anyway
			n = min(len(text), maxChunk)
		}
		out = append(out, &livekit.DataPacket{Value: &livekit.DataPacket_StreamChunk{
			StreamChunk: &livekit.DataStream_Chunk{StreamId: id, ChunkIndex: *next, Content: []byte(text[:n])},
		}})
		*next++
		text = text[n:]
	}
	return out
}

// streamTrailer closes stream id; attrs are merged into its header's.
func streamTrailer(id string, attrs map[string]string) *livekit.DataPacket {
	return &livekit.DataPacket{Value: &livekit.DataPacket_StreamTrailer{
		StreamTrailer: &livekit.DataStream_Trailer{StreamId: id, Attributes: attrs},
	}}
}

// sendAll sends packets in order and stops at the first that fails.
func sendAll(s dataSender, packets ...*livekit.DataPacket) error {
	for _, p := range packets {
		if err := s.sendData(p); err != nil {
			return err
		}
	}
	return nil
}

// sendText sends text as one whole stream: header, chunks, trailer.
func sendText(s dataSender, topic, sender, text string, attrs map[string]string) error {
	id := newStreamID()
	var next uint64
	packets := append([]*livekit.DataPacket{streamHeader(id, topic, sender, attrs, len(text))}, streamChunks(id, &next, text)...)
	return sendAll(s, append(packets, streamTrailer(id, nil))...)
}
