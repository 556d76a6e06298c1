package session

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// loop is the state the session's loop goroutine owns. Only that goroutine
// touches it; everything else posts closures to Session.inbox. The loop
// calls no user code: tools, hooks, nodes, the models, the outputs and the
// event handlers all run on other goroutines (only the logger's handler
// runs here, for a few Debug lines).
type loop struct {
	s   *Session
	ctx context.Context // the session's context, the loop goroutine's frame
	io  IO
	log *slog.Logger

	agent agentView
	// versions bump on every change, so a preemptive generation can tell
	// whether what it read is still current.
	chatVersion, agentVersion int

	userState  UserState
	agentState AgentState
	// speechState is what the current speech does (thinking, speaking);
	// the agent state shows it unless the speech is paused.
	speechState AgentState

	// The user's turn in progress.
	userSpeaking  bool
	speechStarted time.Time
	speechEndedAt time.Time
	finals        []string
	interim       string
	lastFinalAt   time.Time
	eouGen        int // bumps when a pending end of turn is void
	speechGen     int // bumps at every start of speech
	eouTimer      *time.Timer

	// Speech.
	current        *SpeechHandle
	queue          []*SpeechHandle
	interruptTimer *time.Timer
	paused         bool // the current speech is paused (a possible interruption)
	outputPaused   bool // the audio output was last asked to pause
	falseTimer     *time.Timer
	pauser         *pauser // nil without a pausable audio output
	preempt        *llmRun
	preemptTries   int       // preemptive generations started this turn
	turnStarted    time.Time // first speech of the turn being heard
	awayTimer      *time.Timer

	// vadAlive: a VAD stream is running; else STT events mark speech.
	vadAlive bool
	// audioEnded: the audio input ended (io.EOF); nobody speaks any more.
	audioEnded bool

	// sttFlush asks the audio reader to flush the STT stream (it alone
	// may call the stream's input side).
	sttFlush atomic.Bool

	errorsInRow map[string]int // unrecoverable errors in a row, per source
	hooks       int            // agent hooks running
	idleWaiters []chan struct{}

	closing     bool
	draining    bool
	inputsOpen  int
	closeReason CloseReason
	closeErr    error
	deadline    time.Time // when Close stops waiting
	workersDone bool
	abandoned   []string
}

func newLoop(s *Session, ctx context.Context, io IO, agent *Agent) *loop {
	l := &loop{
		s: s, ctx: ctx, io: io, log: s.o.logger.With("component", "session"),
		agent: viewOf(agent), userState: UserListening, agentState: AgentInitializing,
	}
	if p, ok := io.AudioOut.(PausableAudioOutput); ok {
		l.pauser = &pauser{out: p, wake: make(chan struct{}, 1)}
	}
	return l
}

// audioMode reports whether replies are spoken.
func (l *loop) audioMode() bool { return l.io.AudioOut != nil && l.s.o.tts != nil }

// speaks reports whether h is spoken: in audio mode, or a Say with its own
// audio and an audio output.
func (l *loop) speaks(h *SpeechHandle) bool {
	return l.audioMode() || (h.req.audio != nil && l.io.AudioOut != nil)
}

func (l *loop) run() {
	var batch []func(*loop)
	for {
		batch = l.s.inbox.take(batch)
		for _, fn := range batch {
			fn(l)
		}
		if l.workersDone {
			break
		}
		<-l.s.inbox.notify
	}
	l.emit(CloseEvent{Reason: l.closeReason, Err: l.closeErr})
	abandoned := l.abandoned
	if l.s.subs.end(l.deadline) {
		abandoned = append(abandoned, "event handler")
	}
	if len(abandoned) > 0 {
		l.log.Warn("session closed without waiting for work that ignored its context", "abandoned", abandoned, "grace", l.s.o.closeTimeout)
	}
	l.s.finish(&ClosedError{Reason: l.closeReason, Err: l.closeErr, Abandoned: abandoned})
}

func (l *loop) emit(e Event) { l.s.subs.emit(e) }

// ---- states ----

func (l *loop) setUserState(st UserState) {
	if l.userState == st {
		return
	}
	old := l.userState
	l.userState = st
	l.emit(UserStateChangedEvent{Old: old, New: st, At: time.Now()})
	l.armAway()
}

func (l *loop) setAgentState(st AgentState) {
	if l.agentState == st {
		return
	}
	old := l.agentState
	l.agentState = st
	l.emit(AgentStateChangedEvent{Old: old, New: st, At: time.Now()})
	l.armAway()
}

// setSpeechState records what the current speech does, and shows it unless
// the speech is paused.
func (l *loop) setSpeechState(st AgentState) {
	l.speechState = st
	if !l.paused {
		l.setAgentState(st)
	}
}

// armAway marks the user away once both sides were quiet long enough.
func (l *loop) armAway() {
	stop(&l.awayTimer)
	if l.s.o.userAwayTimeout <= 0 || l.closing || l.userState != UserListening || l.agentState != AgentListening {
		return
	}
	l.awayTimer = l.after(l.s.o.userAwayTimeout, func(l *loop) {
		if l.userState == UserListening && l.agentState == AgentListening {
			l.setUserState(UserAway)
		}
	})
}

// after runs fn on the loop after d.
func (l *loop) after(d time.Duration, fn func(*loop)) *time.Timer {
	s := l.s
	return time.AfterFunc(d, func() { s.post(fn) })
}

func stop(t **time.Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

// ---- speeches ----

func (l *loop) enqueue(h *SpeechHandle) {
	if m := h.req.userMsg; m != nil && h.req.source != "user_turn" {
		// WithUserInput: in history from now on, like a committed turn.
		fill(&m.ID, &m.CreatedAt, "msg_", time.Now())
		l.addItems(m)
	}
	if l.closing {
		drop(h, ErrSessionClosed)
		return
	}
	l.emit(SpeechCreatedEvent{Speech: h, Source: h.req.source})
	l.queue = append(l.queue, h)
	l.next()
}

func (l *loop) next() {
	if l.current != nil || l.closing {
		return
	}
	for len(l.queue) > 0 {
		h := l.queue[0]
		l.queue = l.queue[1:]
		if h.Interrupted() {
			drop(h, ErrInterrupted)
			continue
		}
		l.startSpeech(h)
		return
	}
	l.setAgentState(AgentListening)
	l.checkIdle()
	l.maybeDrained()
}

func (l *loop) startSpeech(h *SpeechHandle) {
	ctx, cancel := context.WithCancelCause(l.ctx)
	h.start(cancel)
	l.current = h
	l.paused = false
	t := &task{
		s:     l.s,
		h:     h,
		agent: l.agent,
		chat:  l.snapshot(),
		audio: l.speaks(h),
		io:    l.io,
		sctx:  l.ctx,
	}
	if h.req.say {
		l.speechState = l.agentState
	} else {
		l.setSpeechState(AgentThinking)
	}
	l.s.spawn("reply "+h.id, func() { // exits when the task ends; ctx cancels it
		t.run(ctx)
		cancel(nil)
		l.s.post(func(l *loop) { l.speechDone(h) })
	})
}

func (l *loop) speechDone(h *SpeechHandle) {
	if l.current == h {
		l.current = nil
		l.paused = false
		if l.outputPaused {
			// Its audio was cleared: the output may play again.
			l.pause(false)
		}
		stop(&l.falseTimer)
		stop(&l.interruptTimer)
	}
	h.finish()
	l.next()
}

// interruptCurrent stops the current speech; its task clears the audio
// output.
func (l *loop) interruptCurrent(cause error) {
	h := l.current
	if h == nil {
		return
	}
	stop(&l.interruptTimer)
	stop(&l.falseTimer)
	l.log.Debug("speech interrupted", "speech_id", h.id, "cause", cause)
	h.stop(cause)
	// A paused output resumes once the speech ended (speechDone), after
	// its task cleared the audio: resuming now would play a moment of what
	// the user talked over.
	l.paused = false
	l.setAgentState(AgentListening)
}

// drop ends a speech that never started, and the preemptive generation it
// was to use (without waiting for it: the session's workers do).
func drop(h *SpeechHandle, cause error) {
	h.stop(cause)
	if p := h.req.preempt; p != nil {
		p.cancel(ErrPreemptiveDiscarded)
	}
	h.finish()
}

// interruptSpeech acts on SpeechHandle.Interrupt, which marked h
// interrupted already.
func (l *loop) interruptSpeech(h *SpeechHandle) {
	if h == l.current {
		l.interruptCurrent(ErrInterrupted)
		return
	}
	for i, q := range l.queue {
		if q == h {
			l.queue = slices.Delete(l.queue, i, i+1)
			drop(h, ErrInterrupted)
			return
		}
	}
}

func (l *loop) interruptAll() {
	kept := l.queue[:0]
	for _, q := range l.queue {
		if q.interruptible(false) {
			drop(q, ErrInterrupted)
			continue
		}
		kept = append(kept, q)
	}
	clear(l.queue[len(kept):])
	l.queue = kept
	if l.current != nil && l.current.interruptible(false) {
		l.interruptCurrent(ErrInterrupted)
	}
}

// interruptionsDisallowed follows a tool's RunContext.DisallowInterruptions:
// a pause waiting to become an interruption resumes.
func (l *loop) interruptionsDisallowed(h *SpeechHandle) {
	if h != l.current {
		return
	}
	stop(&l.interruptTimer)
	if l.paused {
		stop(&l.falseTimer)
		l.resumePaused(false)
	}
}

// ---- idle ----

// idle reports whether nothing is said or about to be: no speech, none
// queued, no agent hook running (an OnEnter may still queue one).
func (l *loop) idle() bool { return l.current == nil && len(l.queue) == 0 && l.hooks == 0 }

// whenIdle closes ch once the session is idle.
func (l *loop) whenIdle(ch chan struct{}) {
	l.idleWaiters = append(l.idleWaiters, ch)
	l.checkIdle()
}

func (l *loop) checkIdle() {
	if !l.idle() && !l.closing {
		return
	}
	for _, ch := range l.idleWaiters {
		close(ch)
	}
	l.idleWaiters = nil
}

// ---- history, agents, errors ----

// snapshot returns the history as it is now, without copying it: history
// items are never changed once added, and the history's slice is only
// appended to in place; every other change makes a new slice. So a slice
// capped at the current length stays valid, and appending to it copies.
// Anything handed to user code gets a deep Copy instead.
func (l *loop) snapshot() *ChatContext {
	l.s.mu.Lock()
	items := l.s.chat.Items
	l.s.mu.Unlock()
	return &ChatContext{Items: items[:len(items):len(items)]}
}

// addItems adds the items of one step (or one message) to history. A batch
// that starts before user messages already added (the agent's words while
// the user's turn was committed) goes before them, so history reads in the
// order things were said; it never goes between a call and its output.
func (l *loop) addItems(items ...ChatItem) {
	if len(items) == 0 {
		return
	}
	l.s.mu.Lock()
	cur := l.s.chat.Items
	at := len(cur)
	if m, ok := items[0].(*ChatMessage); ok && m.Role == RoleAssistant {
		for at > 0 {
			u, ok := cur[at-1].(*ChatMessage)
			if !ok || u.Role != RoleUser || !u.CreatedAt.After(m.CreatedAt) {
				break
			}
			at--
		}
	}
	if at == len(cur) {
		l.s.chat.Items = append(cur, items...)
	} else {
		next := make([]ChatItem, 0, len(cur)+len(items))
		next = append(append(append(next, cur[:at]...), items...), cur[at:]...)
		l.s.chat.Items = next
	}
	l.s.mu.Unlock()
	l.chatVersion++
	if l.s.subs.any() {
		// A copy: history items must not change once added (snapshot).
		for _, it := range NewChatContext(items...).Copy().Items {
			l.emit(ConversationItemAddedEvent{Item: it})
		}
	}
}

// replaceItem puts item in place of the history item with its id (a hook
// changed the user's message).
func (l *loop) replaceItem(item ChatItem) {
	l.s.mu.Lock()
	cur := l.s.chat.Items
	i := l.s.chat.Index(item.ItemID())
	if i >= 0 {
		next := slices.Clone(cur)
		next[i] = item
		l.s.chat.Items = next
	}
	l.s.mu.Unlock()
	if i >= 0 {
		l.chatVersion++
	}
}

func (l *loop) replaceHistory(items []ChatItem) {
	l.s.mu.Lock()
	l.s.chat = &ChatContext{Items: items}
	l.s.mu.Unlock()
	l.chatVersion++
}

func (l *loop) enterAgent(old, next *Agent) {
	if l.closing {
		return
	}
	l.agent = viewOf(next)
	l.agentVersion++
	l.s.mu.Lock()
	l.s.agent = next
	l.s.mu.Unlock()
	if old != nil {
		l.emit(AgentHandoffEvent{Old: old, New: next})
	}
	if l.agentState == AgentInitializing {
		l.setAgentState(AgentListening)
	}
	s, ctx := l.s, l.ctx
	if (old == nil || old.OnExit == nil) && next.OnEnter == nil {
		return
	}
	l.hooks++
	var hooks []string
	if old != nil && old.OnExit != nil {
		hooks = append(hooks, "OnExit")
	}
	if next.OnEnter != nil {
		hooks = append(hooks, "OnEnter")
	}
	s.spawn("hook "+strings.Join(hooks, " then "), func() { // runs the hooks in order; exits when they return
		defer s.post(func(l *loop) { l.hooks--; l.checkIdle() })
		if old != nil && old.OnExit != nil {
			if err := old.OnExit(ctx, s); err != nil {
				s.report(SourceHook, err)
			}
		}
		if next.OnEnter != nil {
			if err := next.OnEnter(ctx, s); err != nil {
				s.report(SourceHook, err)
			}
		}
	})
}

func (l *loop) updateAgent(change func(*agentView)) {
	if l.closing {
		return
	}
	change(&l.agent)
	l.agentVersion++
}

// report hands an error to the loop (see loop.onError). Whether it is
// recoverable is asked here, off the loop: the error's methods are the
// plugin's code.
func (s *Session) report(source string, err error) {
	rec := Recoverable(err)
	s.post(func(l *loop) { l.onError(source, err, rec) })
}

// onError emits err and counts it against its source's budget: the
// session closes when one source (the STT, the LLM, the TTS, the audio
// output) fails maxErrorsInRow times without a success in between.
// Recoverable errors and the other sources do not count.
func (l *loop) onError(source string, err error, rec bool) {
	l.emit(ErrorEvent{Source: source, Err: err, Recoverable: rec})
	if rec || l.closing {
		return
	}
	switch source {
	case SourceSTT, SourceLLM, SourceTTS, SourceAudioOutput:
	default:
		return // the session works on without them
	}
	if l.errorsInRow == nil {
		l.errorsInRow = make(map[string]int)
	}
	l.errorsInRow[source]++
	if n := l.errorsInRow[source]; n >= l.s.o.maxErrorsInRow {
		l.log.Debug("error budget spent", "source", source, "errors_in_row", n)
		l.s.closeWith(CloseError, err)
	}
}

// worked resets the error count of a source that succeeded.
func (l *loop) worked(source string) {
	if l.errorsInRow[source] != 0 {
		l.errorsInRow[source] = 0
	}
}

func (l *loop) shutdown(reason CloseReason, err error) {
	if l.closing {
		return
	}
	l.closing = true
	l.closeReason, l.closeErr = reason, err
	l.deadline = time.Now().Add(l.s.o.closeTimeout)
	l.log.Debug("session closing", "reason", reason, "err", err)
	stop(&l.eouTimer)
	stop(&l.interruptTimer)
	stop(&l.falseTimer)
	stop(&l.awayTimer)
	if l.preempt != nil {
		l.preempt.cancel(ErrPreemptiveDiscarded)
		l.preempt = nil
	}
	for _, q := range l.queue {
		drop(q, ErrSessionClosed)
	}
	l.queue = nil
	if l.current != nil {
		l.current.stop(ErrSessionClosed)
	}
	l.checkIdle()
	l.s.cancel(ErrSessionClosed)
	l.s.awaitWorkers(l.deadline, func(abandoned []string) {
		l.workersDone, l.abandoned = true, abandoned
	})
}

func (l *loop) maybeDrained() {
	if l.draining && l.current == nil && len(l.queue) == 0 {
		l.s.closeWith(CloseInputEnded, nil)
	}
}

func sinceOrZero(from, now time.Time) time.Duration {
	if from.IsZero() {
		return 0
	}
	return now.Sub(from)
}

var errNoLLM = errors.New("session: no LLM configured")
