package pocketsphinx_test

import (
	"fmt"

	"github.com/livekit-go/agents/plugins/pocketsphinx"
)

func ExampleDecoder_Process() {
	d, err := pocketsphinx.New(pocketsphinx.WithGrammar(`#JSGF V1.0;
grammar lights;
public <cmd> = turn (on | off) the (kitchen | bedroom) lights;`))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()

	frame := make([]int16, 320) // 20 ms of 16 kHz audio from a mic or room
	events, err := d.Process(frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range events {
		fmt.Println(e.Type, e.Text)
	}
	final, err := d.Flush()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %q\n", final.Type, final.Text)
	// Output: final ""
}
