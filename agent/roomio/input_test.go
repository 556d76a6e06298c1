package roomio

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// fakeTrack is a subscribed track: the test sends its packets.
type fakeTrack struct {
	pkts chan *rtp.Packet
	once sync.Once
}

func newFakeTrack() *fakeTrack { return &fakeTrack{pkts: make(chan *rtp.Packet)} }

func (f *fakeTrack) ReadRTP() (*rtp.Packet, interceptor.Attributes, error) {
	p, ok := <-f.pkts
	if !ok {
		return nil, nil, io.EOF
	}
	return p, nil, nil
}

func (f *fakeTrack) end() { f.once.Do(func() { close(f.pkts) }) }

// heard is what the session read, with when.
type heard struct {
	mu      sync.Mutex
	samples int // at 16 kHz
	loud    int
	lastAt  time.Time
}

func (h *heard) ms() float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return float64(h.samples) / 16
}

// readAll reads the input until ctx ends, as the session does.
func readAll(ctx context.Context, in *audioInput, h *heard) {
	for {
		f, err := in.RecvFrame(ctx)
		if err != nil {
			return
		}
		h.mu.Lock()
		h.samples += len(f.Data)
		for _, v := range f.Data {
			if v != 0 {
				h.loud++
			}
		}
		h.lastAt = time.Now()
		h.mu.Unlock()
	}
}

func newFakeInput() *audioInput {
	return newAudioInputWith(testRate, func(rate int) (packetDecoder, error) { return fakeDecoder{rate}, nil })
}

// The session reads the microphone at the pace of the wall clock whatever
// the sender does: talking (a packet every 20 ms), quiet under DTX (no
// packet for a second), muted (nothing for longer), or gone (the track
// ends). Each time the input has produced as much audio as time passed,
// give or take the margin and a frame.
func TestInputFollowsTheWallClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newFakeInput()
		ctx, cancel := context.WithCancel(t.Context())
		h := &heard{}
		done := make(chan struct{})
		go func() { // exits when ctx is cancelled
			defer close(done)
			readAll(ctx, in, h)
		}()
		synctest.Wait()
		t0 := time.Now()
		check := func(what string) {
			t.Helper()
			synctest.Wait()
			el := float64(time.Since(t0)) / float64(time.Millisecond)
			got := h.ms()
			if got > el+0.1 || got < el-float64((minMargin+fillFrame)/time.Millisecond) {
				t.Errorf("%s: %.1f ms of audio after %.0f ms", what, got, el)
			}
		}
		time.Sleep(200 * time.Millisecond)
		check("no track yet")

		tr := newFakeTrack()
		in.listen("TR_1", tr)
		seq, ts := uint16(100), uint32(5000)
		send := func(level byte) {
			tr.pkts <- &rtp.Packet{Header: rtp.Header{SSRC: 3, SequenceNumber: seq, Timestamp: ts}, Payload: []byte{level, 20}}
			seq++
			ts += ms20
		}
		for range 25 { // 500 ms of voice
			time.Sleep(20 * time.Millisecond)
			send(1)
		}
		check("talking")
		for range 10 { // DTX: 1 s with no packet...
			time.Sleep(100 * time.Millisecond)
			ts += 5 * ms20
			check("quiet under DTX")
		}
		time.Sleep(20 * time.Millisecond)
		send(2) // ...then the next, its timestamp over the gap
		check("after DTX")
		time.Sleep(3 * time.Second) // muted: the server forwards nothing
		check("muted")
		tr.end()
		time.Sleep(time.Second)
		check("track gone")
		if st, _ := in.counters(); st.packets != 26 || st.stretch != 0 || st.lost != 0 {
			t.Errorf("timeline stats %+v, want 26 packets played in place", st)
		}
		if h.loud != 26*320 {
			t.Errorf("%d samples of voice read, want %d", h.loud, 26*320)
		}
		cancel()
		<-done
		in.shutdown()
	})
}

// A new track (the user republished, or came back after a reconnection)
// feeds the same input; the old one is ignored from then on.
func TestInputSwitchesTracks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newFakeInput()
		ctx, cancel := context.WithCancel(t.Context())
		h := &heard{}
		done := make(chan struct{})
		go func() { // exits when ctx is cancelled
			defer close(done)
			readAll(ctx, in, h)
		}()
		a, b := newFakeTrack(), newFakeTrack()
		in.listen("TR_a", a)
		a.pkts <- &rtp.Packet{Header: rtp.Header{SSRC: 1, SequenceNumber: 1}, Payload: []byte{1, 20}}
		synctest.Wait()
		in.listen("TR_b", b)
		time.Sleep(20 * time.Millisecond)
		b.pkts <- &rtp.Packet{Header: rtp.Header{SSRC: 2, SequenceNumber: 9}, Payload: []byte{2, 20}}
		a.pkts <- &rtp.Packet{Header: rtp.Header{SSRC: 1, SequenceNumber: 2, Timestamp: ms20}, Payload: []byte{1, 20}}
		synctest.Wait()
		if st, _ := in.counters(); st.packets != 2 {
			t.Errorf("%d packets played, want 2 (the old track's later packet ignored)", st.packets)
		}
		in.unlisten("TR_b")
		in.unlisten("TR_b") // twice: nothing
		a.end()
		b.end()
		cancel()
		<-done
		in.shutdown()
	})
}

// Closing the input ends RecvFrame with io.EOF, and shutdown waits for
// the goroutines once the tracks end.
func TestInputCloseEndsReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newFakeInput()
		tr := newFakeTrack()
		in.listen("TR_1", tr)
		in.close()
		if _, err := in.RecvFrame(t.Context()); !errors.Is(err, io.EOF) {
			t.Errorf("RecvFrame after close = %v, want io.EOF", err)
		}
		tr.end()
		in.shutdown()
		in.shutdown()
	})
}
