// Package pocketsphinx is local speech recognition with CMU PocketSphinx
// (Debian's 0.8 "5prealpha" build) over cgo, for 16 kHz mono English.
//
// A [Decoder] recognizes one stream. [Decoder.Process] takes PCM of any
// length and returns [Event]s: SpeechStarted when pocketsphinx's own voice
// detector hears speech, Interim whenever the best hypothesis changes, and
// Final when that detector hears the utterance end (about half a second of
// silence) or when [Decoder.Flush] is called.
//
// What is recognized depends on the search:
//   - by default, the model's general English trigram model (large
//     vocabulary, a few times real time, errors on unusual words);
//   - [WithGrammar]: a JSGF grammar, the most accurate for command-like
//     domains and the fastest;
//   - [WithKeywords] or [WithKeywordList]: keyphrase spotting in free
//     speech; Text lists the phrases heard, in order.
//
// [STT] adapts this to session.STT: one Decoder per stream, room audio of
// any rate brought to 16 kHz mono, a final result followed by end of speech.
//
// A Decoder holds a C decoder (the dictionary alone is tens of MB) and is not
// safe for concurrent use; Close frees it. Decoder creation and release are
// serialized process-wide because sphinxbase keeps global state; decoding
// runs in parallel. sphinxbase's logging is switched off for the process and
// its error messages are returned in errors instead.
package pocketsphinx
