package roomio

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/media-sdk"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"

	"github.com/livekit-go/agents/audio"
	"github.com/livekit-go/agents/internal/resample"
	"github.com/livekit-go/agents/session"
)

// inputBuffer is how many frames (about 20 ms each) wait for the session
// before the oldest are dropped: a stalled reader must not hold up the
// packets or grow memory without bound.
const inputBuffer = 250

// rtpSource is a subscribed track's packets (*webrtc.TrackRemote); ReadRTP
// fails once the track ended.
type rtpSource interface {
	ReadRTP() (*rtp.Packet, interceptor.Attributes, error)
}

// audioInput is the user's microphone as a session.AudioInput. One
// goroutine runs the timeline (timeline.go): it decodes the packets of the
// track listened to and fills the time no packet covers with silence, so
// the session gets audio at the pace of the wall clock whether the user
// talks, is quiet under DTX, muted, or has no microphone at all. A new
// subscription (after a reconnection, or a new track) carries on the same
// input.
type audioInput struct {
	rate    int
	frames  chan session.AudioFrame
	events  chan inputEvent
	started atomic.Bool
	startCh chan struct{}
	dropped atomic.Int64
	once    sync.Once
	done    chan struct{} // closed: RecvFrame returns io.EOF
	stop    chan struct{} // closed: the goroutines end
	stopped sync.Once
	wg      sync.WaitGroup

	mu      sync.Mutex
	gen     int64 // of the source listened to; 0: none
	sources map[string]int64
	stats   timelineStats // copied from the timeline's goroutine
	margin  time.Duration
}

type inputEventKind int

const (
	evPacket inputEventKind = iota
	evEnd                   // the source of gen ended
)

type inputEvent struct {
	kind inputEventKind
	gen  int64
	pkt  *rtp.Packet
	at   time.Time
}

var _ session.AudioInput = (*audioInput)(nil)

// opusRates are the rates libopus decodes to directly.
func isOpusRate(hz int) bool {
	switch hz {
	case 8000, 12000, 16000, 24000, 48000:
		return true
	}
	return false
}

func newAudioInput(rate int) *audioInput {
	return newAudioInputWith(rate, nil)
}

// newAudioInputWith starts the input; newDec, if set, replaces the Opus
// decoder (tests).
func newAudioInputWith(rate int, newDec func(rate int) (packetDecoder, error)) *audioInput {
	in := &audioInput{
		rate:    rate,
		frames:  make(chan session.AudioFrame, inputBuffer),
		events:  make(chan inputEvent, 64),
		startCh: make(chan struct{}),
		done:    make(chan struct{}),
		stop:    make(chan struct{}),
		sources: map[string]int64{},
	}
	if newDec == nil {
		newDec = newOpusDecoder
	}
	// Decode at the input rate when Opus can; otherwise at 48 kHz and
	// convert: by FIR for rates dividing it, by the media SDK's resampler
	// for the rest. Each frame keeps the time its first sample stands for.
	decRate := rate
	emit := in.write
	switch {
	case isOpusRate(rate):
	case opusRate%rate == 0:
		decRate = opusRate
		down := resample.NewDown(opusRate / rate)
		emit = func(pcm []int16, at time.Time) {
			first := down.FirstOut()
			in.write(down.Process(pcm), at.Add(samplesDur(first, opusRate)))
		}
	default:
		decRate = opusRate
		iw := &inputWriter{in: in, clock: audio.NewSampleClock(opusRate)}
		w := media.ResampleWriter(iw, opusRate)
		emit = func(pcm []int16, at time.Time) {
			iw.clock.Mark(iw.in48, at)
			iw.in48 += int64(len(pcm))
			_ = w.WriteSample(pcm)
		}
	}
	tl := newTimeline(decRate, func() (packetDecoder, error) { return newDec(decRate) }, emit)
	in.wg.Add(1)
	go func() { // exits when stop is closed
		defer in.wg.Done()
		in.run(tl)
	}()
	return in
}

// inputWriter is the input as a media.PCM16Writer at its rate, behind
// the media SDK's resampler from 48 kHz. The resampler holds samples back
// but keeps the stream's time: output sample m stands for input sample
// m*48000/rate, whose capture time the clock remembers.
type inputWriter struct {
	in    *audioInput
	clock *audio.SampleClock // at 48 kHz, by input position
	in48  int64              // samples written to the resampler
	out   int64              // samples it gave back
}

func (w *inputWriter) WriteSample(s media.PCM16Sample) error {
	pos := w.out * opusRate / int64(w.in.rate)
	at, _ := w.clock.At(pos)
	w.clock.Forget(pos)
	w.out += int64(len(s))
	w.in.write(s, at)
	return nil
}
func (w *inputWriter) SampleRate() int { return w.in.rate }
func (w *inputWriter) Close() error    { return nil }
func (w *inputWriter) String() string  { return fmt.Sprintf("roomio input (%d Hz)", w.in.rate) }

// listen makes src, the track with this id, the user's microphone; a
// track listened to before is ignored from now on.
func (in *audioInput) listen(id string, src rtpSource) {
	in.mu.Lock()
	in.gen++
	gen := in.gen
	in.sources[id] = gen
	in.mu.Unlock()
	in.wg.Add(1)
	go func() { // exits when the track ends (its ReadRTP fails) or stop is closed
		defer in.wg.Done()
		for {
			p, _, err := src.ReadRTP()
			ev := inputEvent{kind: evPacket, gen: gen, pkt: p, at: time.Now()}
			if err != nil {
				ev.kind = evEnd
			}
			select {
			case in.events <- ev:
			case <-in.stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
}

// unlisten forgets the track with this id (unsubscribed, unpublished):
// the input goes on with silence until another is listened to.
func (in *audioInput) unlisten(id string) {
	in.mu.Lock()
	gen, ok := in.sources[id]
	delete(in.sources, id)
	in.mu.Unlock()
	if !ok {
		return
	}
	select {
	case in.events <- inputEvent{kind: evEnd, gen: gen}:
	case <-in.stop:
	}
}

func (in *audioInput) current() int64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.gen
}

// run is the timeline's goroutine.
func (in *audioInput) run(tl *timeline) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	startCh := in.startCh
	handle := func(ev inputEvent) {
		if ev.gen != in.current() {
			return // a track no longer listened to
		}
		switch ev.kind {
		case evPacket:
			tl.packet(ev.at, ev.pkt)
		case evEnd:
			tl.end()
		}
	}
	for {
		var timerC <-chan time.Time
		if d, ok := tl.deadline(); ok {
			timer.Reset(time.Until(d)) // Go 1.23 timers: no stale fire survives Reset
			timerC = timer.C
		}
		select {
		case ev := <-in.events:
			handle(ev)
		case <-timerC:
			// Packets already here go first: they are not late.
			for more := true; more; {
				select {
				case ev := <-in.events:
					handle(ev)
				default:
					more = false
				}
			}
			tl.fill(time.Now())
		case <-startCh:
			startCh = nil
			tl.start(time.Now())
		case <-in.stop:
			return
		}
		in.mu.Lock()
		in.stats, in.margin = tl.stats, tl.margin()
		in.mu.Unlock()
	}
}

// write copies s, whose first sample stands for the wall time at, into a
// frame and queues it without blocking.
func (in *audioInput) write(s []int16, at time.Time) {
	if len(s) == 0 {
		return
	}
	select {
	case <-in.done:
		return
	default:
	}
	data := make([]int16, len(s))
	copy(data, s)
	f := session.AudioFrame{Data: data, SampleRate: in.rate, NumChannels: 1, SamplesPerChannel: len(data), CapturedAt: at}
	for {
		select {
		case in.frames <- f:
			return
		default:
		}
		select { // full: drop the oldest
		case <-in.frames:
			if in.started.Load() {
				in.dropped.Add(1)
			}
		default:
		}
	}
}

// RecvFrame implements session.AudioInput; io.EOF once the room was
// closed (Room.Close). The first call starts the wall clock: from then on
// silence is produced when no audio comes, also after the user left.
func (in *audioInput) RecvFrame(ctx context.Context) (session.AudioFrame, error) {
	if !in.started.Load() {
		in.once.Do(func() {
			in.started.Store(true)
			close(in.startCh)
		})
	}
	select {
	case f := <-in.frames:
		return f, nil
	case <-in.done:
		return session.AudioFrame{}, io.EOF
	case <-ctx.Done():
		return session.AudioFrame{}, ctx.Err()
	}
}

// counters returns what the timeline counted so far.
func (in *audioInput) counters() (timelineStats, time.Duration) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.stats, in.margin
}

// close ends RecvFrame with io.EOF.
func (in *audioInput) close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	select {
	case <-in.done:
	default:
		close(in.done)
	}
}

// shutdown stops the goroutines and waits for them: the readers end when
// their tracks do (the room disconnected), or at once if idle.
func (in *audioInput) shutdown() {
	in.close()
	in.stopped.Do(func() { close(in.stop) })
	in.wg.Wait()
}
