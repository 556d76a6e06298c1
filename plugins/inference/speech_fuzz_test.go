package inference

import (
	"context"
	"errors"
	"log/slog"
	"testing"
)

// Seeds are messages of every type the gateway sends, plus broken ones.
var sttSeeds = []string{
	`{"type":"session.created","session_id":"s"}`,
	`{"type":"start_of_speech"}`,
	`{"type":"interim_transcript","transcript":"hi","start":0.1,"duration":0.2}`,
	`{"type":"preflight_transcript","transcript":"hi there"}`,
	`{"type":"final_transcript","transcript":"hi","confidence":0.5,"words":[{"word":"hi","start":1e308,"end":-1,"speaker_id":null,"extra":[1]}],"speaker_id":"a","extra":{"a":1}}`,
	`{"type":"final_transcript","words":null,"extra":null,"start":"x"}`,
	`{"type":"session.finalized"}`,
	`{"type":"session.closed"}`,
	`{"type":"error","message":{"nested":true},"code":"429"}`,
	`{"type":"error","code":2007}`,
	`{"type":"unknown"}`,
	`[]`, `null`, `"x"`, `{`, ``,
}

// FuzzSTTMessage runs any message through the STT stream's handling: it
// must return an event, an error or nothing, never panic.
func FuzzSTTMessage(f *testing.F) {
	for _, s := range sttSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, inputEnded bool) {
		s := &STTStream{
			m:          &STTModel{model: "deepgram/nova-3", cfg: sttConfig{sampleRate: 16000, speechConfig: speechConfig{logger: slog.New(slog.DiscardHandler)}}},
			ctx:        context.Background(),
			out:        newOutbox[STTEvent](),
			inputEnded: inputEnded,
		}
		_, err := s.handle(b)
		if _, decErr := decodeSTTMessage(b); decErr != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("undecodable message gave %v, want *ProtocolError", err)
			}
		}
		for _, e := range s.out.items {
			if e.Type < STTSpeechStarted || e.Type > STTSpeechEnded || e.Start < 0 || e.End < e.Start {
				t.Fatalf("bad event %+v", e)
			}
		}
	})
}

// FuzzTTSMessage decodes any message as a TTS one: a result or a
// *ProtocolError, never a panic.
func FuzzTTSMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"session.created","session_id":"s"}`,
		`{"type":"output_audio","audio":"AAEC","session_id":"s"}`,
		`{"type":"output_audio","audio":"@@"}`,
		`{"type":"output_alignment","words":[{"word":"a","start":0,"end":1}],"chars":null}`,
		`{"type":"done","session_id":"s"}`,
		`{"type":"error","message":"m"}`,
		`{"type":"session.closed"}`,
		`{`, `1`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, pcm, err := decodeTTSMessage(b)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ProtocolError", err)
			}
			return
		}
		if m.Type != "output_audio" && pcm != nil {
			t.Fatalf("audio decoded for %q", m.Type)
		}
		_ = pcmSamples(pcm)
	})
}
