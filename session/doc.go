// Package session is the voice turn loop of an agent and the contracts that
// loop consumes.
//
// The contracts are small interfaces owned here, so that every plugin
// (plugins/inference and any other) implements them without the session
// importing a plugin:
//
//   - [LLM] takes a [ChatRequest] (a [ChatContext] of messages, function calls
//     and their outputs, the [ToolDefinition]s the model may call, a
//     [ToolChoice], and per-call model options) and returns an [LLMStream] of
//     [ChatChunk]s: content deltas, complete tool calls and usage.
//   - [STT] opens an [STTStream]: push [AudioFrame]s, flush, receive
//     [SpeechEvent]s (start/end of speech, interim and final transcripts).
//   - [TTS] opens a [TTSStream]: push text, flush a segment, receive
//     [SynthesizedAudio] (a frame and the text it speaks).
//   - [VAD] opens a [VADStream] of [VADEvent]s; a [TurnDetector] says
//     whether the user finished.
//   - [AudioInput], [TextInput], [AudioOutput] (with the played position,
//     clear on interrupt; [PausableAudioOutput] for false interruptions,
//     [PlaybackPositioner] to pace the agent's transcript)
//     and [TextOutput] (word deltas paced by playout) connect a [Session]
//     to a room, a console or fakes, gathered in an [IO].
//   - A [Tool] is a function the model may call (its [RunContext] travels
//     in its ctx); an [Agent] is instructions, tools, hooks and optional
//     nodes that transform the LLM call, the text spoken and the
//     transcript.
//
// Streams follow one shape: Recv returns io.EOF once at a clean end, Close is
// idempotent and safe while Recv is blocked, and the context passed when the
// stream was opened cancels it. [Chunks], [SpeechEvents],
// [SynthesizedFrames] and [VADEvents] adapt streams to iter.Seq2.
//
// A [Session] runs the turn loop: one goroutine owns its state (who speaks,
// the current speech, history) and everything else posts work to it; it
// runs no user code but the logger's handler. VAD and STT events drive endpointing; a committed turn
// goes into history and becomes a [SpeechHandle] whose task streams LLM
// text through a sentence splitter into TTS and the audio output (or
// straight to the text output in text mode), runs tool calls as they
// arrive, and reports what was heard so history keeps only that. Each
// speech has its own context, cancelled with [ErrInterrupted] on barge-in,
// which cancels its tools too. Events reach any number of subscribers
// ([WithEventHandler], [Session.Subscribe], [Session.Events]) through
// bounded queues; [Session.Err] and [Session.Wait] say why it closed.
// [Session.Run] plays one user turn for a test; package sessiontest has
// fakes of every contract and checks a run's result.
//
// The package imports no plugin and no LiveKit code and builds with
// CGO_ENABLED=0.
package session
