package silero

import _ "embed"

// embeddedModel is Silero VAD v5 (MIT), as LiveKit's Silero plugins ship
// it: the file and its provenance are silero_vad.onnx and
// silero_vad.onnx.LICENSE next to this file. Embedding it means a built
// program needs only the ONNX Runtime library at run time.
//
//go:embed silero_vad.onnx
var embeddedModel []byte

// EmbeddedModel names the model [Load] uses when no path is given.
const EmbeddedModel = "embedded silero_vad.onnx (v5, from @livekit/agents-plugin-silero@1.9.0)"
