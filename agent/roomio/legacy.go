package roomio

import "github.com/livekit/protocol/livekit"

// LiveKit's first transcription protocol: a DataPacket.Transcription per
// update, naming the transcribed participant and track, with the segment's
// whole text so far. livekit-client emits it as RoomEvent.TranscriptionReceived
// (and on the participant and the publication), which front-ends written
// before text streams read (components-js's useTrackTranscription). LiveKit
// Agents (Python and Node) send it next to the lk.transcription text
// streams, under a segment id of its own; so does this package, under the
// same segment id as the stream. The server forwards it only from an agent.

// transcriptionPacket is one update of segment: its text so far, final
// when the segment ends.
func transcriptionPacket(identity, trackID, segment, text string, final bool) *livekit.DataPacket {
	return &livekit.DataPacket{Value: &livekit.DataPacket_Transcription{Transcription: &livekit.Transcription{
		TranscribedParticipantIdentity: identity,
		TrackId:                        trackID,
		Segments:                       []*livekit.TranscriptionSegment{{Id: segment, Text: text, Final: final}},
	}}}
}

// sendLegacy sends an update when both the participant and its track are
// known (LiveKit Agents skips it otherwise: receivers look the track up).
// A packet that could not be sent is not sent again: the next update,
// and the final one, carry the whole text.
func sendLegacy(s dataSender, identity, trackID, segment, text string, final bool) {
	if identity == "" || trackID == "" {
		return
	}
	_ = s.sendData(transcriptionPacket(identity, trackID, segment, text, final))
}
