package session

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
)

// loop is the state the session's loop goroutine owns. Only that goroutine
// touches it; everything else posts closures to Session.inbox.
type loop struct {
	s   *Session
	ctx context.Context // the session's context, the loop goroutine's frame
	io  IO
	log *slog.Logger

	agent *Agent
	// versions bump on every change, so a preemptive generation can tell
	// whether what it read is still current.
	chatVersion, agentVersion int

	userState  UserState
	agentState AgentState

	// The user's turn in progress.
	userSpeaking   bool
	speechStarted  time.Time
	speechEndedAt  time.Time
	finals         []string
	interim        string
	lastFinalAt    time.Time
	eouGen         int // bumps when a pending end of turn is void
	speechGen      int // bumps at every start of speech
	eouTimer       *time.Timer
	transcriptSeen bool // since the last interruption pause

	// Speech.
	current        *SpeechHandle
	queue          []*SpeechHandle
	interruptTimer *time.Timer
	paused         bool
	falseTimer     *time.Timer
	preempt        *llmRun
	preemptTries   int       // preemptive generations started this turn
	turnStarted    time.Time // first speech of the turn being heard
	awayTimer      *time.Timer

	// vadAlive: a VAD stream is running; else STT events mark speech.
	vadAlive bool

	// sttFlush asks the audio reader to flush the STT stream (it alone
	// may call the stream's input side).
	sttFlush atomic.Bool

	errorsInRow int
	closing     bool
	draining    bool
	inputsOpen  int
	closeReason CloseReason
	closeErr    error
	workersDone bool
}

func newLoop(s *Session, ctx context.Context, io IO, agent *Agent) *loop {
	return &loop{
		s: s, ctx: ctx, io: io, log: s.o.logger.With("component", "session"),
		agent: agent, userState: UserListening, agentState: AgentInitializing,
	}
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
	l.dispatchAll()
}

func (l *loop) emit(e Event) {
	if l.s.o.onEvent == nil {
		return
	}
	l.s.events.put(e)
}

// dispatchAll delivers the events still queued; used once the loop ended.
func (l *loop) dispatchAll() {
	if l.s.o.onEvent == nil {
		return
	}
	for _, e := range l.s.events.take(nil) {
		l.s.o.onEvent(e)
	}
}

// startInputs starts the goroutines that read the inputs and the event
// dispatcher.
func (l *loop) startInputs() {
	s := l.s
	ctx := l.ctx
	if s.o.onEvent != nil {
		s.spawn(func() { // exits when ctx ends; the loop delivers the rest
			var buf []Event
			for {
				select {
				case <-s.events.notify:
				case <-ctx.Done():
					return
				}
				buf = s.events.take(buf)
				for _, e := range buf {
					s.o.onEvent(e)
				}
			}
		})
	}
	if l.io.Text != nil {
		l.inputsOpen++
		s.spawn(func() { // exits when the input ends or ctx ends
			for {
				text, err := l.io.Text.RecvText(ctx)
				if err != nil {
					s.post(func(l *loop) { l.inputEnded("text", err) })
					return
				}
				s.post(func(l *loop) { l.onUserText(text) })
			}
		})
	}
	if l.io.Audio != nil {
		l.inputsOpen++
		l.startAudio()
	}
}

// Preemptive generation is skipped for turns that were revised this many
// times or that run longer than this, as LiveKit Agents does: they change
// too often for a guess to survive, and cost a request each time.
const (
	maxPreemptTries  = 3
	maxPreemptSpeech = 10 * time.Second
)

// sttReopenInterval is the least time between two attempts to open an STT
// stream, so a failing STT is retried without spinning on every frame.
const sttReopenInterval = time.Second

// sttConn is one STT stream and its reader.
type sttConn struct {
	stream  STTStream
	failed  atomic.Bool // the reader saw the stream fail
	closing atomic.Bool // the audio reader closed it: errors are expected
}

// startAudio starts the goroutines that feed the user's audio to the VAD
// and the STT and read what they say. It runs before the loop handles
// anything, so it reports by posting like any other goroutine.
func (l *loop) startAudio() {
	s, ctx := l.s, l.ctx
	report := func(source string, err error) {
		if ctx.Err() == nil {
			s.post(func(l *loop) { l.reportError(source, err) })
		}
	}
	// Without a working VAD, the STT's start and end of speech stand in.
	vadDown := func() { s.post(func(l *loop) { l.vadAlive = false }) }
	var vs VADStream
	if s.o.vad != nil {
		v, err := s.o.vad.Stream(ctx)
		if err != nil {
			report("vad", err)
		} else {
			vs = v
			l.vadAlive = true // before the loop goroutine starts (see Start)
			s.spawn(func() {  // exits when the stream ends (closed by the audio reader)
				for {
					ev, err := v.Recv()
					if err != nil {
						if err != io.EOF && !errors.Is(err, ErrStreamClosed) {
							report("vad", err)
							vadDown()
						}
						return
					}
					s.post(func(l *loop) { l.onVAD(ev) })
				}
			})
		}
	}
	var stt *sttConn
	var sttOpened time.Time
	openSTT := func() {
		sttOpened = time.Now()
		st, err := s.o.stt.Stream(ctx)
		if err != nil {
			report("stt", err)
			return
		}
		c := &sttConn{stream: st}
		stt = c
		s.spawn(func() { // exits when the stream ends (closed by the audio reader)
			for {
				ev, err := st.Recv()
				if err != nil {
					if err != io.EOF && !c.closing.Load() {
						c.failed.Store(true)
						report("stt", err)
					}
					return
				}
				s.post(func(l *loop) { l.onSTT(ev) })
			}
		})
	}
	closeSTT := func() {
		stt.closing.Store(true)
		_ = stt.stream.Close()
		stt = nil
	}
	if s.o.stt != nil {
		openSTT()
	}
	s.spawn(func() { // exits when the input ends or ctx ends; closes the streams
		defer func() {
			if vs != nil {
				_ = vs.Close()
			}
			if stt != nil {
				closeSTT()
			}
		}()
		for {
			f, err := l.io.Audio.RecvFrame(ctx)
			if err != nil {
				if stt != nil {
					_ = stt.stream.EndInput()
				}
				s.post(func(l *loop) { l.inputEnded("audio", err) })
				return
			}
			if vs != nil {
				if err := vs.Push(f); err != nil {
					report("vad", err)
					vadDown()
					_ = vs.Close()
					vs = nil
				}
			}
			if s.o.stt == nil {
				continue
			}
			// One failed connection must not leave the session deaf: reopen.
			if stt != nil && stt.failed.Load() {
				closeSTT()
			}
			if stt == nil && time.Since(sttOpened) >= sttReopenInterval {
				openSTT()
			}
			if stt == nil {
				continue
			}
			if l.sttFlush.Swap(false) {
				_ = stt.stream.Flush() // the VAD heard speech end: ask for the final now
			}
			if err := stt.stream.Push(f); err != nil {
				report("stt", err)
				closeSTT()
			}
		}
	})
}

func (l *loop) inputEnded(which string, err error) {
	if l.closing {
		return
	}
	if err != io.EOF {
		if l.ctx.Err() == nil {
			l.reportError("io", err)
		}
		return
	}
	l.inputsOpen--
	if which == "audio" && l.userSpeaking {
		// No more audio: the user is not speaking any more. Without this a
		// speech paused by them would wait for an end that never comes.
		l.onSpeechEnd(time.Time{})
	}
	if l.inputsOpen <= 0 {
		// Finish what was asked, then close.
		l.draining = true
		l.maybeDrained()
	}
}

func (l *loop) maybeDrained() {
	if l.draining && l.current == nil && len(l.queue) == 0 {
		l.s.closeWith(CloseInputEnded, nil)
	}
}

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

// ---- user input ----

func (l *loop) onVAD(ev VADEvent) {
	if l.closing {
		return
	}
	switch ev.Type {
	case VADStartOfSpeech:
		l.onSpeechStart(ev.SpeechDuration)
	case VADEndOfSpeech:
		l.sttFlush.Store(l.s.o.stt != nil)
		l.onSpeechEnd(ev.SpeechEndedAt)
	}
}

func (l *loop) onSTT(ev SpeechEvent) {
	if l.closing {
		return
	}
	switch ev.Type {
	case SpeechStarted:
		if !l.vadAlive {
			l.onSpeechStart(0)
		}
	case SpeechEnded:
		if !l.vadAlive {
			l.onSpeechEnd(time.Time{})
		}
	case SpeechInterim, SpeechFinal:
		l.emit(UserInputTranscribedEvent{Text: ev.Text, Final: ev.Type == SpeechFinal, Language: ev.Language, Confidence: ev.Confidence})
		if ev.Type == SpeechFinal {
			if t := strings.TrimSpace(ev.Text); t != "" {
				l.finals = append(l.finals, t)
				l.lastFinalAt = time.Now()
			}
			l.interim = ""
		} else {
			l.interim = ev.Text
		}
		if strings.TrimSpace(ev.Text) != "" {
			l.transcriptSeen = true
			if l.paused {
				// The user said something: the pause was a real interruption.
				l.interruptCurrent(ErrInterrupted)
			} else {
				l.maybeInterrupt()
			}
		}
		if ev.Type == SpeechFinal {
			l.maybePreempt()
			if !l.userSpeaking {
				l.scheduleEndOfTurn()
			}
		}
	}
}

func (l *loop) onSpeechStart(already time.Duration) {
	l.userSpeaking = true
	l.speechStarted = time.Now().Add(-already)
	if l.turnStarted.IsZero() {
		l.turnStarted = l.speechStarted
	}
	l.speechGen++
	l.eouGen++
	stop(&l.eouTimer)
	stop(&l.falseTimer)
	l.setUserState(UserSpeaking)
	stop(&l.interruptTimer)
	if l.current != nil && l.current.allowInterruptions {
		wait := max(l.s.o.minInterruptionDuration-already, 0)
		gen := l.speechGen
		l.interruptTimer = l.after(wait, func(l *loop) {
			if l.speechGen == gen && l.userSpeaking {
				l.maybeInterrupt()
			}
		})
	}
}

func (l *loop) onSpeechEnd(at time.Time) {
	now := time.Now()
	if at.IsZero() || at.After(now) {
		at = now
	}
	l.userSpeaking = false
	l.speechEndedAt = at
	stop(&l.interruptTimer)
	l.setUserState(UserListening)
	if l.paused {
		l.transcriptSeen = false
		gen := l.speechGen // new speech bumps it: a timer that already fired must not resume
		l.falseTimer = l.after(l.s.o.falseInterruptionTimeout, func(l *loop) {
			if l.paused && !l.transcriptSeen && l.speechGen == gen && !l.userSpeaking {
				l.paused = false
				if p, ok := l.io.AudioOut.(PausableAudioOutput); ok {
					p.Resume()
				}
				if l.current != nil {
					l.setAgentState(AgentSpeaking)
				}
				l.emit(AgentFalseInterruptionEvent{Resumed: true})
			}
		})
	}
	l.scheduleEndOfTurn()
}

// maybeInterrupt interrupts (or pauses) the current speech when the user
// spoke long enough and said enough words.
func (l *loop) maybeInterrupt() {
	h := l.current
	if h == nil || !h.allowInterruptions || l.paused || !l.userSpeaking {
		return
	}
	if time.Since(l.speechStarted) < l.s.o.minInterruptionDuration {
		return
	}
	if n := l.s.o.minInterruptionWords; n > 0 {
		words := len(strings.Fields(strings.Join(l.finals, " ") + " " + l.interim))
		if words < n {
			return
		}
	}
	if p, ok := l.io.AudioOut.(PausableAudioOutput); ok && l.audioMode() && l.s.o.falseInterruptionTimeout > 0 && !l.transcriptSeenSinceSpeech() {
		l.log.Debug("speech paused: possible interruption", "speech_id", h.id)
		p.Pause()
		l.paused = true
		l.transcriptSeen = false
		l.setAgentState(AgentListening)
		return
	}
	l.interruptCurrent(ErrInterrupted)
}

// transcriptSeenSinceSpeech: words already transcribed for this speech mean
// the interruption is real, no need to pause first.
func (l *loop) transcriptSeenSinceSpeech() bool {
	return strings.TrimSpace(l.interim) != ""
}

func (l *loop) onUserText(text string) {
	if l.closing || strings.TrimSpace(text) == "" {
		return
	}
	l.emit(UserInputTranscribedEvent{Text: text, Final: true})
	if l.current != nil && l.current.allowInterruptions {
		l.interruptCurrent(ErrInterrupted)
	}
	l.finals = append(l.finals, strings.TrimSpace(text))
	now := time.Now()
	l.speechEndedAt = time.Time{}
	l.lastFinalAt = time.Time{}
	l.commitTurn(now)
}

// ---- endpointing ----

func (l *loop) scheduleEndOfTurn() {
	if l.userSpeaking || len(l.finals) == 0 || l.closing {
		return
	}
	stop(&l.eouTimer)
	l.eouGen++
	gen := l.eouGen
	if l.speechEndedAt.IsZero() {
		l.speechEndedAt = time.Now()
	}
	if td := l.s.o.turn; td != nil {
		chat := l.snapshot()
		chat.Add(&ChatMessage{Role: RoleUser, Content: strings.Join(l.finals, " ")})
		ctx, s := l.ctx, l.s
		s.spawn(func() { // one prediction; exits when it returns (ctx cancels it)
			p, err := td.EndOfTurn(ctx, chat)
			s.post(func(l *loop) {
				if err != nil && ctx.Err() == nil {
					l.reportError("turn_detector", err)
				}
				if l.eouGen != gen {
					return
				}
				d := l.s.o.minEndpointingDelay
				if err == nil && !p.Done {
					d = l.s.o.maxEndpointingDelay
				}
				l.armEndOfTurn(gen, d)
			})
		})
		return
	}
	l.armEndOfTurn(gen, l.s.o.minEndpointingDelay)
}

func (l *loop) armEndOfTurn(gen int, d time.Duration) {
	wait := max(time.Until(l.speechEndedAt.Add(d)), 0)
	l.eouTimer = l.after(wait, func(l *loop) {
		if l.eouGen == gen && !l.userSpeaking {
			l.commitTurn(time.Now())
		}
	})
}

// commitTurn ends the user's turn and queues the reply.
func (l *loop) commitTurn(now time.Time) {
	stop(&l.eouTimer)
	l.eouGen++
	text := strings.Join(l.finals, " ")
	if strings.TrimSpace(l.interim) != "" && len(l.finals) == 0 {
		text = l.interim
	}
	speechEnd, lastFinal := l.speechEndedAt, l.lastFinalAt
	l.turnStarted, l.preemptTries = time.Time{}, 0
	l.finals, l.interim = nil, ""
	l.speechEndedAt, l.lastFinalAt = time.Time{}, time.Time{}
	if strings.TrimSpace(text) == "" || l.closing {
		return
	}
	if n := l.s.o.minInterruptionWords; n > 0 && l.current != nil && !l.paused && len(strings.Fields(text)) < n {
		// Too few words to interrupt the agent: a backchannel ("uh-huh"),
		// not a turn.
		return
	}
	if l.current != nil && l.current.allowInterruptions {
		// The user's new turn wins over what the agent was saying.
		l.interruptCurrent(ErrInterrupted)
	}
	l.log.Debug("user turn committed", "words", len(strings.Fields(text)), "since_speech_end", sinceOrZero(speechEnd, now))
	h := newSpeech(l.s, true, speechRequest{
		source:       "user_turn",
		userMsg:      &ChatMessage{Role: RoleUser, Content: text},
		addToHistory: true,
		speechEndAt:  speechEnd,
		lastFinalAt:  lastFinal,
		commitAt:     now,
	})
	if p := l.preempt; p != nil {
		l.preempt = nil
		if p.userText == text && p.chatVersion == l.chatVersion && p.agentVersion == l.agentVersion {
			h.req.preempt = p
		} else {
			p.cancel(ErrPreemptiveDiscarded)
		}
	}
	l.enqueue(h)
}

// maybePreempt starts the LLM on what the user said so far.
func (l *loop) maybePreempt() {
	if !l.s.o.preemptive || l.s.o.llm == nil || l.closing || len(l.finals) == 0 {
		return
	}
	if l.current != nil && !l.current.Interrupted() {
		// The agent is still at it (speaking, or waiting on tools whose
		// results the guess would miss): the guess would likely be wasted.
		return
	}
	if l.preemptTries >= maxPreemptTries || (!l.turnStarted.IsZero() && time.Since(l.turnStarted) > maxPreemptSpeech) {
		return // long or much-revised turns change too often to guess
	}
	l.preemptTries++
	if l.preempt != nil {
		l.preempt.cancel(ErrPreemptiveDiscarded)
		l.preempt = nil
	}
	text := strings.Join(l.finals, " ")
	chat := l.snapshot()
	chat.Add(&ChatMessage{Role: RoleUser, Content: text})
	req := buildRequest(l.agent, chat, speechRequest{}, l.agent.toolDefs(), ToolChoice{})
	r := startLLM(l.ctx, l.s, req)
	r.userText, r.chatVersion, r.agentVersion = text, l.chatVersion, l.agentVersion
	l.preempt = r
}

// ---- speeches ----

func (l *loop) enqueue(h *SpeechHandle) {
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
	if !h.req.say {
		l.setAgentState(AgentThinking)
	}
	l.s.spawn(func() { // exits when the task ends; ctx cancels it
		t.run(ctx)
		cancel(nil)
		l.s.post(func(l *loop) { l.speechDone(h) })
	})
}

func (l *loop) speechDone(h *SpeechHandle) {
	if l.current == h {
		l.current = nil
		if l.paused {
			l.paused = false
			if p, ok := l.io.AudioOut.(PausableAudioOutput); ok {
				p.Resume()
			}
		}
		stop(&l.falseTimer)
	}
	h.finish()
	l.next()
}

// interruptCurrent stops the current speech and drops its queued audio.
func (l *loop) interruptCurrent(cause error) {
	h := l.current
	if h == nil {
		return
	}
	stop(&l.interruptTimer)
	stop(&l.falseTimer)
	l.log.Debug("speech interrupted", "speech_id", h.id, "cause", cause)
	h.stop(cause)
	if out := l.io.AudioOut; out != nil {
		out.ClearBuffer()
		if l.paused {
			if p, ok := out.(PausableAudioOutput); ok {
				p.Resume()
			}
		}
	}
	l.paused = false
	l.setAgentState(AgentListening)
}

// drop ends a speech that never started, and the preemptive generation it
// was to use (without waiting for it: the session's wait group does).
func drop(h *SpeechHandle, cause error) {
	h.stop(cause)
	if p := h.req.preempt; p != nil {
		p.cancel(ErrPreemptiveDiscarded)
	}
	h.finish()
}

func (l *loop) interruptSpeech(h *SpeechHandle, force bool) {
	if h == l.current {
		if h.allowInterruptions || force {
			l.interruptCurrent(ErrInterrupted)
		}
		return
	}
	for i, q := range l.queue {
		if q == h {
			l.queue = append(l.queue[:i], l.queue[i+1:]...)
			drop(h, ErrInterrupted)
			return
		}
	}
}

func (l *loop) interruptAll() {
	kept := l.queue[:0]
	for _, q := range l.queue {
		if q.allowInterruptions {
			drop(q, ErrInterrupted)
			continue
		}
		kept = append(kept, q)
	}
	l.queue = kept
	if l.current != nil && l.current.allowInterruptions {
		l.interruptCurrent(ErrInterrupted)
	}
}

// ---- history, agents, errors ----

// snapshot returns the history as it is now, without copying it: history
// only grows by appends (addItems) and items are not changed once added,
// so a slice capped at the current length stays valid, and appending to
// it copies. Anything handed to user code gets a deep Copy instead.
func (l *loop) snapshot() *ChatContext {
	l.s.mu.Lock()
	items := l.s.chat.Items
	l.s.mu.Unlock()
	return &ChatContext{Items: items[:len(items):len(items)]}
}

func (l *loop) addItems(items ...ChatItem) {
	l.s.mu.Lock()
	for _, it := range items {
		l.s.chat.Add(it)
	}
	l.s.mu.Unlock()
	l.chatVersion++
	if l.s.o.onEvent != nil {
		// A copy: history items must not change once added (snapshot).
		for _, it := range NewChatContext(items...).Copy().Items {
			l.emit(ConversationItemAddedEvent{Item: it})
		}
	}
}

func (l *loop) enterAgent(old, next *Agent) {
	if l.closing {
		return
	}
	l.agent = next
	l.agentVersion++
	l.s.mu.Lock()
	l.s.agent = next
	l.s.mu.Unlock()
	if l.agentState == AgentInitializing {
		l.setAgentState(AgentListening)
	}
	s, ctx := l.s, l.ctx
	if (old == nil || old.OnExit == nil) && next.OnEnter == nil {
		return
	}
	s.spawn(func() { // runs the hooks in order; exits when they return
		if old != nil && old.OnExit != nil {
			if err := old.OnExit(ctx, s); err != nil {
				s.post(func(l *loop) { l.reportError("hook", err) })
			}
		}
		if next.OnEnter != nil {
			if err := next.OnEnter(ctx, s); err != nil {
				s.post(func(l *loop) { l.reportError("hook", err) })
			}
		}
	})
}

func (l *loop) reportError(source string, err error) {
	rec := Recoverable(err)
	l.emit(ErrorEvent{Source: source, Err: err, Recoverable: rec})
	if rec || source == "tool" || source == "hook" || source == "turn_detector" {
		return // the session works on without them (the detector falls back to the minimum delay)
	}
	l.errorsInRow++
	if l.errorsInRow >= l.s.o.maxErrorsInRow {
		l.s.closeWith(CloseError, err)
	}
}

func (l *loop) resetErrors() { l.errorsInRow = 0 }

func (l *loop) shutdown(reason CloseReason, err error) {
	if l.closing {
		return
	}
	l.closing = true
	l.closeReason, l.closeErr = reason, err
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
		if out := l.io.AudioOut; out != nil {
			out.ClearBuffer()
		}
	}
	l.s.cancel(ErrSessionClosed)
	s := l.s
	go func() { // exits once every session goroutine returned
		s.wg.Wait()
		s.post(func(l *loop) { l.workersDone = true })
	}()
}

func sinceOrZero(from, now time.Time) time.Duration {
	if from.IsZero() {
		return 0
	}
	return now.Sub(from)
}

var errNoLLM = errors.New("session: no LLM configured")
