// Package agent is what a user writes a voice agent with: an [Agent]
// (instructions, tools, hooks, optional nodes), [NewSession] with its
// options ([WithLLM], [WithSTT], [WithTTS], [WithVAD], [WithTurnDetector],
// timings, [WithUserData]), and function tools generated from Go functions
// ([FunctionTool]), which reach their reply through [RunContextFrom].
//
// The session and the types it runs on live in package session (the turn
// loop needs them there, and plugins implement its contracts); this package
// names them so that an agent needs only one import besides its plugins.
// Dependencies point one way: agent imports session, never the reverse.
//
// Tool argument schemas are generated with github.com/google/jsonschema-go,
// which also validates the model's arguments before they are decoded.
//
// An agent's behaviour is tested a turn at a time with Session.Run and
// session/sessiontest.Expect, on a scripted or a real LLM.
//
// Beneath it, agent/worker takes jobs from LiveKit dispatch and
// agent/roomio connects a session to a LiveKit room.
package agent
