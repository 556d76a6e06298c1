// Package tonespeech is a deterministic speech stack for end-to-end tests
// and benchmarks of room I/O: an energy VAD, an STT that "hears" a fixed
// sentence whenever there was sound, and a TTS that speaks each sentence as
// a tone whose length follows the text. None of it is speech technology;
// it spends no measurable time, so a latency measured through it is what
// the framework and the transport add.
package tonespeech

import (
	"context"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/livekit-go/agents/internal/loudness"
	"github.com/livekit-go/agents/session"
)

// Rate is the sample rate of the TTS's audio.
const Rate = 16000

// Threshold is the RMS above which a frame is sound: internal/loudness's
// voice level, where the simulated user places the end of its voice.
const Threshold = loudness.VoiceRMS

// Tone returns d of a 440 Hz tone at rate, mono, at about a third of full
// scale.
func Tone(d time.Duration, rate int) []int16 {
	n := int(d * time.Duration(rate) / time.Second)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(10000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
	}
	return out
}

// VAD reports speech when frames are louder than Threshold: a start after
// MinSpeech of sound, an end after MinSilence of quiet, placed at the start
// of the first quiet frame (its arrival less its length: audio comes in real
// time).
type VAD struct {
	MinSpeech  time.Duration // default 40 ms
	MinSilence time.Duration // default 300 ms
}

var _ session.VAD = (*VAD)(nil)

// Stream implements session.VAD.
func (v *VAD) Stream(ctx context.Context) (session.VADStream, error) {
	s := &vadStream{
		minSpeech:  cmpOr(v.MinSpeech, 40*time.Millisecond),
		minSilence: cmpOr(v.MinSilence, 300*time.Millisecond),
		events:     make(chan session.VADEvent, 64),
		done:       make(chan struct{}),
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Close() })
	s.stop = stop
	return s, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

type vadStream struct {
	minSpeech, minSilence time.Duration
	events                chan session.VADEvent
	done                  chan struct{}
	once                  sync.Once
	stop                  func() bool

	// Push is called from one goroutine.
	speaking bool
	sound    time.Duration
	quiet    time.Duration
	quietAt  time.Time
	talked   time.Duration
}

func (s *vadStream) emit(e session.VADEvent) {
	select {
	case s.events <- e:
	case <-s.done:
	}
}

func (s *vadStream) Push(f session.AudioFrame) error {
	select {
	case <-s.done:
		return session.ErrStreamClosed
	default:
	}
	d := f.Duration()
	if loudness.RMS(f.Data) > Threshold {
		s.quiet = 0
		s.sound += d
		if s.speaking {
			s.talked += d
		} else if s.sound >= s.minSpeech {
			s.speaking, s.talked = true, s.sound
			s.emit(session.VADEvent{Type: session.VADStartOfSpeech, Probability: 1, SpeechDuration: s.sound})
		}
		return nil
	}
	if s.quiet == 0 {
		// Audio comes in real time: the quiet began when this frame did.
		s.quietAt = time.Now().Add(-d)
	}
	s.quiet += d
	s.sound = 0
	if s.speaking && s.quiet >= s.minSilence {
		s.speaking = false
		s.emit(session.VADEvent{Type: session.VADEndOfSpeech, SpeechDuration: s.talked, SpeechEndedAt: s.quietAt})
	}
	return nil
}

func (s *vadStream) Recv() (session.VADEvent, error) {
	select {
	case e := <-s.events:
		return e, nil
	case <-s.done:
		return session.VADEvent{}, io.EOF
	}
}

func (s *vadStream) Close() error {
	s.once.Do(func() { close(s.done); s.stop() })
	return nil
}

// STT hears Text whenever there was sound: an interim transcript after
// InterimAfter of sound (so talking over the agent interrupts it), and the
// final one when the session flushes (the VAD heard the end). With
// InterimEvery set, it sends a longer interim every InterimEvery of sound
// after the first, a word more each time, as cloud STTs do (LiveKit
// Inference sent about 25 per question).
type STT struct {
	Text         string
	InterimAfter time.Duration // default 200 ms
	InterimEvery time.Duration // default: one interim only
}

var _ session.STT = (*STT)(nil)

// Stream implements session.STT.
func (t *STT) Stream(ctx context.Context) (session.STTStream, error) {
	s := &sttStream{text: t.Text, interimAfter: cmpOr(t.InterimAfter, 200*time.Millisecond), interimEvery: t.InterimEvery,
		events: make(chan session.SpeechEvent, 64), done: make(chan struct{})}
	s.stop = context.AfterFunc(ctx, func() { _ = s.Close() })
	return s, nil
}

type sttStream struct {
	text         string
	interimAfter time.Duration
	interimEvery time.Duration
	events       chan session.SpeechEvent
	done         chan struct{}
	once         sync.Once
	stop         func() bool

	mu       sync.Mutex
	sound    time.Duration
	interim  bool
	interims int // sent for this utterance
	ended    bool
}

func (s *sttStream) emit(e session.SpeechEvent) {
	select {
	case s.events <- e:
	case <-s.done:
	}
}

func (s *sttStream) Push(f session.AudioFrame) error {
	select {
	case <-s.done:
		return session.ErrStreamClosed
	default:
	}
	if loudness.RMS(f.Data) <= Threshold {
		return nil
	}
	s.mu.Lock()
	s.sound += f.Duration()
	text := ""
	switch {
	case !s.interim && s.sound >= s.interimAfter:
		s.interim = true
		s.interims = 1
		text = s.text
		if s.interimEvery > 0 {
			text = firstWords(s.text, 1)
		}
	case s.interim && s.interimEvery > 0 && s.sound >= s.interimAfter+time.Duration(s.interims)*s.interimEvery:
		s.interims++
		text = firstWords(s.text, s.interims)
	}
	s.mu.Unlock()
	if text != "" {
		s.emit(session.SpeechEvent{Type: session.SpeechInterim, Text: text})
	}
	return nil
}

// firstWords returns the first n words of text (all of it when it has
// fewer).
func firstWords(text string, n int) string {
	w := strings.Fields(text)
	return strings.Join(w[:min(n, len(w))], " ")
}

func (s *sttStream) Flush() error {
	s.mu.Lock()
	heard := s.sound > 0
	s.sound, s.interim, s.interims = 0, false, 0
	s.mu.Unlock()
	if heard {
		s.emit(session.SpeechEvent{Type: session.SpeechFinal, Text: s.text, Confidence: 1})
	}
	return nil
}

func (s *sttStream) EndInput() error {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	return s.Close()
}

func (s *sttStream) Recv() (session.SpeechEvent, error) {
	select {
	case e := <-s.events:
		return e, nil
	default:
	}
	select {
	case e := <-s.events:
		return e, nil
	case <-s.done:
		s.mu.Lock()
		ended := s.ended
		s.mu.Unlock()
		if ended {
			return session.SpeechEvent{}, io.EOF
		}
		return session.SpeechEvent{}, session.ErrStreamClosed
	}
}

func (s *sttStream) Close() error {
	s.once.Do(func() { close(s.done); s.stop() })
	return nil
}

// TTS speaks each flushed sentence as a tone of PerChar per character, in
// 20 ms frames at Rate.
type TTS struct {
	PerChar time.Duration // default 60 ms
}

var _ session.TTS = (*TTS)(nil)

// Stream implements session.TTS.
func (t *TTS) Stream(ctx context.Context) (session.TTSStream, error) {
	s := &ttsStream{perChar: cmpOr(t.PerChar, 60*time.Millisecond), out: make(chan session.SynthesizedAudio, 16), done: make(chan struct{}),
		work: make(chan string, 64)}
	s.stop = context.AfterFunc(ctx, func() { _ = s.Close() })
	s.wg.Add(1)
	go func() { // exits when the input ended or the stream closed
		defer s.wg.Done()
		s.synth()
	}()
	return s, nil
}

type ttsStream struct {
	perChar time.Duration
	out     chan session.SynthesizedAudio
	work    chan string
	done    chan struct{}
	once    sync.Once
	stop    func() bool
	wg      sync.WaitGroup

	text   string // PushText/Flush/EndInput run on one goroutine
	inDone bool
}

func (s *ttsStream) PushText(text string) error { s.text += text; return nil }

func (s *ttsStream) Flush() error {
	if s.text == "" {
		return nil
	}
	t := s.text
	s.text = ""
	select {
	case s.work <- t:
		return nil
	case <-s.done:
		return session.ErrStreamClosed
	}
}

func (s *ttsStream) EndInput() error {
	if err := s.Flush(); err != nil {
		return err
	}
	if !s.inDone {
		s.inDone = true
		close(s.work)
	}
	return nil
}

func (s *ttsStream) synth() {
	defer close(s.out)
	for text := range s.work {
		tone := Tone(time.Duration(len([]rune(text)))*s.perChar, Rate)
		const frame = Rate / 50
		for i := 0; i < len(tone); i += frame {
			end := min(i+frame, len(tone))
			a := session.SynthesizedAudio{
				Frame:      session.AudioFrame{Data: tone[i:end], SampleRate: Rate, NumChannels: 1, SamplesPerChannel: end - i},
				Text:       text,
				SegmentEnd: end == len(tone),
			}
			select {
			case s.out <- a:
			case <-s.done:
				return
			}
		}
	}
}

func (s *ttsStream) Recv() (session.SynthesizedAudio, error) {
	select {
	case a, ok := <-s.out:
		if !ok {
			return session.SynthesizedAudio{}, io.EOF
		}
		return a, nil
	case <-s.done:
		return session.SynthesizedAudio{}, session.ErrStreamClosed
	}
}

func (s *ttsStream) Close() error {
	s.once.Do(func() { close(s.done); s.stop() })
	s.wg.Wait()
	return nil
}
