package roomio

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pion/rtp"
)

// fakeDecoder decodes payload {level, ms} to ms of the constant level*100;
// concealment is the constant -1. A payload of other shapes fails.
type fakeDecoder struct{ rate int }

func (d fakeDecoder) decode(payload []byte, pcm []int16) (int, error) {
	if len(payload) != 2 || payload[1] == 0 || int(payload[1]) > 120 {
		return 0, errors.New("fake: bad packet")
	}
	n := int(payload[1]) * d.rate / 1000
	for i := range n {
		pcm[i] = int16(payload[0]) * 100
	}
	return n, nil
}

func (d fakeDecoder) conceal(pcm []int16) error {
	for i := range pcm {
		pcm[i] = -1
	}
	return nil
}

// run is a stretch of equal samples in the output, in ms at 16 kHz.
type run struct {
	Level int16
	MS    float64
}

func (r run) String() string { return fmt.Sprintf("%d×%gms", r.Level, r.MS) }

// recorder keeps what a timeline emits: the samples, and for each piece
// the time its first sample stands for.
type recorder struct {
	pcm    []int16
	pieces []piece
}

type piece struct {
	At      time.Time
	Samples int
}

func (r *recorder) emit(p []int16, at time.Time) {
	r.pcm = append(r.pcm, p...)
	r.pieces = append(r.pieces, piece{at, len(p)})
}

func (r *recorder) runs() []run {
	var out []run
	for _, v := range r.pcm {
		if len(out) > 0 && out[len(out)-1].Level == v {
			out[len(out)-1].MS += 1.0 / 16
			continue
		}
		out = append(out, run{v, 1.0 / 16})
	}
	return out
}

const testRate = 16000

func newTestTimeline() (*timeline, *recorder) {
	rec := &recorder{}
	tl := newTimeline(testRate, func() (packetDecoder, error) { return fakeDecoder{testRate}, nil }, rec.emit)
	return tl, rec
}

// pkt is a 20 ms packet of level at RTP time ts (48 kHz ticks).
func pkt(seq uint16, ts uint32, level byte) *rtp.Packet {
	return &rtp.Packet{Header: rtp.Header{SSRC: 7, SequenceNumber: seq, Timestamp: ts}, Payload: []byte{level, 20}}
}

const ms20 = 960 // RTP ticks in 20 ms

// A browser with DTX sends nothing in silence: the timestamp of the next
// packet jumps over the frames it did not send, and that time becomes
// silence at its place, as long as it was.
func TestTimelineFillsDTXGapWithSilence(t *testing.T) {
	tl, rec := newTestTimeline()
	t0 := time.Unix(1000, 0)
	tl.start(t0)
	tl.packet(t0, pkt(10, 0, 1))
	tl.packet(t0.Add(20*time.Millisecond), pkt(11, ms20, 1))
	// 400 ms not sent; the next packet (seq 12) starts at 440 ms.
	tl.packet(t0.Add(460*time.Millisecond), pkt(12, 22*ms20, 2))
	want := []run{{100, 40}, {0, 400}, {200, 20}}
	if diff := cmp.Diff(rec.runs(), want); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
	}
}

// No packet for longer than a frame: the time is filled as it passes (a
// margin after it was due), not when the next packet comes.
func TestTimelineFillsOnTheWallClock(t *testing.T) {
	tl, rec := newTestTimeline()
	t0 := time.Unix(1000, 0)
	tl.start(t0)
	tl.packet(t0, pkt(1, 0, 1))
	due, ok := tl.deadline()
	if want := t0.Add(20*time.Millisecond + minMargin); !ok || !due.Equal(want) {
		t.Fatalf("deadline = %v %v, want %v", due.Sub(t0), ok, want.Sub(t0))
	}
	tl.fill(t0.Add(19 * time.Millisecond))
	if len(rec.pcm) != 320 {
		t.Fatalf("filled before the packet was overdue: %v", rec.runs())
	}
	// 300 ms later: 300 ms less the margin are filled, in frames.
	tl.fill(t0.Add(300 * time.Millisecond))
	want := []run{{100, 20}, {0, 280}}
	if diff := cmp.Diff(rec.runs(), want); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
	}
	// The next packet ends the silence where its audio begins: the part
	// already filled is not filled twice.
	tl.packet(t0.Add(340*time.Millisecond), pkt(2, 16*ms20, 3))
	want = []run{{100, 20}, {0, 300}, {300, 20}}
	if diff := cmp.Diff(rec.runs(), want); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
	}
}

// Without a track (none yet, unpublished, unsubscribed), silence follows
// the wall clock from the session's first read.
func TestTimelineSilenceWithoutTrack(t *testing.T) {
	tl, rec := newTestTimeline()
	t0 := time.Unix(1000, 0)
	tl.fill(t0.Add(time.Second)) // not started: nothing
	tl.start(t0)
	tl.fill(t0.Add(500 * time.Millisecond))
	if got, want := len(rec.pcm), 480*16; got != want { // 500 ms less the margin
		t.Errorf("%d samples after 500 ms, want %d", got, want)
	}
	// A track ends: the clock goes on from where its audio ended.
	tl.packet(t0.Add(520*time.Millisecond), pkt(1, 0, 1))
	tl.end()
	tl.fill(t0.Add(1000 * time.Millisecond))
	want := []run{{0, 500}, {100, 20}, {0, 460}}
	if diff := cmp.Diff(rec.runs(), want); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
	}
}

// Packets that come out of order within the margin are played in order;
// one that never comes is concealed for its length.
func TestTimelineReordersAndConceals(t *testing.T) {
	tl, rec := newTestTimeline()
	t0 := time.Unix(1000, 0)
	tl.start(t0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tl.packet(at(0), pkt(1, 0, 1))
	tl.packet(at(40), pkt(3, 2*ms20, 3)) // 2 is late
	tl.packet(at(41), pkt(2, ms20, 2))
	tl.packet(at(60), pkt(4, 3*ms20, 4))
	tl.packet(at(100), pkt(6, 5*ms20, 6)) // 5 never comes
	tl.fill(at(99))                       // within the margin: waits
	if got := rec.runs(); len(got) != 4 {
		t.Fatalf("played past the gap before the margin: %v", got)
	}
	tl.fill(at(120))
	want := []run{{100, 20}, {200, 20}, {300, 20}, {400, 20}, {-1, 20}, {600, 20}}
	if diff := cmp.Diff(rec.runs(), want); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
	}
	if tl.stats.lost != 1 || tl.stats.late != 0 {
		t.Errorf("stats %+v, want 1 lost", tl.stats)
	}
	// A duplicate, or a packet whose place was given up, is dropped.
	tl.packet(at(121), pkt(5, 4*ms20, 5))
	tl.packet(at(122), pkt(6, 5*ms20, 6))
	if tl.stats.late != 2 || len(rec.pcm) != 6*320 {
		t.Errorf("stats %+v, %d samples: want 2 late dropped, nothing played", tl.stats, len(rec.pcm))
	}
}

// A packet that comes after its time was filled is still played (the
// input runs ahead of RTP time by that much) rather than lost, and the
// margin grows with the jitter measured.
func TestTimelinePlaysLatePacket(t *testing.T) {
	tl, rec := newTestTimeline()
	t0 := time.Unix(1000, 0)
	tl.start(t0)
	tl.packet(t0, pkt(1, 0, 1))
	tl.fill(t0.Add(45 * time.Millisecond)) // 20 ms filled
	tl.packet(t0.Add(50*time.Millisecond), pkt(2, ms20, 2))
	want := []run{{100, 20}, {0, 20}, {200, 20}}
	if diff := cmp.Diff(rec.runs(), want); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
	}
	if tl.stats.stretch != 1 || tl.jitter <= 0 {
		t.Errorf("stats %+v jitter %v: want one stretched packet and some jitter", tl.stats, tl.jitter)
	}
}

// A new sender (another SSRC: a new track, a restarted browser) goes on
// the same output, silence covering the time between.
func TestTimelineRestartsOnNewSSRC(t *testing.T) {
	tl, rec := newTestTimeline()
	t0 := time.Unix(1000, 0)
	tl.start(t0)
	tl.packet(t0, pkt(1, 0, 1))
	p := pkt(5000, 123456, 2)
	p.SSRC = 8
	tl.packet(t0.Add(120*time.Millisecond), p)
	// A packet arrives when its audio ends: 100 ms between the two.
	want := []run{{100, 20}, {0, 100}, {200, 20}}
	if diff := cmp.Diff(rec.runs(), want); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
	}
	if tl.stats.restarts != 1 {
		t.Errorf("restarts = %d, want 1", tl.stats.restarts)
	}
}

// A timestamp that jumps far ahead of the wall clock (a sender that
// skipped its clock) is not taken as hours of silence: the wall clock
// says how long the gap was.
func TestTimelineTrustsTheWallClockOverATimestampJump(t *testing.T) {
	tl, rec := newTestTimeline()
	t0 := time.Unix(1000, 0)
	tl.start(t0)
	tl.packet(t0, pkt(1, 0, 1))
	tl.packet(t0.Add(60*time.Millisecond), pkt(2, 48000*3600, 2)) // an hour later, by RTP
	want := []run{{100, 20}, {0, 40}, {200, 20}}
	if diff := cmp.Diff(rec.runs(), want); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
	}
	// The same after a lost packet: the loss is concealed for the time
	// that passed, not for the hour (nor the 2 s burst bound) ahead of
	// the wall clock.
	tl.packet(t0.Add(120*time.Millisecond), pkt(4, 2*48000*3600, 4)) // 3 is lost
	tl.fill(t0.Add(200 * time.Millisecond))
	want = []run{{100, 20}, {0, 40}, {200, 20}, {-1, 40}, {400, 20}}
	if diff := cmp.Diff(rec.runs(), want); diff != "" {
		t.Errorf("after a loss (-got +want):\n%s", diff)
	}
	if last := rec.pieces[len(rec.pieces)-1]; last.At.Add(20 * time.Millisecond).After(t0.Add(200 * time.Millisecond)) {
		t.Errorf("audio stamped up to %v after t0 at 200 ms", last.At.Add(20*time.Millisecond).Sub(t0))
	}
}

// Time not covered at start (the session read late) or while the process
// was not scheduled is skipped beyond maxBurst, not emitted at once.
func TestTimelineBoundsBursts(t *testing.T) {
	tl, rec := newTestTimeline()
	t0 := time.Unix(1000, 0)
	tl.packet(t0, pkt(1, 0, 1)) // before start: played, no wall clock yet
	tl.start(t0.Add(10 * time.Second))
	tl.fill(t0.Add(10*time.Second + 100*time.Millisecond))
	if got, want := len(rec.pcm), 320+80*16; got != want {
		t.Errorf("%d samples, want the packet and 80 ms after start", got)
	}
	tl.fill(t0.Add(60 * time.Second))
	if got := len(rec.pcm) - (320 + 80*16); got > int(maxBurst/time.Millisecond)*16 {
		t.Errorf("a burst of %d samples after a 50 s stall, want at most %v", got, maxBurst)
	}
}

// Packets that never decode leave their time to the wall clock; they do not
// start a stream.
func TestTimelineBadPacketsAreSilence(t *testing.T) {
	tl, rec := newTestTimeline()
	t0 := time.Unix(1000, 0)
	tl.start(t0)
	for i := range 10 {
		tl.packet(t0.Add(time.Duration(i)*20*time.Millisecond), &rtp.Packet{Header: rtp.Header{SSRC: 1, SequenceNumber: uint16(i)}, Payload: []byte{1, 2, 3}})
	}
	tl.fill(t0.Add(200 * time.Millisecond))
	want := []run{{0, 180}}
	if diff := cmp.Diff(rec.runs(), want); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
	}
	if tl.s != nil || tl.stats.bad != 10 {
		t.Errorf("stream %v, stats %+v: want none started, 10 bad", tl.s, tl.stats)
	}
}

// stamp is a stretch of output that follows on in time at one level: when
// its first sample was spoken (ms after t0), how long it is, its level.
type stamp struct {
	AtMS  int64
	MS    float64
	Level int16
}

func (r *recorder) stamps(t0 time.Time) []stamp {
	var out []stamp
	i := 0
	for _, p := range r.pieces {
		level := r.pcm[i]
		i += p.Samples
		at := p.At.Sub(t0)
		if n := len(out); n > 0 {
			last := &out[n-1]
			next := time.Duration(last.AtMS)*time.Millisecond + time.Duration(last.MS*float64(time.Millisecond))
			if last.Level == level && (at-next).Abs() < time.Millisecond/2 {
				last.MS += float64(p.Samples) / 16
				continue
			}
		}
		out = append(out, stamp{int64(at.Round(time.Millisecond) / time.Millisecond), float64(p.Samples) / 16, level})
	}
	return out
}

// Every piece of audio is stamped with the time it was spoken, not the
// time it was emitted: silence filled for a DTX gap a margin after its
// time, the rest of the gap when the next packet shows it, concealment of
// a lost packet, and a packet that came 60 ms late after its time was
// filled (the silence and the packet then stand for the same time). With
// the track gone, silence stands for the wall time it fills.
func TestTimelineStampsAudioWithTheTimeItStandsFor(t *testing.T) {
	tl, rec := newTestTimeline()
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tl.start(t0)
	tl.packet(at(20), pkt(1, 0, 1)) // spoken 0-20 ms, arrives when it ends
	tl.packet(at(40), pkt(2, ms20, 1))
	tl.fill(at(300))                       // DTX: nothing sent from 40 ms on
	tl.packet(at(460), pkt(3, 22*ms20, 2)) // the voice again at 440 ms
	tl.packet(at(480), pkt(4, 23*ms20, 4))
	tl.packet(at(520), pkt(6, 25*ms20, 6)) // 5 (480-500 ms) is lost
	tl.fill(at(540))                       // given up: concealed
	tl.fill(at(590))                       // 520-560 ms filled...
	tl.packet(at(600), pkt(7, 26*ms20, 7)) // ...then 7 (520-540 ms) comes, 60 ms late
	tl.end()
	tl.fill(at(800))
	want := []stamp{
		{0, 40, 100}, {40, 400, 0}, {440, 20, 200}, {460, 20, 400}, {480, 20, -1}, {500, 20, 600},
		{520, 40, 0}, {520, 20, 700},
		{600, 180, 0},
	}
	if diff := cmp.Diff(rec.stamps(t0), want); diff != "" {
		t.Errorf("stamps (-got +want):\n%s", diff)
	}
}

// Network jitter only delays packets: a packet's audio is stamped by the
// soonest arrivals seen (the least transport delay taken as zero), not by
// its own arrival; and a sender whose clock runs slow (its packets come
// later and later) is followed.
func TestTimelineCaptureClockFollowsTheSoonestArrivals(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name    string
		packets int
		transit func(i int) time.Duration // of packet i, spoken 20i..20i+20 ms
		want    time.Duration             // the stamp of the last packet, less its RTP time
		slack   time.Duration
	}{
		{"jitter", 47, func(i int) time.Duration {
			return []time.Duration{12, 5, 9, 15, 5, 7, 30, 6}[i%8] * time.Millisecond
		}, 5 * time.Millisecond, 500 * time.Microsecond},
		{"slow sender clock (200 ppm)", 1500, func(i int) time.Duration {
			return 5*time.Millisecond + time.Duration(i)*4*time.Microsecond
		}, 5*time.Millisecond + 1499*4*time.Microsecond, 1500 * time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl, rec := newTestTimeline()
			tl.start(t0)
			for i := range tc.packets {
				spoken := time.Duration(i) * 20 * time.Millisecond
				tl.packet(t0.Add(spoken+20*time.Millisecond+tc.transit(i)), pkt(uint16(i+1), uint32(i*ms20), 1))
			}
			last := rec.pieces[len(rec.pieces)-1]
			got := last.At.Sub(t0) - time.Duration(tc.packets-1)*20*time.Millisecond
			if d := got - tc.want; d.Abs() > tc.slack {
				t.Errorf("last packet stamped %v after it was spoken, want %v (within %v)", got, tc.want, tc.slack)
			}
			if tl.stats.packets != int64(tc.packets) || tl.stats.stretch != 0 {
				t.Errorf("stats %+v: want every packet played once, in place", tl.stats)
			}
		})
	}
}
