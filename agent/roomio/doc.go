// Package roomio runs a session in a LiveKit room: it is the agent's
// microphone, speaker and captions there, and the glue that turns a worker
// job into a running session.
//
// [Connect] joins with a token (a job's, from package worker), publishes
// the agent's voice as an Opus track fed with 16-bit PCM
// (server-sdk-go's media.PCMLocalTrack) and waits until the track is bound
// (audio written before is silently dropped by the track), and links the
// user: the first standard or SIP participant, or the identity given with
// [WithParticipantIdentity]. The user's microphone is read as RTP and
// decoded by libopus at the rate the STT wants; a timeline (timeline.go)
// keeps it on the wall clock: browsers publish with Opus DTX and send few
// or no packets in silence, a muted or unpublished microphone sends none,
// and the session's VAD and endpointing count samples, so every gap (a
// timestamp jump, or no packet for longer than a frame and a margin)
// becomes silence of its length at its place. Each frame's CapturedAt is
// the time its first sample was spoken (RTP time on a clock set by the
// soonest packet arrivals), the filled silence included, so the VAD and
// the latency metrics work on the user's timeline.
//
// [Room.IO] gives the session its audio input, its audio output (a
// session.PausableAudioOutput and session.PlaybackPositioner: a feeder
// goroutine hands the track 10 ms at a time, 100 ms ahead of a playout
// clock, so the position heard is known and ClearBuffer stops the voice at
// once) and its text output (the agent's transcript on lk.transcription:
// one text stream per segment whose chunks are the words as they are
// heard, final by its trailer). [Room.HandleEvent] takes the session's
// events: agent states go to the lk.agent.state participant attribute,
// user transcripts to lk.transcription, sent on the user's behalf (the
// user is the stream's sender). The state and the transcripts are sent on
// two goroutines, so a state change never waits behind text; transcripts
// are LiveKit's data-stream packets written in stream.go, and each update
// also goes out in LiveKit's first transcription protocol (legacy.go), as
// LiveKit Agents sends it, for front-ends that read
// RoomEvent.TranscriptionReceived.
//
// The room's Done channel closes when the linked user leaves for good or
// does not come back after their connection dropped ([ErrUserLeft], see
// [WithUserReconnectTimeout]), the room closes ([ErrRoomClosed]) or the
// agent's connection is lost for good ([ErrDisconnected]); the SDK resumes
// dropped connections itself before that.
//
// [RunJob] and [EntryPoint] are the glue for package worker: a job's
// [Spec] (agent, session options) is run in the job's room until the user
// leaves or the job ends.
//
// This package is the cgo leaf of the framework (libopus through
// gopkg.in/hraban/opus.v2 and server-sdk-go's pkg/media, soxr for odd
// rates: libopus-dev, libopusfile-dev, libsoxr-dev, pkg-config); session,
// agent and agent/worker build without cgo.
package roomio
