package simuser

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"math"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"gopkg.in/hraban/opus.v2"

	"github.com/livekit-go/agents/internal/loudness"
)

// Frame is the microphone's packet duration, a browser's (20 ms Opus
// frames).
const Frame = 20 * time.Millisecond

// VoiceRMS is the level (RMS of a 20 ms frame, int16 units: -36 dBFS)
// above which the user's own voice is loud: the end of its voice is the
// send time of the last frame above it. It is internal/loudness's voice
// level, the end of speech as the agent's VAD sees it
// (agent/roomio/internal/tonespeech, plugins/silero), so it is not
// AudibleDBFS, which is what the user hears: a room's noise
// ([WithNoise]) may sit between the two.
const VoiceRMS = loudness.VoiceRMS

const frameSamples = Rate / 50

// mic is the user's microphone as a browser sends it: every 20 ms one frame
// of captured audio (queued speech, or the room's quiet) encoded by libopus
// and sent as RTP whose timestamp follows the capture clock. With DTX on,
// as livekit-client publishes by default, the encoder's DTX frames (one or
// two bytes: "nothing changed") are not sent, as libwebrtc does not send
// them: in silence few or no packets leave, the sequence number goes on by
// one per packet sent and the timestamp jumps over what was not.
type mic struct {
	track *webrtc.TrackLocalStaticRTP
	enc   *opus.Encoder
	dtx   bool
	noise float64 // RMS of the quiet between words

	mu        sync.Mutex
	queue     []int16   // speech not yet captured
	voiceEnd  time.Time // when the last loud frame was sent
	spokenEnd time.Time // when the frame that took the last queued sample was sent
	drained   chan struct{}
	muted     bool
	sent      int // packets sent
	skipped   int // frames not sent (DTX)
	seq       uint16
	ts        uint32
	gap       bool // frames were skipped since the last packet sent
	rnd       uint64
	writeErrs int

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

func newMic(track *webrtc.TrackLocalStaticRTP, dtx bool, noise float64) (*mic, error) {
	enc, err := opus.NewEncoder(Rate, 1, opus.AppVoIP)
	if err != nil {
		return nil, err
	}
	if err := enc.SetDTX(dtx); err != nil {
		return nil, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	m := &mic{track: track, enc: enc, dtx: dtx, noise: noise, stop: make(chan struct{}),
		seq: binary.BigEndian.Uint16(b[:2]), ts: binary.BigEndian.Uint32(b[2:6]), rnd: binary.BigEndian.Uint64(b[:]) | 1}
	m.wg.Add(1)
	go func() { // exits when close is called
		defer m.wg.Done()
		m.run()
	}()
	return m, nil
}

// run captures one frame every 20 ms on a clock that does not drift.
func (m *mic) run() {
	start := time.Now()
	pcm := make([]int16, frameSamples)
	buf := make([]byte, 1500)
	for k := 1; ; k++ {
		t := time.NewTimer(time.Until(start.Add(time.Duration(k) * Frame)))
		select {
		case <-m.stop:
			t.Stop()
			return
		case <-t.C:
		}
		m.capture(pcm, buf)
	}
}

// capture takes the next 20 ms, encodes it and sends it (or not).
func (m *mic) capture(pcm []int16, buf []byte) {
	m.mu.Lock()
	n := copy(pcm, m.queue)
	m.queue = m.queue[n:]
	for i := n; i < len(pcm); i++ {
		pcm[i] = m.quietSample()
	}
	loud := loudness.RMS(pcm) > VoiceRMS
	emptied := n > 0 && len(m.queue) == 0
	muted := m.muted
	m.mu.Unlock()
	if muted {
		// A muted microphone captures silence; livekit-client also
		// tells the server, which stops forwarding.
		clear(pcm)
	}
	size, err := m.enc.Encode(pcm, buf)
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	ts := m.ts
	m.ts += frameSamples
	if loud && !muted {
		m.voiceEnd = now
	}
	if emptied {
		m.spokenEnd = now
		if m.drained != nil {
			close(m.drained)
			m.drained = nil
		}
	}
	if err != nil || (m.dtx && size <= 2) {
		m.skipped++
		m.gap = true
		return
	}
	p := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: m.gap, SequenceNumber: m.seq, Timestamp: ts}, Payload: buf[:size]}
	m.gap = false
	m.seq++
	m.sent++
	if err := m.track.WriteRTP(p); err != nil { // under m.mu: a new track takes over cleanly
		m.writeErrs++
	}
}

// quietSample is the room's quiet: white noise at m.noise RMS, or zero.
func (m *mic) quietSample() int16 {
	if m.noise == 0 {
		return 0
	}
	// xorshift64*: cheap and good enough for noise.
	m.rnd ^= m.rnd >> 12
	m.rnd ^= m.rnd << 25
	m.rnd ^= m.rnd >> 27
	u := float64((m.rnd*2685821657736338717)>>11) / float64(1<<53)
	return int16(m.noise * math.Sqrt(3) * (2*u - 1))
}

// speak queues pcm and returns a channel closed once its last frame was
// captured.
func (m *mic) speak(pcm []int16) <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queue = append(m.queue, pcm...)
	if m.drained == nil {
		m.drained = make(chan struct{})
	}
	return m.drained
}

// say queues pcm and waits until its last sample was sent; it returns
// when that was. If ctx ends first, what is not yet sent is dropped.
func (m *mic) say(ctx context.Context, pcm []int16) (time.Time, error) {
	if len(pcm) == 0 {
		return time.Now(), nil
	}
	select {
	case <-m.speak(pcm):
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.spokenEnd, nil
	case <-ctx.Done():
		m.mu.Lock()
		m.queue = nil
		if m.drained != nil {
			close(m.drained)
			m.drained = nil
		}
		m.mu.Unlock()
		return time.Time{}, ctx.Err()
	}
}

// setTrack sends from now on to track (a new publication).
func (m *mic) setTrack(track *webrtc.TrackLocalStaticRTP) {
	m.mu.Lock()
	m.track = track
	m.mu.Unlock()
}

func (m *mic) setMuted(muted bool) {
	m.mu.Lock()
	m.muted = muted
	m.mu.Unlock()
}

// lastVoice is when the last loud frame was sent.
func (m *mic) lastVoice() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.voiceEnd
}

// counts returns the packets sent and the frames DTX did not send.
func (m *mic) counts() (sent, skipped int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sent, m.skipped
}

func (m *mic) close() {
	m.stopOnce.Do(func() { close(m.stop) })
	m.wg.Wait()
}
