package sessiontest

import (
	"context"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/livekit-go/agents/session"
)

// AudioInput is a [session.AudioInput] that sends what Push gives it and
// ends at Close. The speech fakes ignore frame content, so a session under
// test only needs one to exist.
type AudioInput struct {
	frames chan session.AudioFrame
	once   sync.Once
	done   chan struct{}
}

var _ session.AudioInput = (*AudioInput)(nil)

// NewAudioInput returns an open input.
func NewAudioInput() *AudioInput {
	return &AudioInput{frames: make(chan session.AudioFrame, 64), done: make(chan struct{})}
}

// Push queues a frame.
func (a *AudioInput) Push(f session.AudioFrame) { a.frames <- f }

// Close ends the input: RecvFrame returns io.EOF after the queued frames.
func (a *AudioInput) Close() { a.once.Do(func() { close(a.done) }) }

// RecvFrame implements [session.AudioInput].
func (a *AudioInput) RecvFrame(ctx context.Context) (session.AudioFrame, error) {
	select {
	case f := <-a.frames:
		return f, nil
	case <-a.done:
		// Push then Close may find both ready: the frame comes first.
		select {
		case f := <-a.frames:
			return f, nil
		default:
			return session.AudioFrame{}, io.EOF
		}
	case <-ctx.Done():
		return session.AudioFrame{}, context.Cause(ctx)
	}
}

// TextInput is a [session.TextInput] fed by Send, ended by Close.
type TextInput struct {
	texts chan string
	once  sync.Once
	done  chan struct{}
}

var _ session.TextInput = (*TextInput)(nil)

// NewTextInput returns an open input.
func NewTextInput() *TextInput {
	return &TextInput{texts: make(chan string, 64), done: make(chan struct{})}
}

// Send queues a user turn.
func (t *TextInput) Send(text string) { t.texts <- text }

// Close ends the input once the queued texts were read.
func (t *TextInput) Close() { t.once.Do(func() { close(t.done) }) }

// RecvText implements [session.TextInput].
func (t *TextInput) RecvText(ctx context.Context) (string, error) {
	select {
	case s := <-t.texts:
		return s, nil
	case <-t.done:
		// Send then Close may find both ready: the text comes first.
		select {
		case s := <-t.texts:
			return s, nil
		default:
			return "", io.EOF
		}
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
}

// TextOutput records the agent's text, one string per message, and each
// CaptureText call as it came.
type TextOutput struct {
	mu       sync.Mutex
	cur      strings.Builder
	messages []string
	deltas   []string
}

var _ session.TextOutput = (*TextOutput)(nil)

// CaptureText implements [session.TextOutput].
func (o *TextOutput) CaptureText(_ context.Context, text string) error {
	o.mu.Lock()
	o.cur.WriteString(text)
	o.deltas = append(o.deltas, text)
	o.mu.Unlock()
	return nil
}

// Deltas returns the text of every CaptureText call so far, in order.
func (o *TextOutput) Deltas() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.deltas...)
}

// Flush implements [session.TextOutput].
func (o *TextOutput) Flush() {
	o.mu.Lock()
	if o.cur.Len() > 0 {
		o.messages = append(o.messages, o.cur.String())
		o.cur.Reset()
	}
	o.mu.Unlock()
}

// Current returns the message being written, not yet flushed.
func (o *TextOutput) Current() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cur.String()
}

// Messages returns the flushed messages.
func (o *TextOutput) Messages() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.messages...)
}

// AudioOutput is a [session.PausableAudioOutput] that "plays" in real time
// by the clock (use it under testing/synctest): the position of a segment
// is the time it spent unpaused since audio arrived, capped at the audio
// queued. It keeps no goroutine.
type AudioOutput struct {
	mu           sync.Mutex
	queued       time.Duration // audio captured in this segment
	playedBefore time.Duration // position when the clock last stopped
	runningSince time.Time     // zero when not running
	paused       bool
	flushed      bool
	cleared      bool
	clearedAt    time.Duration
	changed      chan struct{} // closed on every state change

	frames   int
	firstAt  []time.Time
	segments []session.PlaybackResult
	onFrame  func()
}

var (
	_ session.PausableAudioOutput = (*AudioOutput)(nil)
	_ session.PlaybackPositioner  = (*AudioOutput)(nil)
)

// NewAudioOutput returns an idle output.
func NewAudioOutput() *AudioOutput { return &AudioOutput{changed: make(chan struct{})} }

// OnFrame sets a function called (without locks held) after each frame.
func (o *AudioOutput) OnFrame(fn func()) {
	o.mu.Lock()
	o.onFrame = fn
	o.mu.Unlock()
}

func (o *AudioOutput) position(now time.Time) time.Duration {
	p := o.playedBefore
	if !o.runningSince.IsZero() {
		p += now.Sub(o.runningSince)
	}
	return min(p, o.queued)
}

func (o *AudioOutput) signal() {
	close(o.changed)
	o.changed = make(chan struct{})
}

// CaptureFrame implements [session.AudioOutput].
func (o *AudioOutput) CaptureFrame(ctx context.Context, f session.AudioFrame) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	if o.cleared {
		o.mu.Unlock()
		return nil
	}
	now := time.Now()
	if pos := o.position(now); pos >= o.queued && !o.paused {
		// idle (or starved): the clock restarts with this frame
		o.playedBefore = pos
		o.runningSince = now
	}
	if o.queued == 0 {
		o.firstAt = append(o.firstAt, now)
	}
	o.queued += f.Duration()
	o.frames++
	fn := o.onFrame
	o.mu.Unlock()
	if fn != nil {
		fn()
	}
	return nil
}

// Flush implements [session.AudioOutput].
func (o *AudioOutput) Flush() {
	o.mu.Lock()
	o.flushed = true
	o.signal()
	o.mu.Unlock()
}

// ClearBuffer implements [session.AudioOutput].
func (o *AudioOutput) ClearBuffer() {
	o.mu.Lock()
	if !o.cleared && (o.queued > 0 || o.flushed) {
		o.cleared = true
		o.clearedAt = o.position(time.Now())
		o.signal()
	}
	o.mu.Unlock()
}

// Pause implements [session.PausableAudioOutput].
func (o *AudioOutput) Pause() {
	o.mu.Lock()
	if !o.paused {
		o.playedBefore = o.position(time.Now())
		o.runningSince = time.Time{}
		o.paused = true
		o.signal()
	}
	o.mu.Unlock()
}

// Resume implements [session.PausableAudioOutput].
func (o *AudioOutput) Resume() {
	o.mu.Lock()
	if o.paused {
		o.paused = false
		o.runningSince = time.Now()
		o.signal()
	}
	o.mu.Unlock()
}

// PlaybackPosition implements [session.PlaybackPositioner].
func (o *AudioOutput) PlaybackPosition() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.position(time.Now())
}

// Paused reports whether the output is paused.
func (o *AudioOutput) Paused() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.paused
}

// WaitForPlayout implements [session.AudioOutput].
func (o *AudioOutput) WaitForPlayout(ctx context.Context) (session.PlaybackResult, error) {
	for {
		o.mu.Lock()
		now := time.Now()
		var res session.PlaybackResult
		done := false
		switch {
		case o.cleared:
			res, done = session.PlaybackResult{Position: o.clearedAt, Interrupted: true}, true
		case o.flushed && o.position(now) >= o.queued:
			res, done = session.PlaybackResult{Position: o.queued}, true
		}
		if done {
			o.segments = append(o.segments, res)
			o.queued, o.playedBefore, o.runningSince = 0, 0, time.Time{}
			o.flushed, o.cleared, o.clearedAt = false, false, 0
			o.mu.Unlock()
			return res, nil
		}
		changed := o.changed
		var t *time.Timer
		var timer <-chan time.Time
		if o.flushed && !o.paused && !o.runningSince.IsZero() {
			t = time.NewTimer(o.queued - o.position(now))
			timer = t.C
		}
		o.mu.Unlock()
		var err error
		select {
		case <-changed:
		case <-timer:
		case <-ctx.Done():
			err = context.Cause(ctx)
		}
		if t != nil {
			t.Stop()
		}
		if err != nil {
			return session.PlaybackResult{}, err
		}
	}
}

// Frames returns how many frames were captured.
func (o *AudioOutput) Frames() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.frames
}

// Segments returns how each finished segment ended.
func (o *AudioOutput) Segments() []session.PlaybackResult {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]session.PlaybackResult(nil), o.segments...)
}

// Recorder collects a session's events; pass Recorder.Handle to
// session.WithEventHandler. Safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	events []session.Event
}

// Handle records e.
func (r *Recorder) Handle(e session.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// Events returns the events so far.
func (r *Recorder) Events() []session.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]session.Event(nil), r.events...)
}

// Of returns the recorded events of type T.
func Of[T session.Event](r *Recorder) []T {
	var out []T
	for _, e := range r.Events() {
		if v, ok := e.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// DiscardAudioOutput takes audio and plays it instantly: WaitForPlayout
// returns at once with everything played. For benchmarks and tests that do
// not look at playback. Safe for concurrent use.
type DiscardAudioOutput struct {
	mu      sync.Mutex
	queued  time.Duration
	cleared bool
	frames  int
}

var _ session.AudioOutput = (*DiscardAudioOutput)(nil)

// CaptureFrame implements [session.AudioOutput].
func (o *DiscardAudioOutput) CaptureFrame(ctx context.Context, f session.AudioFrame) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	o.queued += f.Duration()
	o.frames++
	o.mu.Unlock()
	return nil
}

// Flush implements [session.AudioOutput].
func (o *DiscardAudioOutput) Flush() {}

// ClearBuffer implements [session.AudioOutput].
func (o *DiscardAudioOutput) ClearBuffer() {
	o.mu.Lock()
	o.cleared = o.queued > 0
	o.mu.Unlock()
}

// WaitForPlayout implements [session.AudioOutput].
func (o *DiscardAudioOutput) WaitForPlayout(context.Context) (session.PlaybackResult, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	res := session.PlaybackResult{Position: o.queued, Interrupted: o.cleared}
	o.queued, o.cleared = 0, false
	return res, nil
}

// Frames returns how many frames were captured.
func (o *DiscardAudioOutput) Frames() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.frames
}
