package silero

import (
	"errors"
	"os"
	"testing"

	"github.com/livekit-go/agents/plugins/pocketsphinx"
)

// TestLocalStack runs the three local engines together: flite speaks two
// commands with a pause, Silero cuts the audio into segments, and
// pocketsphinx, given only each segment's audio (with its prefix padding),
// must hear each command exactly.
func TestLocalStack(t *testing.T) {
	v := load(t)
	d, err := pocketsphinx.New(pocketsphinx.WithGrammar("#JSGF V1.0; grammar g; public <s> = turn (on | off) the (kitchen | bedroom) lights;"))
	if errors.Is(err, pocketsphinx.ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	said := []string{"turn on the kitchen lights", "turn off the bedroom lights"}
	audio := concat(make([]int16, SampleRate/2), speech(t, said[0]), make([]int16, SampleRate), speech(t, said[1]), make([]int16, SampleRate))
	var heard []string
	for _, e := range detect(t, v, audio, 320) {
		if e.Type != EndOfSpeech {
			continue
		}
		if _, err := d.Process(e.Audio); err != nil {
			t.Fatal(err)
		}
		final, err := d.Flush()
		if err != nil {
			t.Fatal(err)
		}
		heard = append(heard, final.Text)
	}
	if len(heard) != 2 || heard[0] != said[0] || heard[1] != said[1] {
		t.Errorf("heard %q, want %q", heard, said)
	}
}
