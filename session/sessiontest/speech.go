package sessiontest

import (
	"context"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/livekit-go/agents/session"
)

// STT is a [session.STT] the test drives: Emit sends an event to the open
// stream. Frames pushed into it are counted and dropped.
type STT struct {
	events  chan session.SpeechEvent
	fail    chan error
	mu      sync.Mutex
	frames  int
	flushes int
	streams int
}

var _ session.STT = (*STT)(nil)

// Flushes returns how many times a stream was flushed.
func (s *STT) Flushes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushes
}

// NewSTT returns an STT whose stream delivers what Emit sends.
func NewSTT() *STT {
	return &STT{events: make(chan session.SpeechEvent, 64), fail: make(chan error, 1)}
}

// Fail makes the open stream's Recv return err, as a dropped connection
// would.
func (s *STT) Fail(err error) { s.fail <- err }

// Streams returns how many streams were opened.
func (s *STT) Streams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams
}

// Emit queues an event for the session.
func (s *STT) Emit(ev session.SpeechEvent) { s.events <- ev }

// Final queues a final transcript.
func (s *STT) Final(text string) { s.Emit(session.SpeechEvent{Type: session.SpeechFinal, Text: text}) }

// Interim queues an interim transcript.
func (s *STT) Interim(text string) {
	s.Emit(session.SpeechEvent{Type: session.SpeechInterim, Text: text})
}

// Frames returns how many frames were pushed.
func (s *STT) Frames() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frames
}

// Stream implements [session.STT].
func (s *STT) Stream(ctx context.Context) (session.STTStream, error) {
	s.mu.Lock()
	s.streams++
	s.mu.Unlock()
	return &sttStream{s: s, ctx: ctx, closed: make(chan struct{})}, nil
}

type sttStream struct {
	s      *STT
	ctx    context.Context
	once   sync.Once
	closed chan struct{}
}

func (st *sttStream) Push(session.AudioFrame) error {
	st.s.mu.Lock()
	st.s.frames++
	st.s.mu.Unlock()
	return nil
}
func (st *sttStream) Flush() error {
	st.s.mu.Lock()
	st.s.flushes++
	st.s.mu.Unlock()
	return nil
}
func (st *sttStream) EndInput() error { return nil }
func (st *sttStream) Recv() (session.SpeechEvent, error) {
	select {
	case ev := <-st.s.events:
		return ev, nil
	case err := <-st.s.fail:
		return session.SpeechEvent{}, err
	case <-st.closed:
		return session.SpeechEvent{}, io.EOF
	case <-st.ctx.Done():
		return session.SpeechEvent{}, context.Cause(st.ctx)
	}
}
func (st *sttStream) Close() error {
	st.once.Do(func() { close(st.closed) })
	return nil
}

// VAD is a [session.VAD] the test drives.
type VAD struct {
	events chan session.VADEvent
}

var _ session.VAD = (*VAD)(nil)

// NewVAD returns a VAD whose stream delivers what Emit sends.
func NewVAD() *VAD { return &VAD{events: make(chan session.VADEvent, 64)} }

// Emit queues an event.
func (v *VAD) Emit(ev session.VADEvent) { v.events <- ev }

// StartOfSpeech queues a start of speech.
func (v *VAD) StartOfSpeech() {
	v.Emit(session.VADEvent{Type: session.VADStartOfSpeech, Probability: 1})
}

// EndOfSpeech queues an end of speech that happened now.
func (v *VAD) EndOfSpeech() {
	v.Emit(session.VADEvent{Type: session.VADEndOfSpeech, SpeechEndedAt: time.Now()})
}

// Stream implements [session.VAD].
func (v *VAD) Stream(ctx context.Context) (session.VADStream, error) {
	return &vadStream{v: v, ctx: ctx, closed: make(chan struct{})}, nil
}

type vadStream struct {
	v      *VAD
	ctx    context.Context
	once   sync.Once
	closed chan struct{}
}

func (st *vadStream) Push(session.AudioFrame) error { return nil }
func (st *vadStream) Recv() (session.VADEvent, error) {
	select {
	case ev := <-st.v.events:
		return ev, nil
	case <-st.closed:
		return session.VADEvent{}, io.EOF
	case <-st.ctx.Done():
		return session.VADEvent{}, context.Cause(st.ctx)
	}
}
func (st *vadStream) Close() error {
	st.once.Do(func() { close(st.closed) })
	return nil
}

// TTS is an instant [session.TTS]: each flushed segment becomes WordAudio
// of 16 kHz mono audio per word, in 20 ms frames, all at once.
type TTS struct {
	// WordAudio is the audio per word (default 200 ms).
	WordAudio time.Duration
	// TTFB delays the first frame of each segment.
	TTFB time.Duration

	mu   sync.Mutex
	text []string
}

var _ session.TTS = (*TTS)(nil)

// Segments returns the text of every segment synthesised so far.
func (t *TTS) Segments() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.text...)
}

// Stream implements [session.TTS].
func (t *TTS) Stream(ctx context.Context) (session.TTSStream, error) {
	return &ttsStream{t: t, ctx: ctx, out: make(chan string, 256), closed: make(chan struct{})}, nil
}

type ttsStream struct {
	t      *TTS
	ctx    context.Context
	buf    strings.Builder
	out    chan string // flushed segments; closed by EndInput
	ended  bool
	once   sync.Once
	closed chan struct{}

	frames []session.SynthesizedAudio
}

func (s *ttsStream) PushText(text string) error {
	if s.ended {
		return session.ErrStreamClosed
	}
	s.buf.WriteString(text)
	return nil
}

func (s *ttsStream) Flush() error {
	if s.ended {
		return session.ErrStreamClosed
	}
	if seg := strings.TrimSpace(s.buf.String()); seg != "" {
		s.buf.Reset()
		select {
		case s.out <- seg:
		case <-s.closed:
			return session.ErrStreamClosed
		}
	}
	return nil
}

func (s *ttsStream) EndInput() error {
	if s.ended {
		return nil
	}
	err := s.Flush()
	s.ended = true
	close(s.out)
	return err
}

func (s *ttsStream) Recv() (session.SynthesizedAudio, error) {
	for len(s.frames) == 0 {
		select {
		case seg, ok := <-s.out:
			if !ok {
				return session.SynthesizedAudio{}, io.EOF
			}
			if s.t.TTFB > 0 {
				timer := time.NewTimer(s.t.TTFB)
				select {
				case <-timer.C:
				case <-s.closed:
					timer.Stop()
					return session.SynthesizedAudio{}, session.ErrStreamClosed
				}
			}
			s.t.mu.Lock()
			s.t.text = append(s.t.text, seg)
			s.t.mu.Unlock()
			s.frames = synth(seg, s.t.WordAudio)
		case <-s.closed:
			return session.SynthesizedAudio{}, session.ErrStreamClosed
		case <-s.ctx.Done():
			return session.SynthesizedAudio{}, context.Cause(s.ctx)
		}
	}
	a := s.frames[0]
	s.frames = s.frames[1:]
	return a, nil
}

func (s *ttsStream) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// FrameDuration is the length of the frames the fakes make.
const FrameDuration = 20 * time.Millisecond

// silence is shared by every frame the fake makes; nobody writes to it.
var silence = session.NewSilence(FrameDuration, 16000, 1)

func synth(seg string, perWord time.Duration) []session.SynthesizedAudio {
	if perWord <= 0 {
		perWord = 200 * time.Millisecond
	}
	total := time.Duration(len(strings.Fields(seg))) * perWord
	n := max(int(total/FrameDuration), 1)
	frames := make([]session.SynthesizedAudio, n)
	for i := range frames {
		frames[i] = session.SynthesizedAudio{Frame: silence, Text: seg, SegmentEnd: i == n-1}
	}
	return frames
}

// TurnDetector is a [session.TurnDetector] that answers Done, or asks
// Decide when set.
type TurnDetector struct {
	Done   bool
	Decide func(chat *session.ChatContext) bool
}

var _ session.TurnDetector = (*TurnDetector)(nil)

// EndOfTurn implements [session.TurnDetector].
func (d *TurnDetector) EndOfTurn(_ context.Context, chat *session.ChatContext) (session.TurnPrediction, error) {
	done := d.Done
	if d.Decide != nil {
		done = d.Decide(chat)
	}
	p := 0.1
	if done {
		p = 0.9
	}
	return session.TurnPrediction{Probability: p, Done: done}, nil
}
