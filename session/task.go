package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
)

// task runs one speech on its own goroutine. It reads a snapshot of the
// session (agent, history) taken when it started and reports back to the
// loop by posting.
type task struct {
	s     *Session
	h     *SpeechHandle
	agent *Agent
	chat  *ChatContext
	audio bool
	io    IO
	sctx  context.Context // the session's: tools and playout waits outlive the reply

	firstOnce sync.Once
	metrics   TurnMetrics
	ttsStart  atomic.Int64 // unix nanos of the first text pushed to TTS
	spoke     atomic.Bool  // this step's first output went out
	startedAt atomic.Int64 // unix nanos of this step's first frame out
}

func (t *task) post(fn func(*loop)) { t.s.post(fn) }

func (t *task) run(ctx context.Context) {
	if t.h.req.say {
		t.runSay(ctx)
		return
	}
	t.runReply(ctx)
}

func (t *task) runSay(ctx context.Context) {
	text := make(chan string, 1)
	text <- t.h.req.text
	close(text)
	res := t.speak(ctx, text)
	if t.h.req.addToHistory && (res.played != "" || !res.interrupted) {
		msg := &ChatMessage{Role: RoleAssistant, Content: res.played, Interrupted: res.interrupted}
		t.post(func(l *loop) { l.addItems(msg) })
	}
}

func (t *task) runReply(ctx context.Context) {
	req := t.h.req
	if req.preempt != nil {
		// Unused (a veto, an error) or used and done: either way, end it.
		defer req.preempt.discard(ErrPreemptiveDiscarded)
	}
	t.metrics.SpeechID = t.h.id
	chat := t.chat
	if req.userMsg != nil {
		msg := req.userMsg
		veto := false
		if hook := t.agent.OnUserTurnCompleted; hook != nil && req.source == "user_turn" {
			hookChat := chat.Copy()
			if err := hook(ctx, hookChat, msg); errors.Is(err, ErrStopResponse) {
				veto = true
			} else if err != nil {
				t.post(func(l *loop) { l.reportError("hook", err) })
			}
			chat = hookChat
		}
		fill(&msg.ID, &msg.CreatedAt, "msg_", time.Now())
		saved := *msg
		t.post(func(l *loop) { l.addItems(&saved) })
		chat.Add(msg)
		if veto {
			return
		}
	}
	defer t.post(func(l *loop) { l.emit(MetricsEvent{Metrics: t.metrics}) })
	if !req.speechEndAt.IsZero() {
		if !req.commitAt.IsZero() {
			t.metrics.EndOfUtteranceDelay = req.commitAt.Sub(req.speechEndAt)
		}
		if !req.lastFinalAt.IsZero() {
			t.metrics.TranscriptionDelay = max(req.lastFinalAt.Sub(req.speechEndAt), 0)
		}
	}

	maxSteps := t.s.o.maxToolSteps
	tools := t.agent.toolDefs()
	toolChoice := req.toolChoice
	for step := 0; ; step++ {
		if step > 0 && step >= maxSteps {
			toolChoice = ToolChoiceNone // the last step ends in words
		}
		t.spoke.Store(false)
		lreq := buildRequest(t.agent, chat, req, tools, toolChoice)
		var run *llmRun
		if step == 0 && req.preempt != nil {
			if equivalentRequests(req.preempt.req, lreq) {
				run = req.preempt
				t.metrics.Preemptive = true
			} else {
				req.preempt.discard(ErrPreemptiveDiscarded)
			}
		}
		if run == nil {
			run = startLLM(ctx, t.s, lreq)
		}
		res := t.step(ctx, run)
		run.discard(context.Canceled)

		var items []ChatItem
		if res.speech.text != "" || res.speech.played != "" {
			items = append(items, &ChatMessage{Role: RoleAssistant, Content: res.speech.played, Interrupted: res.speech.interrupted})
		}
		var calls []*FunctionCall
		var outs []*FunctionCallOutput
		var handoff *Agent
		replyWanted := false
		for _, tr := range res.tools {
			calls = append(calls, tr.call)
			outs = append(outs, tr.out)
			if tr.res.Handoff != nil {
				handoff = tr.res.Handoff
			} else if !tr.res.NoReply || tr.out.IsError {
				replyWanted = true
			}
		}
		for _, c := range calls {
			items = append(items, c)
		}
		for _, o := range outs {
			items = append(items, o)
		}
		if len(items) > 0 {
			// History and events get their own copies: the task keeps
			// reading its items for the next step.
			posted := NewChatContext(items...).Copy().Items
			var ev FunctionToolsExecutedEvent
			if len(calls) > 0 {
				c := NewChatContext(items[len(items)-2*len(calls):]...).Copy().Items
				for i := range calls {
					ev.Calls = append(ev.Calls, c[i].(*FunctionCall))
					ev.Outputs = append(ev.Outputs, c[len(calls)+i].(*FunctionCallOutput))
				}
			}
			t.post(func(l *loop) {
				l.addItems(posted...)
				if len(ev.Calls) > 0 {
					l.emit(ev)
				}
			})
		}
		if res.err != nil {
			err := res.err
			t.post(func(l *loop) { l.reportError("llm", err) })
			return
		}
		if handoff != nil {
			old := t.agent
			t.post(func(l *loop) { l.enterAgent(old, handoff) })
			return
		}
		if ctx.Err() != nil || len(calls) == 0 || !replyWanted || step >= maxSteps {
			return
		}
		for _, it := range items {
			chat.Add(it)
		}
		toolChoice = ToolChoice{}
	}
}

// buildRequest puts the agent's instructions (and the reply's own) around
// the history.
func buildRequest(a *Agent, chat *ChatContext, req speechRequest, tools []ToolDefinition, tc ToolChoice) ChatRequest {
	items := make([]ChatItem, 0, len(chat.Items)+2)
	if a != nil && a.Instructions != "" {
		items = append(items, &ChatMessage{ID: "instructions", Role: RoleSystem, Content: a.Instructions})
	}
	items = append(items, chat.Items...)
	if req.instructions != "" {
		items = append(items, &ChatMessage{ID: "reply_instructions", Role: RoleSystem, Content: req.instructions})
	}
	return ChatRequest{Chat: &ChatContext{Items: items}, Tools: tools, ToolChoice: tc, ModelOptions: req.modelOptions}
}

// equivalentRequests reports whether two requests ask the model the same
// thing (item ids and times aside).
func equivalentRequests(a, b ChatRequest) bool {
	if len(a.Chat.Items) != len(b.Chat.Items) || a.ToolChoice != b.ToolChoice || len(a.Tools) != len(b.Tools) {
		return false
	}
	for i := range a.Tools {
		if a.Tools[i].Name != b.Tools[i].Name || a.Tools[i].Description != b.Tools[i].Description || string(a.Tools[i].Parameters) != string(b.Tools[i].Parameters) {
			return false
		}
	}
	if (len(a.ModelOptions) != 0 || len(b.ModelOptions) != 0) && !reflect.DeepEqual(a.ModelOptions, b.ModelOptions) {
		return false
	}
	for i, x := range a.Chat.Items {
		switch x := x.(type) {
		case *ChatMessage:
			y, ok := b.Chat.Items[i].(*ChatMessage)
			if !ok || x.Role != y.Role || x.Content != y.Content {
				return false
			}
		case *FunctionCall:
			y, ok := b.Chat.Items[i].(*FunctionCall)
			if !ok || x.CallID != y.CallID || x.Name != y.Name || x.Arguments != y.Arguments {
				return false
			}
		case *FunctionCallOutput:
			y, ok := b.Chat.Items[i].(*FunctionCallOutput)
			if !ok || x.CallID != y.CallID || x.Output != y.Output || x.IsError != y.IsError {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// llmRun is one LLM stream read on its own goroutine into a channel, so a
// preemptive generation can start before anyone reads it.
type llmRun struct {
	req     ChatRequest
	ch      chan llmItem // closed by the reader
	cancel  context.CancelCauseFunc
	done    chan struct{}
	started time.Time

	// What a preemptive generation was started for.
	userText                  string
	chatVersion, agentVersion int
}

type llmItem struct {
	chunk ChatChunk
	err   error
	at    time.Time
}

func startLLM(parent context.Context, s *Session, req ChatRequest) *llmRun {
	ctx, cancel := context.WithCancelCause(parent)
	r := &llmRun{req: req, ch: make(chan llmItem, 32), cancel: cancel, done: make(chan struct{}), started: time.Now()}
	s.spawn(func() { // exits at the stream's end or when ctx ends
		defer close(r.done)
		defer close(r.ch)
		send := func(it llmItem) bool {
			select {
			case r.ch <- it:
				return true
			case <-ctx.Done():
				return false
			}
		}
		if s.o.llm == nil {
			send(llmItem{err: errNoLLM})
			return
		}
		stream, err := s.o.llm.Chat(ctx, req)
		if err != nil {
			send(llmItem{err: err})
			return
		}
		defer stream.Close()
		for {
			c, err := stream.Recv()
			if err == io.EOF {
				return
			}
			if err != nil {
				send(llmItem{err: err})
				return
			}
			if !send(llmItem{chunk: c, at: time.Now()}) {
				return
			}
		}
	})
	return r
}

// discard stops the run and waits for its reader.
func (r *llmRun) discard(cause error) {
	r.cancel(cause)
	<-r.done
}

type toolRun struct {
	call *FunctionCall
	out  *FunctionCallOutput
	res  ToolResult
}

type stepResult struct {
	speech speakResult
	tools  []*toolRun
	err    error
}

// step streams one LLM answer: text to speech, tool calls to tools that
// start at once and run in parallel.
func (t *task) step(ctx context.Context, run *llmRun) stepResult {
	text := make(chan string, 16)
	spoke := make(chan speakResult, 1)
	go func() { spoke <- t.speak(ctx, text) }() // exits when text is closed (below)

	var res stepResult
	var wg sync.WaitGroup
	first := true
recv:
	for {
		select {
		case it, ok := <-run.ch:
			if !ok {
				break recv
			}
			if it.err != nil {
				if ctx.Err() == nil {
					res.err = it.err
				}
				break recv
			}
			c := it.chunk
			if c.Index != 0 {
				continue
			}
			if c.Usage != nil {
				u := &t.metrics.Usage
				u.PromptTokens += c.Usage.PromptTokens
				u.CompletionTokens += c.Usage.CompletionTokens
				u.TotalTokens += c.Usage.TotalTokens
				u.CachedPromptTokens += c.Usage.CachedPromptTokens
			}
			if first && (c.Content != "" || len(c.ToolCalls) > 0) {
				first = false
				if t.metrics.LLMTTFT == 0 {
					t.metrics.LLMTTFT = it.at.Sub(run.started)
				}
			}
			for _, fc := range c.ToolCalls {
				call := fc
				fill(&call.ID, &call.CreatedAt, "fnc_", time.Now())
				tr := &toolRun{call: &call}
				res.tools = append(res.tools, tr)
				wg.Add(1)
				go func() { // exits when the tool returns; tools see the session's ctx
					defer wg.Done()
					tr.out, tr.res = t.callTool(t.sctx, *tr.call)
				}()
			}
			if c.Content != "" {
				select {
				case text <- c.Content:
				case <-ctx.Done():
					break recv
				}
			}
		case <-ctx.Done():
			break recv
		}
	}
	close(text)
	res.speech = <-spoke
	if len(res.tools) > 0 && ctx.Err() == nil {
		t.setState(AgentThinking) // said its piece, now waits on tools
	}
	wg.Wait()
	return res
}

func (t *task) callTool(ctx context.Context, call FunctionCall) (out *FunctionCallOutput, res ToolResult) {
	out = &FunctionCallOutput{CallID: call.CallID, Name: call.Name}
	fill(&out.ID, &out.CreatedAt, "fnco_", time.Now())
	tool := t.agent.tool(call.Name)
	if tool == nil {
		out.Output, out.IsError = fmt.Sprintf("unknown tool %q", call.Name), true
		return out, res
	}
	defer func() {
		if p := recover(); p != nil {
			out.Output, out.IsError = fmt.Sprintf("tool %q failed: %v", call.Name, p), true
			res = ToolResult{}
		}
	}()
	r, err := tool.Call(ctx, call.Arguments)
	if err != nil {
		out.Output, out.IsError = err.Error(), true
		return out, ToolResult{}
	}
	out.Output = r.Output
	if r.Handoff != nil && out.Output == "" {
		out.Output = "transferred to another agent"
	}
	return out, r
}

// firstOutput records the first audio frame (or text) handed out.
func (t *task) firstOutput() {
	t.firstOnce.Do(func() {
		now := time.Now()
		req := t.h.req
		if !req.speechEndAt.IsZero() {
			t.metrics.E2ELatency = now.Sub(req.speechEndAt)
		}
		if !req.commitAt.IsZero() {
			t.metrics.CommitToFirstOutput = now.Sub(req.commitAt)
		}
	})
	if t.spoke.CompareAndSwap(false, true) { // once per step
		t.setState(AgentSpeaking)
	}
}

// setState sets the agent's state if this speech is still the current one,
// and when it speaks, ends the run of errors: the pipeline works again.
func (t *task) setState(st AgentState) {
	h := t.h
	t.post(func(l *loop) {
		if st == AgentSpeaking {
			l.resetErrors()
		}
		if l.current == h && !l.paused && !h.Interrupted() {
			l.setAgentState(st)
		}
	})
}

type speakResult struct {
	text        string // everything the LLM (or Say) produced
	played      string // what the user heard (or was shown)
	interrupted bool
}

func (t *task) speak(ctx context.Context, text <-chan string) speakResult {
	if t.audio {
		return t.speakAudio(ctx, text)
	}
	var all, shown strings.Builder
	out := t.io.TextOut
	for d := range text {
		all.WriteString(d)
		if ctx.Err() != nil {
			continue
		}
		if out != nil {
			if err := out.CaptureText(ctx, d); err != nil {
				continue
			}
		}
		shown.WriteString(d)
		if d != "" {
			t.firstOutput()
		}
	}
	if out != nil {
		out.Flush()
	}
	interrupted := ctx.Err() != nil
	return speakResult{text: all.String(), played: strings.TrimSpace(shown.String()), interrupted: interrupted}
}

type segment struct {
	text  string
	dur   time.Duration
	ended bool
}

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
			t.post(func(l *loop) { l.reportError("tts", err) })
		}
		return speakResult{text: all.String(), interrupted: ctx.Err() != nil}
	}
	pushed := make(chan string, 1)
	go func() { // exits when text is closed; the step closes it
		var sp sentenceSplitter
		var all strings.Builder
		ok := true
		push := func(s string) {
			if !ok || ctx.Err() != nil {
				return
			}
			t.ttsStart.CompareAndSwap(0, time.Now().UnixNano())
			if stream.PushText(s) != nil || stream.Flush() != nil {
				ok = false
			}
		}
		for d := range text {
			all.WriteString(d)
			for _, s := range sp.push(d) {
				push(s)
			}
		}
		if rest := sp.flush(); rest != "" {
			push(rest)
		}
		_ = stream.EndInput()
		pushed <- all.String()
	}()

	out := t.io.AudioOut
	var segs []segment
	var captured time.Duration // audio handed to the output so far
	newSeg := true
	// The agent's words go to the text output as they are heard: each
	// segment when playout reaches it.
	var cues chan textCue
	played := make(chan struct{}) // closed once playout finished whole
	shown := make(chan struct{})
	if to := t.io.TextOut; to != nil {
		cues = make(chan textCue, 256)
		go func() { // exits when cues is closed or ctx ends
			defer close(shown)
			t.showText(ctx, to, cues, played)
		}()
	} else {
		close(shown)
	}
	for {
		a, err := stream.Recv()
		if err != nil {
			if err != io.EOF && ctx.Err() == nil {
				t.post(func(l *loop) { l.reportError("tts", err) })
			}
			break
		}
		if ctx.Err() != nil {
			break
		}
		if len(segs) == 0 {
			if start := t.ttsStart.Load(); start != 0 {
				t.metrics.TTSTTFB = time.Since(time.Unix(0, start))
			}
		}
		if newSeg || segs[len(segs)-1].text != a.Text {
			segs = append(segs, segment{text: a.Text})
			newSeg = false
			if cues != nil && a.Text != "" {
				select {
				case cues <- textCue{at: captured, text: a.Text}:
				case <-ctx.Done():
				}
			}
		}
		if err := out.CaptureFrame(ctx, a.Frame); err != nil {
			break
		}
		t.firstOutput()
		t.startedAt.CompareAndSwap(0, time.Now().UnixNano())
		seg := &segs[len(segs)-1]
		seg.dur += a.Frame.Duration()
		captured += a.Frame.Duration()
		if a.SegmentEnd {
			seg.ended = true
			newSeg = true
		}
	}
	_ = stream.Close()
	all := <-pushed
	if ctx.Err() != nil {
		out.ClearBuffer()
	}
	out.Flush()
	// Not the reply's context: an interrupted reply still needs the
	// position. The session's, so a broken output cannot hold up Close.
	pr, err := out.WaitForPlayout(t.sctx)
	if err != nil {
		pr = PlaybackResult{Interrupted: true}
	}
	if cues != nil {
		close(cues)
	}
	if !pr.Interrupted && ctx.Err() == nil {
		close(played) // all heard: show what is left at once
	}
	<-shown
	t.startedAt.Store(0)
	if to := t.io.TextOut; to != nil {
		to.Flush()
	}
	interrupted := pr.Interrupted || ctx.Err() != nil
	if !interrupted {
		return speakResult{text: all, played: strings.TrimSpace(all)}
	}
	return speakResult{text: all, played: playedText(segs, pr.Position), interrupted: true}
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

// textCue is a segment's text and where in the playout it starts.
type textCue struct {
	at   time.Duration
	text string
}

// showText writes each cue's text when playout reaches it: by the output's
// own position when it reports one, else by the clock since the first
// frame went out. It stops when the reply's context ends (the rest was not
// heard) and shows everything left once played is closed.
func (t *task) showText(ctx context.Context, to TextOutput, cues <-chan textCue, played <-chan struct{}) {
	pos := func() time.Duration {
		if p, ok := t.io.AudioOut.(PlaybackPositioner); ok {
			return p.PlaybackPosition()
		}
		start := t.startedAt.Load()
		if start == 0 {
			return 0
		}
		return time.Since(time.Unix(0, start))
	}
	sep := ""
	for c := range cues {
		for wait := c.at - pos(); wait > 0; wait = c.at - pos() {
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-played:
				timer.Stop()
				wait = 0
			case <-ctx.Done():
				timer.Stop()
				return
			}
			if wait == 0 {
				break
			}
		}
		if ctx.Err() != nil {
			return
		}
		_ = to.CaptureText(ctx, sep+c.text)
		sep = " "
	}
}

// charDuration estimates how long a character takes to say, for segments
// whose audio had not all arrived when playback stopped.
const charDuration = 60 * time.Millisecond

// playedText is the text of the segments heard up to pos, the last one cut
// in proportion to how much of it played, at a word boundary.
func playedText(segs []segment, pos time.Duration) string {
	var parts []string
	var at time.Duration
	for _, sg := range segs {
		total := sg.dur
		if !sg.ended {
			total = max(total, time.Duration(len([]rune(sg.text)))*charDuration)
		}
		if at+total <= pos {
			parts = append(parts, sg.text)
			at += total
			continue
		}
		if total > 0 && pos > at {
			if p := prefixWords(sg.text, float64(pos-at)/float64(total)); p != "" {
				parts = append(parts, p)
			}
		}
		break
	}
	return strings.Join(parts, " ")
}

// prefixWords returns the whole words within the first frac of text.
func prefixWords(text string, frac float64) string {
	r := []rune(text)
	n := int(frac * float64(len(r)))
	if n >= len(r) {
		return text
	}
	if n < len(r) && !unicode.IsSpace(r[n]) {
		for n > 0 && !unicode.IsSpace(r[n-1]) {
			n--
		}
	}
	return strings.TrimSpace(string(r[:n]))
}
