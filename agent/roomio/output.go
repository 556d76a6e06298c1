package roomio

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/livekit/media-sdk"

	"github.com/livekit-go/agents/session"
)

// pcmSink is where the output hands its paced 10 ms chunks: the published
// PCM track (it encodes to Opus and sends a frame every 10 ms, silence when
// it has nothing), or a fake in tests.
type pcmSink interface {
	WriteSample(media.PCM16Sample) error
	ClearQueue()
}

const (
	chunkDuration = 10 * time.Millisecond
	// outputLead is how far ahead of the playout clock chunks are handed to
	// the track: enough that its own 10 ms ticker does not find it empty
	// when this goroutine is scheduled late on a loaded machine (40 ms gave
	// underruns at 40 rooms on 2 cores), small so that a pause lets little
	// through. ClearBuffer drops it with the rest; the position heard is
	// the clock's, not the lead's.
	outputLead = 100 * time.Millisecond
	// maxQueued is how much audio CaptureFrame accepts ahead of playout
	// before it blocks the producer.
	maxQueued = time.Second
)

// errOutputClosed is returned by CaptureFrame once the room closed.
var errOutputClosed = errors.New("roomio: audio output closed")

// audioOutput is the agent's voice: a session.AudioOutput (and
// PausableAudioOutput, PlaybackPositioner) over a PCM sink. Its own feeder
// goroutine hands the sink one 10 ms chunk at a time at the pace of the
// playout clock, so it knows how much of a segment was heard, can hold audio
// back (Pause) and can drop everything at once (ClearBuffer).
type audioOutput struct {
	sink     pcmSink
	rate     int
	channels int
	chunk    int // samples (all channels) per 10 ms chunk

	mu        sync.Mutex
	queue     [][]int16 // chunks not yet handed to the sink
	recent    [][]int16 // the last chunks handed to the sink, which it may not have played yet
	pending   []int16   // a partial chunk, completed by the next frame or Flush
	fed       time.Duration
	base      time.Time // playout clock: position = min(now-base, fed)
	started   bool      // first chunk of the segment handed to the sink
	flushed   bool
	cleared   bool // ClearBuffer cut the segment; frames until Flush are dropped
	paused    bool
	pausedPos time.Duration
	clearPos  time.Duration
	done      chan struct{} // closed when the flushed segment ended
	waitFor   chan struct{} // the done channel of the last Flush, for WaitForPlayout
	result    session.PlaybackResult
	closed    bool

	underruns int64 // times the playout clock passed what was fed mid-segment

	wake  chan struct{} // feeder: something changed
	space chan struct{} // CaptureFrame: the queue shrank or the segment ended
	stop  chan struct{}
	wg    sync.WaitGroup
}

var (
	_ session.PausableAudioOutput = (*audioOutput)(nil)
	_ session.PlaybackPositioner  = (*audioOutput)(nil)
)

func newAudioOutput(sink pcmSink, rate, channels int) *audioOutput {
	o := &audioOutput{
		sink:     sink,
		rate:     rate,
		channels: channels,
		chunk:    rate / 100 * channels,
		done:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		space:    make(chan struct{}, 1),
		stop:     make(chan struct{}),
	}
	o.wg.Add(1)
	go func() { // exits when close is called
		defer o.wg.Done()
		o.feed()
	}()
	return o
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// active reports whether a segment holds audio (queued, fed or cut).
func (o *audioOutput) activeLocked() bool {
	return o.started || len(o.queue) > 0 || len(o.pending) > 0 || o.cleared
}

// CaptureFrame implements session.AudioOutput. Frames at another rate or
// channel count are converted. It blocks while a second of audio is queued,
// or while the previous flushed segment is still playing.
func (o *audioOutput) CaptureFrame(ctx context.Context, f session.AudioFrame) error {
	samples := convert(f, o.rate, o.channels)
	for {
		o.mu.Lock()
		if o.closed {
			o.mu.Unlock()
			return errOutputClosed
		}
		switch {
		case o.flushed: // the last segment still plays: wait for its end
		case o.cleared:
			o.mu.Unlock()
			return nil // cut by ClearBuffer: dropped until Flush
		case time.Duration(len(o.queue))*chunkDuration < maxQueued:
			o.pending = append(o.pending, samples...)
			for len(o.pending) >= o.chunk {
				c := make([]int16, o.chunk)
				copy(c, o.pending)
				o.queue = append(o.queue, c)
				o.pending = o.pending[o.chunk:]
			}
			if len(o.pending) == 0 {
				o.pending = nil
			}
			o.mu.Unlock()
			signal(o.wake)
			return nil
		}
		o.mu.Unlock()
		select {
		case <-o.space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Flush implements session.AudioOutput.
func (o *audioOutput) Flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || o.flushed {
		return
	}
	if len(o.pending) > 0 {
		c := make([]int16, o.chunk)
		copy(c, o.pending)
		o.queue = append(o.queue, c)
		o.pending = nil
	}
	o.flushed = true
	o.waitFor = o.done
	switch {
	case o.cleared:
		o.finishLocked(session.PlaybackResult{Position: o.clearPos, Interrupted: true})
	case !o.activeLocked():
		o.finishLocked(session.PlaybackResult{})
	default:
		signal(o.wake)
	}
}

// finishLocked ends the flushed segment with r and gets ready for the next.
func (o *audioOutput) finishLocked(r session.PlaybackResult) {
	o.result = r
	close(o.done)
	o.done = make(chan struct{})
	o.queue, o.pending, o.recent = nil, nil, nil
	o.fed, o.started, o.flushed, o.cleared = 0, false, false, false
	o.clearPos = 0
	signal(o.space)
}

// positionLocked is how much of the current segment has played.
func (o *audioOutput) positionLocked(now time.Time) time.Duration {
	switch {
	case o.cleared:
		return o.clearPos
	case !o.started:
		return 0
	case o.paused:
		return o.pausedPos
	}
	return min(now.Sub(o.base), o.fed)
}

// PlaybackPosition implements session.PlaybackPositioner.
func (o *audioOutput) PlaybackPosition() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.positionLocked(time.Now())
}

// ClearBuffer implements session.AudioOutput: queued audio is dropped and the
// track's own buffer emptied at once.
func (o *audioOutput) ClearBuffer() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || o.cleared || !o.activeLocked() {
		return
	}
	pos := o.positionLocked(time.Now())
	o.sink.ClearQueue()
	o.queue, o.pending, o.recent = nil, nil, nil
	if o.flushed {
		o.finishLocked(session.PlaybackResult{Position: pos, Interrupted: true})
		return
	}
	o.cleared, o.clearPos = true, pos
	signal(o.space)
}

// Pause implements session.PausableAudioOutput: the voice stops at once.
// No more audio is handed to the track, and the whole chunks it holds but
// has not played (the lead, up to outputLead) are taken back from it and
// queued again, so Resume goes on from where the user stopped hearing.
func (o *audioOutput) Pause() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.paused {
		return
	}
	if o.started && !o.cleared {
		unheard := min(int((o.fed-o.positionLocked(time.Now()))/chunkDuration), len(o.recent))
		if unheard > 0 {
			o.sink.ClearQueue()
			back := o.recent[len(o.recent)-unheard:]
			o.queue = append(append(make([][]int16, 0, len(back)+len(o.queue)), back...), o.queue...)
			o.recent = o.recent[:len(o.recent)-unheard]
			o.fed -= time.Duration(unheard) * chunkDuration
		}
	}
	o.paused = true
	o.pausedPos = o.fed
}

// Resume implements session.PausableAudioOutput.
func (o *audioOutput) Resume() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.paused {
		return
	}
	o.paused = false
	o.base = time.Now().Add(-o.pausedPos)
	signal(o.wake)
}

// WaitForPlayout implements session.AudioOutput.
func (o *audioOutput) WaitForPlayout(ctx context.Context) (session.PlaybackResult, error) {
	o.mu.Lock()
	done := o.waitFor
	o.mu.Unlock()
	if done == nil {
		return session.PlaybackResult{}, nil
	}
	select {
	case <-done:
		o.mu.Lock()
		defer o.mu.Unlock()
		return o.result, nil
	case <-ctx.Done():
		return session.PlaybackResult{}, ctx.Err()
	}
}

// feed hands queued chunks to the sink at the playout clock's pace and ends
// flushed segments once they have played. It runs a ticker only while a
// segment has audio to play.
func (o *audioOutput) feed() {
	ticker := time.NewTicker(chunkDuration)
	defer ticker.Stop()
	for {
		busy := o.step(time.Now())
		if busy {
			select {
			case <-ticker.C:
			case <-o.wake:
			case <-o.stop:
				return
			}
			continue
		}
		select {
		case <-o.wake:
		case <-o.stop:
			return
		}
	}
}

// step does one round of feeding and reports whether the feeder should keep
// ticking.
func (o *audioOutput) step(now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || o.paused || o.cleared {
		return false
	}
	if len(o.queue) > 0 {
		if !o.started {
			o.started, o.base = true, now
		} else if now.Sub(o.base) > o.fed {
			// Ran dry (the producer or this goroutine was late): the
			// track played silence; playout resumes now.
			o.base = now.Add(-o.fed)
			o.underruns++
		}
		fedBefore := len(o.queue)
		for len(o.queue) > 0 && o.fed < now.Sub(o.base)+outputLead {
			_ = o.sink.WriteSample(o.queue[0])
			o.recent = append(o.recent, o.queue[0])
			o.queue[0] = nil
			o.queue = o.queue[1:]
			o.fed += chunkDuration
		}
		// The sink holds at most the lead (and the chunk playing).
		if n := len(o.recent) - int(outputLead/chunkDuration) - 1; n > 0 {
			clear(o.recent[:n])
			o.recent = o.recent[n:]
		}
		if len(o.queue) < fedBefore {
			signal(o.space)
		}
		return true
	}
	if !o.flushed {
		return o.started // keep the clock going for the position
	}
	if !o.started || now.Sub(o.base) >= o.fed {
		o.finishLocked(session.PlaybackResult{Position: o.fed})
		return false
	}
	return true
}

// stats returns the underrun count.
func (o *audioOutput) stats() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.underruns
}

// close stops the feeder; pending waits end with ctx or their own context.
func (o *audioOutput) close() {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.closed = true
	if o.flushed {
		o.finishLocked(session.PlaybackResult{Position: o.positionLocked(time.Now()), Interrupted: true})
	}
	o.mu.Unlock()
	close(o.stop)
	o.wg.Wait()
}

// convert brings f to rate and channels: channels are mixed down or copied
// up, the rate changed by linear interpolation (TTS engines normally
// produce the rate the track was made for, so this is the rare path).
func convert(f session.AudioFrame, rate, channels int) []int16 {
	n := f.SamplesPerChannel
	ch := max(f.NumChannels, 1)
	if n <= 0 || len(f.Data) < n*ch {
		n = len(f.Data) / ch
	}
	if f.SampleRate == rate && ch == channels {
		out := make([]int16, n*ch)
		copy(out, f.Data[:n*ch])
		return out
	}
	mono := make([]int16, n)
	for i := range n {
		sum := 0
		for c := range ch {
			sum += int(f.Data[i*ch+c])
		}
		mono[i] = int16(sum / ch)
	}
	if f.SampleRate > 0 && f.SampleRate != rate && n > 0 {
		m := int(int64(n) * int64(rate) / int64(f.SampleRate))
		res := make([]int16, m)
		step := float64(f.SampleRate) / float64(rate)
		for i := range m {
			x := float64(i) * step
			j := int(x)
			if j >= n-1 {
				res[i] = mono[n-1]
				continue
			}
			frac := x - float64(j)
			res[i] = int16(float64(mono[j])*(1-frac) + float64(mono[j+1])*frac)
		}
		mono = res
	}
	if channels == 1 {
		return mono
	}
	out := make([]int16, len(mono)*channels)
	for i, s := range mono {
		for c := range channels {
			out[i*channels+c] = s
		}
	}
	return out
}
