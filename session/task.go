package session

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// task runs one speech on its own goroutine. It reads a snapshot of the
// session (agent, history) taken when it started and reports back to the
// loop by posting.
type task struct {
	s     *Session
	h     *SpeechHandle
	agent agentView
	chat  *ChatContext
	audio bool
	io    IO
	sctx  context.Context // the session's: playout waits outlive the reply

	firstOnce sync.Once
	metrics   TurnMetrics
	spoke     atomic.Bool  // this step's first output went out
	startedAt atomic.Int64 // unix nanos of this step's first frame out
	textFail  atomic.Bool  // the text output failed (reported once a speech)
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
	startedAt := time.Now()
	res := t.speak(ctx, text)
	if t.h.req.addToHistory && res.played != "" {
		msg := &ChatMessage{Role: RoleAssistant, Content: res.played, Interrupted: res.interrupted, CreatedAt: startedAt}
		t.post(func(l *loop) { l.addItems(msg) })
	}
}

// withoutItem returns chat without the item with the given id.
func withoutItem(chat *ChatContext, id string) *ChatContext {
	out := &ChatContext{Items: make([]ChatItem, 0, len(chat.Items))}
	for _, it := range chat.Items {
		if it.ItemID() != id {
			out.Items = append(out.Items, it)
		}
	}
	return out
}

// userTurn runs the OnUserTurnCompleted hook and returns the history the
// reply reads, or false when the hook vetoed the reply.
func (t *task) userTurn(ctx context.Context) (*ChatContext, bool) {
	req := t.h.req
	chat := t.chat
	msg := req.userMsg
	if msg == nil {
		return chat, true
	}
	hook := t.agent.OnUserTurnCompleted
	if hook == nil || req.source != "user_turn" {
		if chat.Index(msg.ID) < 0 { // history was replaced since the commit
			chat.Add(msg)
		}
		return chat, true
	}
	// The hook sees history without the new message and may change both;
	// the message is in history already, so a changed one replaces it.
	hookChat := withoutItem(chat, msg.ID).Copy()
	m := *msg
	err := hook(ctx, hookChat, &m)
	if m != *msg {
		saved := m
		t.post(func(l *loop) { l.replaceItem(&saved) })
	}
	hookChat.Add(&m)
	switch {
	case errors.Is(err, ErrStopResponse):
		return nil, false
	case err != nil:
		t.s.report(SourceHook, err)
	}
	return hookChat, true
}

func (t *task) runReply(ctx context.Context) {
	req := t.h.req
	if req.preempt != nil {
		// Unused (a veto, an error) or used and done: either way, end it.
		defer req.preempt.discard(ErrPreemptiveDiscarded)
	}
	t.metrics.SpeechID = t.h.id
	chat, ok := t.userTurn(ctx)
	if !ok {
		return
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
	agent := t.agent
	toolChoice := req.toolChoice
	var handoff *Agent
	defer func() {
		if handoff != nil {
			old := agent.Agent
			t.post(func(l *loop) { l.enterAgent(old, handoff) })
		}
	}()
	for step := 0; ; step++ {
		if step > 0 {
			agent = t.currentAgent(ctx, agent)
			toolChoice = ToolChoice{}
			if step >= maxSteps || handoff != nil {
				toolChoice = ToolChoiceNone // the last step ends in words
			}
		}
		t.spoke.Store(false)
		lreq := buildRequest(agent, chat, req, agent.toolDefs(), toolChoice)
		var run *llmRun
		if step == 0 && req.preempt != nil {
			if equivalentRequests(req.preempt.request(), lreq) {
				run = req.preempt
				t.metrics.Preemptive = true
			} else {
				req.preempt.discard(ErrPreemptiveDiscarded)
			}
		}
		if run == nil {
			run = startLLM(ctx, t.s, agent, func() ChatRequest { return lreq })
		}
		res := t.step(ctx, run, agent)
		run.discard(context.Canceled)

		interrupted := ctx.Err() != nil
		var calls []*FunctionCall
		var outs []*FunctionCallOutput
		replyWanted := false
		for _, tr := range res.tools {
			switch {
			case tr.res.Handoff != nil && interrupted:
				tr.out.Output, tr.out.IsError = "the agent handoff was interrupted and did not happen", true
			case tr.res.Handoff != nil && handoff != nil:
				tr.out.Output, tr.out.IsError = "another call of this step handed off already", true
			case tr.res.Handoff != nil:
				if err := checkAgent(tr.res.Handoff); err != nil {
					t.s.o.logger.Error("tool handed off to an agent the session cannot run", "component", "session", "speech_id", t.h.id, "tool", tr.call.Name, "err", err)
					tr.out.Output, tr.out.IsError = toolFailedOutput, true
					replyWanted = true
					break
				}
				handoff = tr.res.Handoff
			case !tr.res.NoReply || tr.out.IsError:
				replyWanted = true
			}
			calls = append(calls, tr.call)
			outs = append(outs, tr.out)
		}
		if len(calls) > 0 {
			t.postTools(calls, outs)
		}
		if res.err != nil {
			t.s.report(SourceLLM, res.err)
			return
		}
		if interrupted || len(calls) == 0 || !replyWanted || step >= maxSteps {
			return
		}
		if res.msg != nil {
			chat.Add(res.msg)
		}
		for _, c := range calls {
			chat.Add(c)
		}
		for _, o := range outs {
			chat.Add(o)
		}
	}
}

// postTools adds one step's finished calls and their outputs to history
// and reports them. History and the event get their own copies: the task
// keeps reading its items for the next step.
func (t *task) postTools(calls []*FunctionCall, outs []*FunctionCallOutput) {
	items := make([]ChatItem, 0, 2*len(calls))
	for _, c := range calls {
		items = append(items, c)
	}
	for _, o := range outs {
		items = append(items, o)
	}
	posted := NewChatContext(items...).Copy().Items
	var ev FunctionToolsExecutedEvent
	for i, it := range NewChatContext(items...).Copy().Items {
		if i < len(calls) {
			ev.Calls = append(ev.Calls, it.(*FunctionCall))
		} else {
			ev.Outputs = append(ev.Outputs, it.(*FunctionCallOutput))
		}
	}
	t.post(func(l *loop) {
		l.addItems(posted...)
		l.emit(ev)
	})
}

// currentAgent returns the active agent as the loop has it now (its
// instructions and tools may have been updated), as long as it is still
// the agent that runs this reply.
func (t *task) currentAgent(ctx context.Context, was agentView) agentView {
	ch := make(chan agentView, 1)
	t.post(func(l *loop) { ch <- l.agent })
	select {
	case v := <-ch:
		if v.Agent == was.Agent {
			return v
		}
	case <-ctx.Done():
	}
	return was
}

// buildRequest puts the agent's instructions (and the reply's own) around
// the history.
func buildRequest(a agentView, chat *ChatContext, req speechRequest, tools []ToolDefinition, tc ToolChoice) ChatRequest {
	items := make([]ChatItem, 0, len(chat.Items)+2)
	if a.instructions != "" {
		items = append(items, &ChatMessage{ID: "instructions", Role: RoleSystem, Content: a.instructions})
	}
	items = append(items, chat.Items...)
	if req.instructions != "" {
		items = append(items, &ChatMessage{ID: "reply_instructions", Role: RoleSystem, Content: req.instructions})
	}
	return ChatRequest{Chat: &ChatContext{Items: items}, Tools: tools, ToolChoice: tc, ModelOptions: req.modelOptions}
}

type toolRun struct {
	call *FunctionCall
	out  *FunctionCallOutput
	res  ToolResult
	late bool          // returned after its reply was interrupted
	done chan struct{} // closed once out, res and late are set
}

type stepResult struct {
	msg   *ChatMessage // what the agent said, as history keeps it; nil if nothing
	tools []*toolRun   // the calls that finished, in the model's order
	err   error
}

// step streams one LLM answer: text to speech, tool calls to tools that
// start at once and run in parallel. It returns once the speech ended and
// every tool returned, or, when the reply is interrupted, at once with the
// tools that had finished. agent is the agent as this step offered it to
// the model: its tools are the ones the calls name.
func (t *task) step(ctx context.Context, run *llmRun, agent agentView) stepResult {
	text := make(chan string, 16)
	spoke := make(chan speakResult, 1)
	played := make(chan struct{}) // closed when this step's speech ended
	startedAt := time.Now()
	go func() { // exits when text is closed (below) and the speech ended
		r := t.speak(ctx, text)
		close(played)
		spoke <- r
	}()

	var res stepResult
	var runs []*toolRun
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
				runs = append(runs, t.startTool(ctx, agent, fc, played))
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
	sp := <-spoke
	if sp.played != "" {
		res.msg = &ChatMessage{Role: RoleAssistant, Content: sp.played, Interrupted: sp.interrupted, CreatedAt: startedAt}
		fill(&res.msg.ID, &res.msg.CreatedAt, "msg_", startedAt)
		saved := *res.msg
		t.post(func(l *loop) { l.addItems(&saved) })
	}
	if len(runs) > 0 && ctx.Err() == nil {
		t.setState(AgentThinking) // said its piece, now waits on tools
	}
	for _, tr := range runs {
		select {
		case <-tr.done:
		case <-ctx.Done():
		}
		// Interrupted: keep the calls that had finished, leave the rest
		// (cancelled through ctx) to end on their own.
		select {
		case <-tr.done:
			if !tr.late {
				res.tools = append(res.tools, tr)
			}
		default:
		}
	}
	return res
}

// startTool runs one call of agent's tools on a goroutine of its own, with
// the reply's context and the call's RunContext.
func (t *task) startTool(ctx context.Context, agent agentView, fc FunctionCall, played <-chan struct{}) *toolRun {
	call := fc
	fill(&call.ID, &call.CreatedAt, "fnc_", time.Now())
	tr := &toolRun{call: &call, done: make(chan struct{})}
	rc := &RunContext{s: t.s, h: t.h, call: call, played: played}
	tctx := context.WithValue(ctx, runContextKey{}, rc)
	t.s.spawn("tool "+strconv.Quote(call.Name), func() { // exits when the tool returns; ctx asks it to
		out, res := t.callTool(tctx, agent, call)
		tr.out, tr.res, tr.late = out, res, tctx.Err() != nil
		close(tr.done)
	})
	return tr
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

// textOutputFailed reports the first failure of the text output in this
// speech: the words it refused are neither shown nor kept in history.
func (t *task) textOutputFailed(err error) {
	if t.textFail.CompareAndSwap(false, true) {
		t.s.report(SourceTextOutput, err)
	}
}

// setState records what this speech does, if it is still the current one.
func (t *task) setState(st AgentState) {
	h := t.h
	t.post(func(l *loop) {
		if l.current == h && !h.Interrupted() {
			l.setSpeechState(st)
		}
	})
}
