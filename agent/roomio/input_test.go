package roomio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"

	"github.com/livekit-go/agents/session"
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

// reading reads in on a goroutine, as the session does, handing each
// frame to each, until the returned stop is called; stop waits for the
// goroutine.
func reading(t *testing.T, in *audioInput, each func(f session.AudioFrame)) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { // exits when stop cancels ctx
		defer close(done)
		for {
			f, err := in.RecvFrame(ctx)
			if err != nil {
				return
			}
			each(f)
		}
	}()
	return func() { cancel(); <-done }
}

// add counts f as read now.
func (h *heard) add(f session.AudioFrame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.samples += len(f.Data)
	for _, v := range f.Data {
		if v != 0 {
			h.loud++
		}
	}
	h.lastAt = time.Now()
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
		h := &heard{}
		stop := reading(t, in, h.add)
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
		stop()
		in.shutdown()
	})
}

// A new track (the user republished, or came back after a reconnection)
// feeds the same input; the old one is ignored from then on.
func TestInputSwitchesTracks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newFakeInput()
		h := &heard{}
		stop := reading(t, in, h.add)
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
		stop()
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

// Every frame the session reads carries the time it stands for on the
// user's timeline: the silence before the track, the voice (its arrival
// less its length), and the silence filled in for a DTX gap, which is
// read a margin after its time, all follow on without a hole or an
// overlap from the session's first read.
func TestInputFramesCarryTheTimeTheyStandFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newFakeInput()
		type got struct {
			f      session.AudioFrame
			readAt time.Time
		}
		var mu sync.Mutex
		var frames []got
		t0 := time.Now()
		stop := reading(t, in, func(f session.AudioFrame) {
			mu.Lock()
			frames = append(frames, got{f, time.Now()})
			mu.Unlock()
		})
		time.Sleep(100 * time.Millisecond) // no track yet
		tr := newFakeTrack()
		in.listen("TR_1", tr)
		seq, ts := uint16(1), uint32(0)
		var arrivals []time.Time
		send := func() {
			tr.pkts <- &rtp.Packet{Header: rtp.Header{SSRC: 3, SequenceNumber: seq, Timestamp: ts}, Payload: []byte{1, 20}}
			arrivals = append(arrivals, time.Now())
			seq++
			ts += ms20
		}
		for range 10 {
			time.Sleep(20 * time.Millisecond)
			send()
		}
		time.Sleep(time.Second) // DTX: nothing sent for 980 ms
		ts += 49 * ms20
		send()
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		stop()

		next := t0
		voice := 0
		for i, g := range frames {
			f := g.f
			if !f.CapturedAt.Equal(next) {
				t.Fatalf("frame %d stands for t0%+v, want t0%+v (the end of the one before)", i, f.CapturedAt.Sub(t0), next.Sub(t0))
			}
			next = f.CapturedAt.Add(f.Duration())
			if f.Data[0] != 0 {
				if want := arrivals[voice].Add(-20 * time.Millisecond); !f.CapturedAt.Equal(want) {
					t.Errorf("voice frame %d stands for t0%+v, want its arrival less 20 ms, t0%+v", voice, f.CapturedAt.Sub(t0), want.Sub(t0))
				}
				voice++
			} else if g.readAt.Before(next.Add(minMargin)) {
				t.Errorf("silence frame %d (t0%+v) read at t0%+v, before its time and the margin passed", i, f.CapturedAt.Sub(t0), g.readAt.Sub(t0))
			}
		}
		if voice != 11 || next.Before(arrivals[10]) {
			t.Errorf("%d voice frames, the stamps reach t0%+v: want 11, past the last arrival t0%+v", voice, next.Sub(t0), arrivals[10].Sub(t0))
		}
		tr.end()
		in.shutdown()
	})
}

// At rates Opus cannot decode to, the input converts from 48 kHz (by FIR,
// or the media SDK's soxr) and the frames still say when their samples
// were spoken: the onset of the voice is stamped where it was sent,
// whatever the converter's delay (the FIR's 0.6 ms at 9.6 kHz, a frame
// held back by the SDK's writer).
func TestInputConvertedRatesKeepTheTime(t *testing.T) {
	for _, rate := range []int{9600, 44100} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				in := newAudioInputWith(rate, func(r int) (packetDecoder, error) { return fakeDecoder{r}, nil })
				onset := make(chan time.Time, 1)
				stop := reading(t, in, func(f session.AudioFrame) {
					for i, v := range f.Data {
						if v >= 2500 {
							select {
							case onset <- f.SampleTime(i):
							default:
							}
							break
						}
					}
				})
				tr := newFakeTrack()
				in.listen("TR_1", tr)
				var loudFrom time.Time
				for i := range 30 {
					time.Sleep(20 * time.Millisecond)
					level := byte(0)
					if i >= 15 {
						level = 50 // 5000
					}
					tr.pkts <- &rtp.Packet{Header: rtp.Header{SSRC: 3, SequenceNumber: uint16(i), Timestamp: uint32(i * ms20)}, Payload: []byte{level, 20}}
					if i == 15 {
						loudFrom = time.Now().Add(-20 * time.Millisecond)
					}
				}
				synctest.Wait()
				stop()
				select {
				case got := <-onset:
					if d := got.Sub(loudFrom); d.Abs() > 250*time.Microsecond {
						t.Errorf("the voice's onset stamped %v off when it was sent (want within 250 µs)", d)
					}
				default:
					t.Error("the voice never came through")
				}
				tr.end()
				in.shutdown()
			})
		})
	}
}
