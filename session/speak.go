package session

import (
	"context"
	"io"
	"iter"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type speakResult struct {
	text        string // everything the LLM (or Say) produced
	played      string // what the user heard (or was shown)
	interrupted bool   // cut short: by the user, or by a failing TTS or output
}

// textSeq reads text until it is closed, writing each piece to all as well.
// drain reads what a consumer that stopped early left.
func textSeq(text <-chan string, all *strings.Builder) (seq iter.Seq[string], drain func()) {
	seq = func(yield func(string) bool) {
		for d := range text {
			all.WriteString(d)
			if !yield(d) {
				return
			}
		}
	}
	drain = func() {
		for d := range text {
			all.WriteString(d)
		}
	}
	return seq, drain
}

func (t *task) speak(ctx context.Context, text <-chan string) speakResult {
	if t.audio {
		return t.speakAudio(ctx, text)
	}
	return t.speakText(ctx, text)
}

// speakText shows the reply on the text output as it streams (text mode).
func (t *task) speakText(ctx context.Context, text <-chan string) speakResult {
	var all, shown strings.Builder
	seq, drain := textSeq(text, &all)
	if node := t.agent.TranscriptionNode; node != nil {
		seq = node(ctx, seq)
	}
	out := t.io.TextOut
	for d := range seq {
		if ctx.Err() != nil {
			continue
		}
		if out != nil {
			if err := out.CaptureText(ctx, d); err != nil {
				if ctx.Err() == nil {
					t.textOutputFailed(err)
				}
				continue
			}
		}
		shown.WriteString(d)
		if d != "" {
			t.firstOutput()
		}
	}
	drain()
	if out != nil {
		out.Flush()
	}
	return speakResult{text: all.String(), played: strings.TrimSpace(shown.String()), interrupted: ctx.Err() != nil}
}

// speakAudio speaks the reply: text through the TTS node and the sentence
// splitter into TTS, audio to the output, the transcript paced by playout.
// It reports what was heard: all of it, or, when the user interrupted or
// the TTS or the output failed, the words played.
func (t *task) speakAudio(ctx context.Context, text <-chan string) speakResult {
	var stream TTSStream
	var err error
	if frames := t.h.req.audio; frames != nil {
		stream = newFramesStream(frames, t.h.req.text)
	} else {
		stream, err = t.s.o.tts.Stream(ctx)
	}
	if err != nil {
		var all strings.Builder
		for d := range text {
			all.WriteString(d)
		}
		if ctx.Err() == nil {
			t.s.report(SourceTTS, err)
		}
		return speakResult{text: all.String(), interrupted: true}
	}
	var ttsStart atomic.Int64 // unix nanos of this step's first text pushed to TTS
	pushed := make(chan string, 1)
	go func() { // exits when text is closed; the step closes it
		var all strings.Builder
		seq, drain := textSeq(text, &all)
		if node := t.agent.TTSNode; node != nil {
			seq = node(ctx, seq)
		}
		var sp sentenceSplitter
		ok := true
		push := func(s string) {
			if !ok || ctx.Err() != nil {
				return
			}
			ttsStart.CompareAndSwap(0, time.Now().UnixNano())
			if stream.PushText(s) != nil || stream.Flush() != nil {
				ok = false
			}
		}
		for d := range seq {
			for _, s := range sp.push(d) {
				push(s)
			}
		}
		if rest := sp.flush(); rest != "" {
			push(rest)
		}
		drain()
		_ = stream.EndInput()
		pushed <- all.String()
	}()

	out := t.io.AudioOut
	// A barge-in clears the output at once, from wherever this goroutine
	// waits (a blocked CaptureFrame, a TTS slow to end).
	clearDone := make(chan struct{})
	stopClear := context.AfterFunc(ctx, func() {
		defer close(clearDone)
		out.ClearBuffer()
	})
	defer func() {
		if !stopClear() {
			<-clearDone // never let a late clear cut the next speech
		}
	}()

	p := &playout{changed: make(chan struct{}, 1)}
	var tr *transcriptWriter
	allPlayed, stopPacing := make(chan struct{}), make(chan struct{})
	if to := t.io.TextOut; to != nil {
		tr = t.newTranscriptWriter(to)
		go tr.pace(ctx, p, t.position, allPlayed, stopPacing) // exits when stopPacing or allPlayed is closed, or ctx ends
	}

	var captured time.Duration // audio handed to the output so far
	newSeg := true
	first, outOK := true, false
	failed, outFailed := false, false
	for {
		a, err := stream.Recv()
		if err != nil {
			if err != io.EOF && ctx.Err() == nil {
				failed = true
				t.s.report(SourceTTS, err)
			}
			break
		}
		if ctx.Err() != nil {
			break
		}
		if first {
			first = false
			if start := ttsStart.Load(); start != 0 && t.metrics.TTSTTFB == 0 {
				t.metrics.TTSTTFB = time.Since(time.Unix(0, start))
			}
			t.post(func(l *loop) { l.worked(SourceTTS) })
		}
		p.mu.Lock()
		started := newSeg || p.segs[len(p.segs)-1].text != strings.TrimSpace(a.Text)
		if started {
			if n := len(p.segs); n > 0 {
				p.segs[n-1].ended = true
			}
			p.segs = append(p.segs, newSegment(strings.TrimSpace(a.Text)))
			newSeg = false
		}
		p.mu.Unlock()
		if started {
			p.poke()
		}
		if err := out.CaptureFrame(ctx, a.Frame); err != nil {
			if ctx.Err() == nil {
				failed, outFailed = true, true
				t.s.report(SourceAudioOutput, err)
			}
			break
		}
		if !outOK {
			outOK = true
			t.post(func(l *loop) { l.worked(SourceAudioOutput) })
		}
		t.firstOutput()
		t.startedAt.CompareAndSwap(0, time.Now().UnixNano())
		p.mu.Lock()
		seg := &p.segs[len(p.segs)-1]
		seg.dur += a.Frame.Duration()
		if a.SegmentEnd {
			seg.ended = true
			newSeg = true
		}
		p.mu.Unlock()
		if a.SegmentEnd {
			p.poke()
		}
		captured += a.Frame.Duration()
	}
	_ = stream.Close()
	all := <-pushed
	if ctx.Err() != nil {
		out.ClearBuffer()
	}
	pr := t.waitPlayout(out, captured, outFailed)
	interrupted := pr.Interrupted || ctx.Err() != nil || failed
	if !interrupted {
		close(allPlayed)
	} else {
		close(stopPacing)
	}
	segs := p.snapshot()
	heard := heardBy(segs, pr.Position)
	if tr != nil {
		heard = tr.finish(segs, heard)
	}
	t.startedAt.Store(0)
	switch {
	case tr != nil && tr.node:
		return speakResult{text: all, played: strings.TrimSpace(tr.shown.String()), interrupted: interrupted}
	case !interrupted:
		return speakResult{text: all, played: strings.TrimSpace(all)}
	}
	return speakResult{text: all, played: textUpTo(segs, heard), interrupted: true}
}

// waitPlayout flushes the output and waits for what was captured to play.
// Not the reply's context: an interrupted reply still needs the position.
// The session's, so a broken output cannot hold up Close; and after a
// failed capture no longer than the audio could take.
func (t *task) waitPlayout(out AudioOutput, captured time.Duration, outFailed bool) PlaybackResult {
	out.Flush()
	ctx := t.sctx
	if outFailed {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, captured+time.Second)
		defer cancel()
	}
	pr, err := out.WaitForPlayout(ctx)
	if err != nil {
		return PlaybackResult{Position: min(t.position(), captured), Interrupted: true}
	}
	return pr
}

// position is how much of this step's audio has played: as the output
// says, else by the clock since the first frame went out.
func (t *task) position() time.Duration {
	if p, ok := t.io.AudioOut.(PlaybackPositioner); ok {
		return p.PlaybackPosition()
	}
	start := t.startedAt.Load()
	if start == 0 {
		return 0
	}
	return time.Since(time.Unix(0, start))
}

// transcriptWriter sends the agent's words to the text output, through the
// agent's TranscriptionNode when it has one, and keeps what it sent.
type transcriptWriter struct {
	to     TextOutput
	ctx    context.Context // the session's: the words heard go out even after an interruption
	failed func(error)     // reports a failure of to
	node   bool
	words  chan string   // to the node's goroutine
	done   chan struct{} // closed when the node's goroutine returned
	paced  chan cursor   // what the pacer got to

	mu    sync.Mutex
	shown strings.Builder
}

func (t *task) newTranscriptWriter(to TextOutput) *transcriptWriter {
	w := &transcriptWriter{to: to, ctx: t.sctx, failed: t.textOutputFailed, paced: make(chan cursor, 1)}
	node := t.agent.TranscriptionNode
	if node == nil {
		return w
	}
	w.node = true
	w.words, w.done = make(chan string), make(chan struct{})
	go func() { // exits once words is closed (finish) and the node returned
		defer close(w.done)
		var all strings.Builder
		seq, drain := textSeq(w.words, &all)
		for d := range node(w.ctx, seq) {
			w.send(d)
		}
		drain()
	}()
	return w
}

func (w *transcriptWriter) send(d string) {
	if err := w.to.CaptureText(w.ctx, d); err != nil {
		if w.ctx.Err() == nil {
			w.failed(err)
		}
		return
	}
	w.mu.Lock()
	w.shown.WriteString(d)
	w.mu.Unlock()
}

func (w *transcriptWriter) emit(d string) {
	if w.node {
		w.words <- d
		return
	}
	w.send(d)
}

func (w *transcriptWriter) pace(ctx context.Context, p *playout, position func() time.Duration, allPlayed, stop <-chan struct{}) {
	w.paced <- p.pace(ctx, position, w.emit, allPlayed, stop)
}

// finish tops the transcript up to the words heard, ends it, and returns
// where it ended: where playback stopped, or further when the transcript
// ran ahead of it (an output without a playback position), so history and
// transcript end at the same word.
func (w *transcriptWriter) finish(segs []segment, heard cursor) cursor {
	paced := <-w.paced
	forEachWord(segs, paced, heard, w.emit)
	if heard.before(paced) {
		heard = paced
	}
	if w.node {
		close(w.words)
		<-w.done
	}
	w.to.Flush()
	return heard
}

// framesStream plays given audio in place of TTS (Say with WithAudio): the
// text pushed is ignored, every frame carries the Say's text.
type framesStream struct {
	next    func() (AudioFrame, bool)
	stop    func()
	text    string
	pending AudioFrame // read ahead, to mark the last frame
	has     bool
	started bool
}

func newFramesStream(frames iter.Seq[AudioFrame], text string) *framesStream {
	next, stop := iter.Pull(frames)
	return &framesStream{next: next, stop: stop, text: text}
}

func (f *framesStream) PushText(string) error { return nil }
func (f *framesStream) Flush() error          { return nil }
func (f *framesStream) EndInput() error       { return nil }
func (f *framesStream) Close() error          { f.stop(); return nil }

// Recv is called by the one goroutine that also calls Close.
func (f *framesStream) Recv() (SynthesizedAudio, error) {
	if !f.started {
		f.started = true
		f.pending, f.has = f.next()
	}
	if !f.has {
		return SynthesizedAudio{}, io.EOF
	}
	fr := f.pending
	f.pending, f.has = f.next()
	return SynthesizedAudio{Frame: fr, Text: f.text, SegmentEnd: !f.has}, nil
}
