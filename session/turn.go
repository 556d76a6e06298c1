package session

import (
	"context"
	"strings"
	"sync"
	"time"
)

// The user's side of the loop: speech and transcripts, interruptions and
// false interruptions, endpointing, the commit of a turn and preemptive
// generation.

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
	l.worked(SourceSTT)
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
		words := strings.TrimSpace(ev.Text) != ""
		if ev.Type == SpeechFinal {
			if words {
				l.finals = append(l.finals, strings.TrimSpace(ev.Text))
				l.lastFinalAt = time.Now()
			}
			l.interim = ""
		} else {
			l.interim = ev.Text
		}
		switch {
		case l.paused && ev.Type == SpeechFinal && words:
			// The user said something: the pause was a real interruption.
			// An interim is not proof (a cough, "hm"): the speech resumes
			// unless a final with words or a committed turn follows.
			l.interruptPaused()
		case words:
			l.maybeInterrupt()
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
	if l.audioEnded {
		return // an event in flight when the audio ended: nobody speaks
	}
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
	if l.current != nil && l.current.AllowInterruptions() {
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
		gen := l.speechGen // new speech bumps it: a timer that already fired must not resume
		l.falseTimer = l.after(l.s.o.falseInterruptionTimeout, func(l *loop) {
			if l.paused && l.speechGen == gen && !l.userSpeaking {
				l.resumePaused(true)
			}
		})
	}
	l.scheduleEndOfTurn()
}

// maybeInterrupt interrupts (or pauses) the current speech when the user
// spoke long enough and said enough words.
func (l *loop) maybeInterrupt() {
	h := l.current
	if h == nil || h.Interrupted() || !h.AllowInterruptions() || l.paused || !l.userSpeaking {
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
	if l.pauser != nil && l.audioMode() && l.s.o.falseInterruptionTimeout > 0 && len(l.finals) == 0 {
		// Pause first: a final transcript with words or a committed turn
		// makes it an interruption, silence resumes it. (With a final
		// already in, it is one.)
		l.log.Debug("speech paused: possible interruption", "speech_id", h.id)
		l.paused = true
		l.pause(true)
		l.setAgentState(AgentListening)
		return
	}
	if h.interruptible(false) {
		l.interruptCurrent(ErrInterrupted)
	}
}

// interruptPaused makes the paused speech's pause an interruption.
func (l *loop) interruptPaused() {
	if l.current != nil && l.current.interruptible(false) {
		l.interruptCurrent(ErrInterrupted)
		return
	}
	l.resumePaused(false)
}

// resumePaused resumes the paused speech in the state it was in (thinking
// stays thinking), and tells so when the pause was a false interruption.
func (l *loop) resumePaused(falseInterruption bool) {
	if !l.paused {
		return
	}
	l.paused = false
	l.pause(false)
	if l.current != nil {
		l.setAgentState(l.speechState)
	}
	if falseInterruption {
		l.emit(AgentFalseInterruptionEvent{Resumed: true})
	}
}

// pause asks the audio output to pause or resume, off the loop.
func (l *loop) pause(paused bool) {
	if l.pauser == nil {
		return
	}
	l.outputPaused = paused
	if l.pauser.set(paused) {
		p := l.pauser
		l.s.spawn("audio output pause", func() { p.run(l.ctx) }) // exits when ctx ends
	}
}

// pauser applies the loop's pause and resume to the audio output from a
// goroutine of its own, so an output that is slow to pause holds up no
// one. Only the latest wish counts.
type pauser struct {
	out  PausableAudioOutput
	wake chan struct{}

	mu      sync.Mutex
	want    bool
	running bool
}

// set records the wish and reports whether the goroutine must be started.
func (p *pauser) set(paused bool) (start bool) {
	p.mu.Lock()
	p.want = paused
	start = !p.running
	p.running = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return start
}

// run applies the wishes until ctx (the session's) ends; an output it
// left paused is then resumed, so a session that closes while the user
// talks over it does not hand back a paused output (its audio was cleared
// with the speech).
func (p *pauser) run(ctx context.Context) {
	applied := false
	for {
		select {
		case <-p.wake:
		case <-ctx.Done():
			if applied {
				p.out.Resume()
			}
			return
		}
		p.mu.Lock()
		want := p.want
		p.mu.Unlock()
		if want == applied {
			continue
		}
		if want {
			p.out.Pause()
		} else {
			p.out.Resume()
		}
		applied = want
	}
}

func (l *loop) onUserText(text string) {
	if l.closing || strings.TrimSpace(text) == "" {
		return
	}
	l.emit(UserInputTranscribedEvent{Text: text, Final: true})
	l.finals = append(l.finals, strings.TrimSpace(text))
	l.speechEndedAt = time.Time{}
	l.lastFinalAt = time.Time{}
	l.commitTurn(time.Now(), true)
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
		s.spawn("turn detector", func() { // one prediction; exits when it returns (ctx cancels it)
			p, err := td.EndOfTurn(ctx, chat)
			if err != nil && ctx.Err() == nil {
				s.report(SourceTurnDetector, err)
			}
			s.post(func(l *loop) {
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
			l.commitTurn(time.Now(), false)
		}
	})
}

// commitTurn ends the user's turn: the user's message goes into history now
// (so a reply that never runs loses nothing) and its reply is queued.
// typed says the turn was typed: it always counts.
func (l *loop) commitTurn(now time.Time, typed bool) {
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
	cur := l.current
	if n := l.s.o.minInterruptionWords; n > 0 && !typed && cur != nil && !l.paused &&
		!cur.Interrupted() && cur.AllowInterruptions() && len(strings.Fields(text)) < n {
		// Too few words to interrupt the agent: a backchannel ("uh-huh")
		// over it, not a turn. A turn said to an agent that already
		// stopped, or that the user cannot interrupt, counts.
		if l.preempt != nil {
			l.preempt.cancel(ErrPreemptiveDiscarded)
			l.preempt = nil
		}
		return
	}
	if cur != nil && cur.interruptible(false) {
		// The user's new turn wins over what the agent was saying.
		l.interruptCurrent(ErrInterrupted)
	}
	l.log.Debug("user turn committed", "words", len(strings.Fields(text)), "since_speech_end", sinceOrZero(speechEnd, now))
	msg := &ChatMessage{Role: RoleUser, Content: text}
	fill(&msg.ID, &msg.CreatedAt, "msg_", now)
	h := newSpeech(l.s, true, speechRequest{
		source:       "user_turn",
		userMsg:      msg,
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
	l.addItems(msg)
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
	agent := l.agent
	// The request is built on the LLM's goroutine: the tools' Definition
	// methods are user code.
	r := startLLM(l.ctx, l.s, agent, func() ChatRequest {
		return buildRequest(agent, chat, speechRequest{}, agent.toolDefs(), ToolChoice{})
	})
	r.userText, r.chatVersion, r.agentVersion = text, l.chatVersion, l.agentVersion
	l.preempt = r
}
