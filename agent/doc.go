// Package agent is what a user writes a voice agent with: an [Agent]
// (instructions, tools, hooks), [NewSession] with its options ([WithLLM],
// [WithSTT], [WithTTS], [WithVAD], [WithTurnDetector], timings), and
// function tools generated from Go functions ([FunctionTool]).
//
// The session and the types it runs on live in package session (the turn
// loop needs them there, and plugins implement its contracts); this package
// names them so that an agent needs only one import besides its plugins.
// Dependencies point one way: agent imports session, never the reverse.
//
// Tool argument schemas are generated with github.com/google/jsonschema-go,
// which also validates the model's arguments before they are decoded.
//
// Beneath it, agent/worker takes jobs from LiveKit dispatch and
// agent/roomio connects a session to a LiveKit room.
package agent
