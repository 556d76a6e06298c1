package silero_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/livekit-go/agents/plugins/silero"
)

func ExampleDetector_Push() {
	vad, err := silero.Load(silero.WithMinSilenceDuration(300 * time.Millisecond))
	if errors.Is(err, silero.ErrNotInstalled) {
		fmt.Println("run scripts/setup.sh first")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	defer vad.Close()
	d, err := vad.NewDetector()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()

	frame := make([]int16, 320) // 20 ms of 16 kHz audio from a mic or room
	events, err := d.Push(frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range events {
		if e.Type != silero.Inference {
			fmt.Println(e.Type, silero.Pos(e.SpeechStart))
		}
	}
}
