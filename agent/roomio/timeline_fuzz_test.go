package roomio

import (
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"
)

// opusPackets encodes d of a tone then d of silence with libopus (DTX on)
// as RTP, dropping DTX frames as libwebrtc does.
func opusPackets(t testing.TB, d time.Duration) []*rtp.Packet {
	return opusPacketsOf(t, d, 1)
}

// opusPacketsOf is opusPackets from a microphone of 1 or 2 channels; with
// 2, the tone is in the left channel only and the right one is silent.
func opusPacketsOf(t testing.TB, d time.Duration, channels int) []*rtp.Packet {
	enc, err := opus.NewEncoder(rtpRate, channels, opus.AppVoIP)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.SetDTX(true); err != nil {
		t.Fatal(err)
	}
	var out []*rtp.Packet
	pcm := make([]int16, 960*channels)
	buf := make([]byte, 1500)
	seq := uint16(65530) // wraps
	frames := int(2 * d / fillFrame)
	for f := range frames {
		for i := range 960 {
			v := int16(0)
			if f < frames/2 {
				v = int16(8000 * math.Sin(2*math.Pi*440*float64(f*960+i)/rtpRate))
			}
			pcm[i*channels] = v // left (or the only) channel; right stays 0
		}
		n, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		if n <= 2 {
			continue
		}
		out = append(out, &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 42, SequenceNumber: seq, Timestamp: uint32(math.MaxUint32 - 4800 + f*960)},
			Payload: append([]byte(nil), buf[:n]...)})
		seq++
	}
	return out
}

// FuzzTimeline feeds the timeline what a network may deliver: bytes parsed
// as RTP (pion), decoded by libopus, in any order and timing. Records are
// [ms to wait][length][length bytes of RTP]; a length of 0 is only the
// wait. Nothing may panic, and the output may not run away from the wall
// clock.
func FuzzTimeline(f *testing.F) {
	var seed []byte
	for i, p := range opusPackets(f, 300*time.Millisecond) {
		b, err := p.Marshal()
		if err != nil || len(b) > 255 {
			continue
		}
		wait := byte(20)
		if i%7 == 3 {
			wait = 0 // bunched, then a gap
		}
		seed = append(seed, wait, byte(len(b)))
		seed = append(seed, b...)
	}
	f.Add(seed)
	f.Add([]byte{200, 0, 20, 12, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		// A few hundred packets tell all; longer inputs only take longer
		// (each record may fill up to 255 ms of wall clock).
		data = data[:min(len(data), 8192)]
		var samples int
		now := time.Unix(1000, 0)
		tl := newTimeline(testRate, func() (packetDecoder, error) { return newOpusDecoder(testRate) }, func(p []int16, at time.Time) {
			samples += len(p)
			// Audio stands for time already passed: a packet's arrival,
			// silence up to a margin before now, or up to a packet that
			// came (whose timestamp may say a margin more).
			if end := at.Add(samplesDur(len(p), testRate)); end.After(now.Add(maxMargin)) {
				t.Fatalf("%d samples emitted at %v stand for the time up to %v", len(p), now, end)
			}
		})
		tl.start(now)
		events := 0
		for len(data) >= 2 {
			now = now.Add(time.Duration(data[0]) * time.Millisecond)
			n := int(data[1])
			data = data[2:]
			if n > len(data) {
				n = len(data)
			}
			var p rtp.Packet
			if n > 0 && p.Unmarshal(data[:n]) == nil {
				tl.packet(now, &p)
				events++
			}
			data = data[n:]
			tl.fill(now)
			events++
			if tl.s != nil && len(tl.s.held) > maxHeld {
				t.Fatalf("%d packets held, at most %d", len(tl.s.held), maxHeld)
			}
		}
		// Each event emits at most a packet (120 ms) and a bounded burst.
		limit := durSamples(time.Duration(events)*(maxBurst+120*time.Millisecond), testRate)
		if samples > limit {
			t.Fatalf("%d samples from %d events", samples, events)
		}
	})
}

// Real Opus from a DTX sender, through the timeline: the voice and the
// silence come out as long as they were sent, the silence exactly where
// the sender stopped sending.
func TestTimelineRealOpusWithDTX(t *testing.T) {
	checkRealOpusWithDTX(t, opusPackets(t, time.Second), 4500, 6500) // the tone's RMS is 5657
}

// A browser may publish 48 kHz stereo Opus (livekit-client's stereo
// publish options, or a stereo capture device): the input mixes it down,
// so a voice in one channel reaches the agent at half its level, on the
// same timeline as mono, DTX included.
func TestStereoMicrophoneIsMixedDownOnTheTimeline(t *testing.T) {
	checkRealOpusWithDTX(t, opusPacketsOf(t, time.Second, 2), 2200, 3400) // half of it
}

// checkRealOpusWithDTX plays pkts (a second of the tone, a second of
// silence) through the timeline and checks the audio's length, that the
// voice's RMS is within [minVoice, maxVoice] and that the silence is quiet.
func checkRealOpusWithDTX(t *testing.T, pkts []*rtp.Packet, minVoice, maxVoice float64) {
	t.Helper()
	rec := &recorder{}
	tl := newTimeline(testRate, func() (packetDecoder, error) { return newOpusDecoder(testRate) }, rec.emit)
	t0 := time.Unix(1000, 0)
	tl.start(t0)
	base := pkts[0].Timestamp
	for _, p := range pkts {
		at := t0.Add(ticksDur(int64(p.Timestamp-base) + ms20))
		tl.fill(at)
		tl.packet(at, p)
	}
	end := t0.Add(2*time.Second + 20*time.Millisecond)
	tl.fill(end)
	got := float64(len(rec.pcm)) / 16
	if got < 2000-float64(minMargin/time.Millisecond)-20 || got > 2000 {
		t.Errorf("%.1f ms of audio for 2 s sent (%d packets)", got, len(pkts))
	}
	// Loud in the first second, quiet in the second.
	loud := func(from, to int) float64 {
		var sum float64
		for _, v := range rec.pcm[from:to] {
			sum += float64(v) * float64(v)
		}
		return math.Sqrt(sum / float64(to-from))
	}
	voice := loud(1600, 16000-1600)
	if voice < minVoice || voice > maxVoice {
		t.Errorf("voice RMS %.0f, want the tone (%.0f to %.0f)", voice, minVoice, maxVoice)
	}
	if v := loud(16000+3200, len(rec.pcm)); v > 100 {
		t.Errorf("silence RMS %.0f, want quiet", v)
	}
	if len(pkts) > 75 {
		t.Errorf("%d packets for 1 s of voice and 1 s of silence: DTX did not hold any back", len(pkts))
	}
	t.Logf("%d packets, %d samples out, voice RMS %.0f: %+v", len(pkts), len(rec.pcm), voice, tl.stats)
}
