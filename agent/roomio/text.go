package roomio

// What LiveKit clients (the playground, components-js/react) read.
const (
	// TopicTranscription is the text-stream topic of transcriptions.
	TopicTranscription = "lk.transcription"
	// TopicChat is the text-stream topic of typed messages: the user's
	// are turns of the conversation.
	TopicChat = "lk.chat"
	// AttributeSegmentID names the segment a transcription stream belongs
	// to; a later stream with the same id replaces the text shown.
	AttributeSegmentID = "lk.segment_id"
	// AttributeTranscriptionFinal is "true" once the segment's text is
	// final: on the trailer of the agent's stream (whose chunks are the
	// deltas), on the header of the user's last stream.
	AttributeTranscriptionFinal = "lk.transcription_final"
	// AttributeTranscribedTrackID is the audio track the text transcribes.
	AttributeTranscribedTrackID = "lk.transcribed_track_id"
	// AttributeAgentState is the agent participant's attribute holding its
	// state: initializing, listening, thinking or speaking.
	AttributeAgentState = "lk.agent.state"
)
