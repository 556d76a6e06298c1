package session

import (
	"context"
	"errors"
	"time"
)

// AudioFrame is a piece of 16-bit PCM audio, normally 10 to 20 ms long.
type AudioFrame struct {
	// Data holds SamplesPerChannel*NumChannels samples, channels interleaved.
	Data              []int16
	SampleRate        int
	NumChannels       int
	SamplesPerChannel int
	// CapturedAt is when the frame's first sample was spoken at its
	// source, on this machine's wall clock; zero when unknown. An input
	// that knows sets it: a room's input sets the time each sample stands
	// for on the user's timeline (the arrival of the audio less its
	// length, carried across the silence it fills in for packets a DTX
	// sender never sent), also for silence filled in later than that
	// time. Code that cuts, converts or mixes frames carries it forward
	// ([AudioFrame.SampleTime] of the first sample kept). A [VAD] places
	// the end of speech on it, so endpointing and the latency metrics
	// count from when the user stopped, not from when the audio was read.
	CapturedAt time.Time
}

// SampleTime is the capture time of sample i (per channel) of the frame:
// CapturedAt moved by i samples (i may be negative or past the end); zero
// when CapturedAt is.
func (f AudioFrame) SampleTime(i int) time.Time {
	if f.CapturedAt.IsZero() || f.SampleRate <= 0 {
		return time.Time{}
	}
	return f.CapturedAt.Add(time.Duration(i) * time.Second / time.Duration(f.SampleRate))
}

// Duration is how long the frame plays; zero for an empty or malformed frame.
func (f AudioFrame) Duration() time.Duration {
	if f.SampleRate <= 0 {
		return 0
	}
	return time.Duration(f.SamplesPerChannel) * time.Second / time.Duration(f.SampleRate)
}

// NewSilence returns a frame of silence lasting d at the given format.
func NewSilence(d time.Duration, sampleRate, channels int) AudioFrame {
	n := int(d * time.Duration(sampleRate) / time.Second)
	return AudioFrame{Data: make([]int16, n*channels), SampleRate: sampleRate, NumChannels: channels, SamplesPerChannel: n}
}

// AudioInput is where the session reads the user's audio from (a room
// track, a microphone, a test fake). Another error than io.EOF is reported
// (an [ErrorEvent] with source audio_input) and the session reads again
// after a short wait that doubles on each failure in a row; after five
// failures in a row it closes with reason error and the input's error. A
// [TextInput] is read the same way. At io.EOF the session waits (up to 2
// s) for the STT's last transcripts, takes the user's last words as a
// turn, and, once every input ended, closes with reason input_ended when
// it answered what was asked.
type AudioInput interface {
	// RecvFrame returns the next frame, io.EOF when the input ended, or
	// ctx's error once ctx is done.
	RecvFrame(ctx context.Context) (AudioFrame, error)
}

// TextInput is where the session reads typed user turns from (a chat topic,
// stdin). Each text is one complete user turn.
type TextInput interface {
	// RecvText returns the next text, io.EOF when the input ended, or
	// ctx's error once ctx is done.
	RecvText(ctx context.Context) (string, error)
}

// AudioOutput plays the agent's voice. The session calls it from one
// goroutine at a time for CaptureFrame/Flush/WaitForPlayout, and may call
// ClearBuffer, PlaybackPosition and Pause/Resume (see
// [PausableAudioOutput]) concurrently from others: implementations must
// allow that. None of these is called on the session's loop, so a slow one
// delays only the reply it serves. An error from CaptureFrame (the output
// is gone) ends the speech of that LLM step: history keeps what was
// played, marked interrupted, and an [ErrorEvent] with source audio_output
// says why. The reply's tools and its next step go on, as in LiveKit
// Agents; each failure counts against the audio output's error budget.
type AudioOutput interface {
	// CaptureFrame queues a frame for playout. It may block to pace the
	// producer; it returns ctx's error if ctx ends first.
	CaptureFrame(ctx context.Context, f AudioFrame) error
	// Flush marks the end of a segment: once the queued audio has played
	// (or was cleared), WaitForPlayout returns.
	Flush()
	// ClearBuffer drops all queued audio at once (barge-in). A pending
	// WaitForPlayout returns with Interrupted set. With nothing queued or
	// flushed it does nothing: it must not cut the next segment.
	ClearBuffer()
	// WaitForPlayout waits for the segment ended by Flush and reports how
	// much of it was heard.
	WaitForPlayout(ctx context.Context) (PlaybackResult, error)
}

// PlaybackPositioner is an [AudioOutput] that can say how much of the
// current segment has played. The session uses it to send the agent's words
// to the text output as they are heard; without it, it goes by the clock
// (and cannot see a pause).
type PlaybackPositioner interface {
	AudioOutput
	PlaybackPosition() time.Duration
}

// PlaybackResult is how a segment of agent audio ended.
type PlaybackResult struct {
	// Position is how much of the segment was played.
	Position time.Duration
	// Interrupted is set when ClearBuffer cut the segment short.
	Interrupted bool
}

// PausableAudioOutput is an [AudioOutput] that can hold playback without
// dropping audio. The session uses it for false interruptions: it pauses when
// the user starts talking over the agent and resumes if the user said nothing.
type PausableAudioOutput interface {
	AudioOutput
	Pause()
	Resume()
}

// TextOutput shows the agent's words (a transcription topic, stdout).
//
// Each CaptureText call carries only new text, never text sent before: the
// message is the calls' texts joined. In voice mode the text comes word by
// word (each word with the space before it), as playout reaches the end of
// the word (by [PlaybackPositioner] when the audio output has it, else by
// the clock), so the text never runs ahead of what was heard; when the user
// interrupts, the message ends at the last word heard, the same words
// history keeps. In text mode the text comes as the LLM streams it. Flush
// ends the message. The session calls one TextOutput from one goroutine at
// a time.
type TextOutput interface {
	// CaptureText appends text to the current agent message. ctx is the
	// session's: the last words heard still go out after an interruption.
	// An error is reported (an [ErrorEvent] with source text_output, once
	// a speech); in text mode the text refused is not kept in history.
	CaptureText(ctx context.Context, text string) error
	// Flush ends the current agent message.
	Flush()
}

// IO is what a session talks through. Any field may be nil: without audio
// input the session only takes text turns, without audio output (or without
// TTS) it answers in text. A session with only text in and out is in text
// mode.
type IO struct {
	Audio    AudioInput
	Text     TextInput
	AudioOut AudioOutput
	TextOut  TextOutput
}

// ErrInterrupted is the cause of a reply's context (and its tools'
// contexts) when the user barged in or [SpeechHandle.Interrupt] was called.
var ErrInterrupted = errors.New("session: speech interrupted")

// ErrSessionClosed is the cause of every context the session started once it
// closes, and the error of calls made after Close.
var ErrSessionClosed = errors.New("session: closed")

// ErrPreemptiveDiscarded is the cause of a preemptive generation's context
// when the committed turn no longer matches what it was started for.
var ErrPreemptiveDiscarded = errors.New("session: preemptive generation discarded")

// ErrStopResponse, returned by an OnUserTurnCompleted hook, vetoes the reply
// to that turn. The user message stays in history.
var ErrStopResponse = errors.New("session: response stopped by hook")

// ErrUninterruptible is returned when interrupting a speech, queued or
// playing, that does not allow interruptions.
var ErrUninterruptible = errors.New("session: speech does not allow interruptions")
