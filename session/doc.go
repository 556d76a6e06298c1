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
//
// Streams follow one shape: Recv returns io.EOF once at a clean end, Close is
// idempotent and safe while Recv is blocked, and the context passed when the
// stream was opened cancels it. [Chunks] adapts a stream to an iter.Seq2.
//
// The package imports no plugin and no LiveKit code and builds with
// CGO_ENABLED=0.
package session
