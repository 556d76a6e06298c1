package flite_test

import (
	"context"
	"fmt"

	"github.com/livekit-go/agents/plugins/flite"
)

func ExampleTTS_Synthesize() {
	tts, err := flite.New(flite.WithVoice(flite.VoiceSLT))
	if err != nil {
		fmt.Println(err)
		return
	}
	pcm, err := tts.Synthesize(context.Background(), "Hello from flite.")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(pcm) > flite.SampleRate/2) // more than half a second of speech
	// Output: true
}
