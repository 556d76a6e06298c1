package inference

import (
	"testing"
	"time"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

// TestSessionTurnThroughTheGateway runs one voice turn of a real session
// with this package's STT and TTS against the loopback gateway: the user's
// audio reaches /stt, the final transcript becomes the user's turn, the
// reply is spoken through /tts and its audio reaches the output.
func TestSessionTurnThroughTheGateway(t *testing.T) {
	sttGW := newWSGateway(t, func(c *gwConn) {
		c.expect("session.create")
		c.expect("input_audio")
		c.send(map[string]any{"type": "start_of_speech"})
		c.send(map[string]any{"type": "interim_transcript", "transcript": "what time"})
		c.send(map[string]any{"type": "final_transcript", "transcript": "What time is it?"})
		c.drain()
	})
	ttsGW := newWSGateway(t, ttsScript(1600))
	llm := sessiontest.NewLLM(sessiontest.Response{Text: "It is noon."})
	out := &sessiontest.DiscardAudioOutput{}
	said := make(chan string, 4)
	s, err := session.New(
		session.WithSTT(newTestSTT(t, sttGW.URL, "deepgram/nova-3:en")),
		session.WithTTS(newTestTTS(t, ttsGW.URL, "cartesia/sonic-3")),
		session.WithLLM(llm),
		session.WithMinEndpointingDelay(10*time.Millisecond),
		session.WithEventHandler(func(e session.Event) {
			if e, ok := e.(session.ConversationItemAddedEvent); ok {
				if m, ok := e.Item.(*session.ChatMessage); ok {
					said <- string(m.Role) + ": " + m.Content
				}
			}
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	in := sessiontest.NewAudioInput()
	if err := s.Start(t.Context(), &session.Agent{Instructions: "Answer briefly."}, session.IO{Audio: in, AudioOut: out}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 10 {
		in.Push(ramp(160, i*160))
	}
	for _, want := range []string{"user: What time is it?", "assistant: It is noon."} {
		select {
		case got := <-said:
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		case <-t.Context().Done():
			t.Fatal("test context ended")
		}
	}
	if out.Frames() != 5 { // 1600 samples in 20 ms frames
		t.Errorf("%d frames played, want 5", out.Frames())
	}
	var spoken []string
	for _, m := range ttsGW.conn(0).received() {
		if m["type"] == "input_transcript" {
			spoken = append(spoken, m["transcript"].(string))
		}
	}
	if len(spoken) != 1 || spoken[0] != "It is noon. " {
		t.Errorf("sent to TTS: %q", spoken)
	}
	in.Close()
}
