package roomio

import (
	"time"

	"github.com/pion/rtp"
)

// The user's microphone as it arrives: Opus in RTP, 48 kHz RTP clock, a
// packet every 20 ms while the user talks. With DTX (livekit-client's
// default) a browser sends few packets or none in silence: the RTP
// timestamp jumps over the frames not sent while the sequence number goes
// on by one. A muted or unpublished microphone sends nothing at all. The
// session's VAD and endpointing count samples, so the input must follow
// the wall clock: the timeline below turns packets and the passing of time
// into gapless PCM, silence where nothing was sent.

const (
	rtpRate = 48000 // the RTP clock of Opus, whatever the audio
	// fillFrame is the silence emitted per step when no packet follows
	// the wall clock (no track), and the packet length assumed before one
	// was decoded.
	fillFrame = 20 * time.Millisecond
	// minMargin and maxMargin bound how long after its due time a packet
	// is waited for before its time is filled: three times the measured
	// interarrival jitter (RFC 3550), within these bounds. A packet that
	// comes later still is not lost: it is played after the silence
	// (the input runs that much ahead of RTP time).
	minMargin = 20 * time.Millisecond
	maxMargin = 100 * time.Millisecond
	// maxBurst is the most silence emitted at once when the timeline is
	// behind (the process was not scheduled, or it just started): time
	// beyond it is skipped.
	maxBurst = 2 * time.Second
	// maxConceal is how much of a loss is concealed by the decoder (PLC);
	// the rest of a longer gap is silence.
	maxConceal = 100 * time.Millisecond
	// maxHeld is how many packets wait behind a missing one before it is
	// given up as lost.
	maxHeld = 16
	// seqRestart: a sequence number this far from the last one means the
	// sender restarted; the stream is followed anew.
	seqRestart = 1000
)

// packetDecoder decodes the Opus packets of one stream to mono PCM at the
// timeline's rate.
type packetDecoder interface {
	// decode decodes one packet into pcm (which holds 120 ms) and returns
	// the samples written.
	decode(payload []byte, pcm []int16) (int, error)
	// conceal fills pcm, a multiple of 2.5 ms, with the decoder's guess of
	// lost audio.
	conceal(pcm []int16) error
}

// timelineStats count what the timeline did.
type timelineStats struct {
	packets  int64         // decoded and emitted
	late     int64         // dropped: duplicates, or older than what was emitted
	lost     int64         // never came: concealed
	bad      int64         // failed to decode
	stretch  int64         // came after their time was filled; played anyway
	silence  time.Duration // emitted as silence
	restarts int64         // new streams (SSRC changes, sender restarts)
}

// timeline is the user's audio on the wall clock. It is driven by one
// goroutine: packet for each RTP packet (with its arrival time), fill when
// deadline passes, end when the track is gone, start when the session
// first reads. It is not safe for concurrent use.
//
// Each piece of audio it emits comes with the wall time its first sample
// stands for on the user's timeline (session.AudioFrame's CapturedAt): a
// packet's RTP time on the stream's capture clock, and the silence and
// concealment in its place at the time they fill, though they are emitted
// a margin later. Without a stream, silence stands for the time it is
// emitted for.
type timeline struct {
	rate   int   // output rate (an Opus decoding rate)
	tick   int64 // RTP ticks per output sample
	newDec func() (packetDecoder, error)
	emit   func(pcm []int16, at time.Time)

	started bool
	covered time.Time  // without a stream: the wall time the output reaches
	s       *rtpStream // the stream followed; nil: none (no track, or it ended)
	jitter  time.Duration
	stats   timelineStats

	pcm   []int16 // decode buffer: 120 ms
	quiet []int16 // zeros, one fillFrame
}

// rtpStream is one sender's packets (one SSRC).
type rtpStream struct {
	ssrc    uint32
	dec     packetDecoder
	lastSeq uint16 // last sequence number emitted or given up
	tsExt   int64  // last timestamp seen, unwrapped
	nextTS  int64  // RTP time of the next sample to emit
	// The wall clock of the stream: the last packet taken in order arrived
	// at anchorAt and ended at RTP time anchorTS.
	anchorAt time.Time
	anchorTS int64
	// The capture clock of the stream: RTP time capTS was spoken at capAt,
	// taking the least transport delay seen as zero. Jitter only ever
	// delays packets, so the soonest arrivals tell when the audio was
	// spoken: a packet arriving sooner than the clock predicts anchors it,
	// a later one moves it by 1/captureCreep of its lateness (a sender
	// whose clock runs slow is followed; one late packet barely counts).
	capAt    time.Time
	capTS    int64
	pktTicks int64 // length of the last packet
	held     []heldPacket
}

type heldPacket struct {
	seq     uint16
	ts      int64
	payload []byte
	at      time.Time
}

func newTimeline(rate int, newDec func() (packetDecoder, error), emit func(pcm []int16, at time.Time)) *timeline {
	return &timeline{
		rate: rate, tick: int64(rtpRate / rate), newDec: newDec, emit: emit,
		pcm: make([]int16, rate*120/1000), quiet: make([]int16, durSamples(fillFrame, rate)),
	}
}

func durSamples(d time.Duration, rate int) int {
	return int(int64(d) * int64(rate) / int64(time.Second))
}

func samplesDur(n, rate int) time.Duration {
	return time.Duration(n) * time.Second / time.Duration(rate)
}

// maxTicks bounds the RTP spans converted to durations (a year): a
// sender's timestamps can jump anywhere, and the arithmetic must not wrap.
const maxTicks = rtpRate * 86400 * 365

func ticksDur(ticks int64) time.Duration {
	ticks = min(max(ticks, -maxTicks), maxTicks)
	return time.Duration(ticks * (int64(time.Second) / 1000) / (rtpRate / 1000))
}

func durTicks(d time.Duration) int64 { return int64(d) * rtpRate / int64(time.Second) }

// wall is when RTP time ts is due at the receiver, by the last anchor.
func (s *rtpStream) wall(ts int64) time.Time { return s.anchorAt.Add(ticksDur(ts - s.anchorTS)) }

// captureCreep: a packet later than the capture clock predicts moves the
// clock by its lateness divided by this (about 5 s to follow a lasting
// change at 50 packets a second).
const captureCreep = 256

// captured is when RTP time ts was spoken, by the capture clock.
func (s *rtpStream) captured(ts int64) time.Time { return s.capAt.Add(ticksDur(ts - s.capTS)) }

// follow sets the capture clock by a packet that arrived at at and whose
// audio ends at RTP time end. A packet more than maxBurst off the clock
// (timestamps that jumped) anchors it anew.
func (s *rtpStream) follow(at time.Time, end int64) {
	late := at.Sub(s.captured(end))
	switch {
	case s.capAt.IsZero() || late <= 0 || late > maxBurst:
		s.capAt, s.capTS = at, end
	default:
		s.capAt = s.capAt.Add(late / captureCreep)
	}
}

func (s *rtpStream) unwrap(ts uint32) int64 {
	s.tsExt += int64(int32(ts - uint32(s.tsExt)))
	return s.tsExt
}

// margin is how long past its due time a packet is waited for.
func (t *timeline) margin() time.Duration { return min(max(3*t.jitter, minMargin), maxMargin) }

// outputEnd is the wall time the output reaches.
func (t *timeline) outputEnd() time.Time {
	if t.s != nil {
		return t.s.wall(t.s.nextTS)
	}
	return t.covered
}

// stampEnd is the time the next sample emitted stands for, if it follows
// on: on the stream's capture clock, or, without a stream, the wall time
// the output reaches.
func (t *timeline) stampEnd() time.Time {
	if t.s != nil {
		return t.s.captured(t.s.nextTS)
	}
	return t.covered
}

// start begins following the wall clock at now (the session's first
// read): time before it is not filled.
func (t *timeline) start(now time.Time) {
	if t.started {
		return
	}
	t.started = true
	t.skipTo(now)
}

// skipTo moves the output's end to now without emitting, if it is behind.
func (t *timeline) skipTo(now time.Time) {
	behind := now.Sub(t.outputEnd())
	if behind <= 0 {
		return
	}
	if t.s != nil {
		t.s.nextTS += durTicks(behind)
	} else {
		t.covered = now
	}
}

// deadline is when fill should run next; false before start.
func (t *timeline) deadline() (time.Time, bool) {
	if !t.started {
		return time.Time{}, false
	}
	if t.s == nil {
		return t.covered.Add(fillFrame + t.margin()), true
	}
	return t.s.wall(t.s.nextTS + t.s.pktTicks).Add(t.margin()), true
}

// fill emits silence for the time no packet came for, up to now less the
// margin; a packet held behind a lost one is released first.
func (t *timeline) fill(now time.Time) {
	if !t.started {
		return
	}
	if now.Sub(t.outputEnd()) > maxBurst {
		t.skipTo(now.Add(-maxBurst))
	}
	// Each round emits a packet's length or releases a held packet; the
	// bound only guards against timestamps that never let the loop end.
	for range int(maxBurst/(2500*time.Microsecond)) + maxHeld + 1 {
		due, _ := t.deadline()
		if now.Before(due) {
			return
		}
		if t.s == nil {
			t.silence(t.covered, durTicks(fillFrame))
			t.covered = t.covered.Add(fillFrame)
			continue
		}
		if len(t.s.held) > 0 {
			t.release(true)
			continue
		}
		t.silence(t.stampEnd(), t.s.pktTicks)
		t.s.nextTS += t.s.pktTicks
	}
}

// end is called when the track is gone: the wall clock goes on without
// it.
func (t *timeline) end() {
	if t.s == nil {
		return
	}
	t.covered = t.outputEnd()
	t.s = nil
}

// silence emits ticks of RTP time as zeros standing for the time from
// at, in frames of at most fillFrame.
func (t *timeline) silence(at time.Time, ticks int64) {
	n := int(ticks / t.tick)
	t.stats.silence += ticksDur(int64(n) * t.tick)
	for n > 0 {
		k := min(n, len(t.quiet))
		t.emit(t.quiet[:k], at)
		at = at.Add(samplesDur(k, t.rate))
		n -= k
	}
}

// packet takes one RTP packet that arrived at at.
func (t *timeline) packet(at time.Time, p *rtp.Packet) {
	if t.s == nil || p.SSRC != t.s.ssrc {
		if len(p.Payload) == 0 {
			return
		}
		t.restart(at, p)
		return
	}
	s := t.s
	d := int16(p.SequenceNumber - s.lastSeq)
	switch {
	case d > seqRestart || d < -seqRestart:
		t.restart(at, p)
	case d <= 0:
		t.stats.late++
	case len(p.Payload) == 0:
		// Padding only: it holds a sequence number, no audio.
		if d == 1 {
			s.lastSeq = p.SequenceNumber
			t.release(false)
		}
	case d == 1:
		t.inOrder(at, p.SequenceNumber, s.unwrap(p.Timestamp), p.Payload)
		t.release(false)
	default:
		t.hold(heldPacket{seq: p.SequenceNumber, ts: s.unwrap(p.Timestamp), payload: append([]byte(nil), p.Payload...), at: at})
	}
}

// restart follows a new stream from p: the output goes on from where it
// is, silence filling the time up to p's audio. A first packet that does
// not decode starts nothing.
func (t *timeline) restart(at time.Time, p *rtp.Packet) {
	dec, err := t.newDec()
	if err != nil {
		t.stats.bad++
		return
	}
	n, err := dec.decode(p.Payload, t.pcm)
	if err != nil || n <= 0 {
		t.stats.bad++
		return
	}
	end, from := t.outputEnd(), t.stampEnd()
	if t.s != nil {
		t.stats.restarts++
	}
	ts := int64(p.Timestamp)
	t.s = &rtpStream{ssrc: p.SSRC, dec: dec, tsExt: ts}
	pkt := int64(n) * t.tick
	if t.started {
		if gap := at.Add(-ticksDur(pkt)).Sub(end); gap > 0 {
			t.silence(from, durTicks(min(gap, maxBurst)))
		}
	}
	t.emitPacket(at, p.SequenceNumber, ts, n)
}

// inOrder plays the packet that follows the last one: after the silence
// the sender skipped (DTX), when its timestamp jumps.
func (t *timeline) inOrder(at time.Time, seq uint16, ts int64, payload []byte) {
	s := t.s
	n, err := s.dec.decode(payload, t.pcm)
	if err != nil || n <= 0 {
		// Its time is filled like a packet never sent.
		t.stats.bad++
		s.lastSeq = seq
		return
	}
	pkt := int64(n) * t.tick
	if gap := ts - s.nextTS; gap > 0 {
		// The frames between were not sent: silence. The RTP time says
		// how much, unless it ran ahead of the wall clock (a sender that
		// jumped): then the wall clock does.
		wallGap := durTicks(at.Add(-ticksDur(pkt)).Sub(s.wall(s.nextTS)))
		if gap > wallGap+durTicks(maxMargin) {
			gap = max(wallGap, 0)
		}
		t.silence(t.stampEnd(), min(gap, durTicks(maxBurst)))
	} else if gap < 0 {
		t.stats.stretch++ // its time was filled already; heard late rather than never
	}
	// RFC 3550 interarrival jitter, from consecutive packets.
	d := at.Sub(s.anchorAt) - ticksDur(ts+pkt-s.anchorTS)
	t.jitter += (d.Abs() - t.jitter) / 16
	t.emitPacket(at, seq, ts, n)
}

// emitPacket emits the n samples decoded from the packet (seq, ts) that
// arrived at at, stamped by the capture clock it updates, and anchors the
// stream's wall clock on it.
func (t *timeline) emitPacket(at time.Time, seq uint16, ts int64, n int) {
	s := t.s
	s.follow(at, ts+int64(n)*t.tick)
	t.emit(t.pcm[:n], s.captured(ts))
	t.stats.packets++
	s.pktTicks = int64(n) * t.tick
	s.anchorAt, s.anchorTS = at, ts+s.pktTicks
	s.nextTS = s.anchorTS
	s.lastSeq = seq
}

// hold keeps a packet that came after a gap in the sequence, in order,
// until the missing ones come or are given up.
func (t *timeline) hold(h heldPacket) {
	s := t.s
	at := len(s.held)
	for i, o := range s.held {
		if o.seq == h.seq {
			t.stats.late++ // duplicate
			return
		}
		if int16(h.seq-o.seq) < 0 {
			at = i
			break
		}
	}
	s.held = append(s.held, heldPacket{})
	copy(s.held[at+1:], s.held[at:])
	s.held[at] = h
	if len(s.held) > maxHeld {
		t.release(true)
	}
}

// release plays the held packets that now follow in order; with force,
// the first gap is given up (concealed) so that the packet after it plays.
func (t *timeline) release(force bool) {
	s := t.s
	for s != nil && len(s.held) > 0 {
		h := s.held[0]
		d := int16(h.seq - s.lastSeq)
		if d > 1 && !force {
			return
		}
		s.held[0] = heldPacket{}
		s.held = s.held[1:]
		switch {
		case d <= 0:
			t.stats.late++
			continue
		case d > 1:
			t.stats.lost += int64(d - 1)
			if gap := h.ts - s.nextTS; gap > 0 {
				// As in inOrder: the RTP time says how long the loss
				// was, unless it ran ahead of the wall clock (h's
				// arrival less a packet), which then does.
				wallGap := durTicks(h.at.Add(-ticksDur(s.pktTicks)).Sub(s.wall(s.nextTS)))
				if gap > wallGap+durTicks(maxMargin) {
					gap = max(wallGap, 0)
				}
				t.conceal(t.stampEnd(), min(gap, durTicks(maxBurst)))
				s.nextTS += gap
			}
			s.lastSeq = h.seq - 1
			force = false
		}
		t.inOrder(h.at, h.seq, h.ts, h.payload)
		s = t.s
	}
}

// conceal emits ticks of lost audio standing for the time from at: the
// decoder's concealment for up to maxConceal, silence after.
func (t *timeline) conceal(at time.Time, ticks int64) {
	n := int(ticks / t.tick)
	step := durSamples(fillFrame, t.rate)
	plc := durSamples(maxConceal, t.rate)
	unit := t.rate / 400 // 2.5 ms
	for n > 0 && plc > 0 {
		k := min(n, step, plc)
		k -= k % unit
		if k == 0 || t.s.dec.conceal(t.pcm[:k:k]) != nil {
			break
		}
		t.emit(t.pcm[:k], at)
		at = at.Add(samplesDur(k, t.rate))
		n, plc = n-k, plc-k
	}
	t.silence(at, int64(n)*t.tick)
}
