package inference_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/livekit-go/agents/plugins/inference"
	"github.com/livekit-go/agents/session"
)

// The speech models a voice agent uses, built from model strings as LiveKit
// Agents writes them, with explicit credentials (without them, the
// environment's LIVEKIT_API_KEY and LIVEKIT_API_SECRET).
func ExampleSTT() {
	creds := inference.WithSpeechCredentials("APIkey", "secret")
	stt := inference.STT("deepgram/nova-3:en", creds,
		inference.WithSTTKeyterms("LiveKit"),
		inference.WithSTTModelOptions(inference.STTModelOptions{SmartFormat: new(true)}))
	tts := inference.TTS("cartesia/sonic-3:9626c31c-bec5-4cca-baa8-f8ba9e84c8bc", creds)
	defer tts.Close()
	fmt.Println(stt.Model(), stt.Language(), stt.Err())
	fmt.Println(tts.Model(), tts.Voice(), tts.SampleRate(), tts.Err())
	// Output:
	// deepgram/nova-3 en <nil>
	// cartesia/sonic-3 9626c31c-bec5-4cca-baa8-f8ba9e84c8bc 16000 <nil>
}

// Provider options from JSON configuration become the same validated value
// as typed ones; keys not listed pass through, and errors name the key.
func ExampleParseTTSModelOptions() {
	var cfg map[string]any
	_ = json.Unmarshal([]byte(`{"speed": "fast", "add_timestamps": true, "max_buffer_delay_ms": 100}`), &cfg)
	o, err := inference.ParseTTSModelOptions(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(*o.SpeedName, *o.AddTimestamps, o.Extra["max_buffer_delay_ms"], o.Validate())

	_, err = inference.NewSTT("deepgram/flux-general-en", inference.WithSpeechCredentials("APIkey", "secret"),
		inference.WithSTTModelOptionsMap(map[string]any{"eager_eot_threshold": 0.95}))
	fmt.Println(err)
	// Output:
	// fast true 100 <nil>
	// inference: eager_eot_threshold: 0.95 is outside 0.3..0.9
}

// Reading everything the gateway says, preflight transcripts and word
// times included, from a stream opened by the session or by hand.
func ExampleSTTStream_RecvEvent() {
	stt := inference.STT("deepgram/flux-general-en",
		inference.WithSTTModelOptions(inference.STTModelOptions{EagerEOTThreshold: new(0.5)}))
	if stt.Err() != nil {
		return // no credentials in this environment
	}
	st, err := stt.Stream(context.Background())
	if err != nil {
		return
	}
	defer st.Close()
	// Push queues without waiting for the network, so one goroutine can
	// push and then read; a live source pushes from its own goroutine.
	_ = st.Push(session.NewSilence(time.Second, 16000, 1))
	_ = st.EndInput()
	s := st.(*inference.STTStream)
	for {
		ev, err := s.RecvEvent()
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if ev.Type == inference.STTPreflight || ev.Type == inference.STTFinal {
			fmt.Println(ev.Type, ev.Text, ev.Start, ev.End)
		}
	}
}
