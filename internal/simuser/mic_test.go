package simuser

import (
	"context"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

func newTestMic(t *testing.T, dtx bool) *mic {
	t.Helper()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: Rate, Channels: 2}, "audio", "mic")
	if err != nil {
		t.Fatal(err)
	}
	m, err := newMic(track, dtx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.close)
	return m
}

// The microphone sends a frame every 20 ms; the voice ends with the last
// loud frame and say returns when the last sample (quiet or not) was
// sent. With DTX, silence is mostly not sent.
func TestMicVoiceEndAndSay(t *testing.T) {
	m := newTestMic(t, true)
	voice := level(-13, Rate/10)                                             // 100 ms
	pcm := append(append([]int16(nil), voice...), make([]int16, Rate/10)...) // then 100 ms of silence
	start := time.Now()
	end, err := m.say(context.Background(), pcm)
	if err != nil {
		t.Fatal(err)
	}
	ve := m.lastVoice()
	if ve.Before(start) || !end.After(ve) {
		t.Fatalf("voice end %v, speech end %v after start %v", ve.Sub(start), end.Sub(start), start)
	}
	if d := end.Sub(ve); d < 60*time.Millisecond || d > 140*time.Millisecond {
		t.Errorf("speech ended %v after the voice, want about 100 ms", d)
	}
	time.Sleep(300 * time.Millisecond)
	sent, skipped := m.counts()
	if sent < 5 || skipped == 0 {
		t.Errorf("sent %d, skipped %d: want the voice sent and silence held back", sent, skipped)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.say(ctx, voice); err == nil {
		t.Error("say with an ended context: no error")
	}
}
