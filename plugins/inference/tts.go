package inference

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/livekit-go/agents/session"
)

// TTSModel is a LiveKit Inference text-to-speech model. It implements
// [session.TTS] over the gateway's /tts WebSocket, keeping idle connections
// in a pool so that the next reply skips the handshake. It is safe for
// concurrent use; Close closes the idle connections.
type TTSModel struct {
	model string // without the voice; "" sends none
	cfg   ttsConfig
	gw    *speechGateway
	err   error
	pool  ttsPool
}

var _ session.TTS = (*TTSModel)(nil)

const (
	defaultTTSSampleRate = 16000
	// ttsPoolMaxAge is how long after its last checkout a pooled connection
	// is still reused (the references' 300 s).
	ttsPoolMaxAge = 300 * time.Second
	// ttsPoolMaxIdle caps the idle connections kept; more are closed.
	ttsPoolMaxIdle = 8
)

type ttsConfig struct {
	speechConfig
	voice      string
	language   string
	sampleRate int
	options    TTSModelOptions
	optionsErr error
	fallback   []TTSFallback
}

// TTSOption configures a [TTSModel]. The [SpeechOption]s are TTSOptions
// too.
type TTSOption interface{ applyTTS(*ttsConfig) }

type ttsOptionFunc func(*ttsConfig)

func (f ttsOptionFunc) applyTTS(c *ttsConfig) { f(c) }

// WithTTSVoice sets the voice; it wins over one given in the model string.
// Without one the gateway picks the provider's default.
func WithTTSVoice(voice string) TTSOption {
	return ttsOptionFunc(func(c *ttsConfig) { c.voice = voice })
}

// WithTTSLanguage sets the language (BCP-47, e.g. "en"). Without one none
// is sent and the provider uses the voice's own.
func WithTTSLanguage(lang string) TTSOption {
	return ttsOptionFunc(func(c *ttsConfig) { c.language = lang })
}

// WithTTSSampleRate sets the rate of the audio asked for and returned
// (default 16000 Hz).
func WithTTSSampleRate(hz int) TTSOption {
	return ttsOptionFunc(func(c *ttsConfig) { c.sampleRate = hz })
}

// WithTTSModelOptions sets the provider options.
func WithTTSModelOptions(o TTSModelOptions) TTSOption {
	return ttsOptionFunc(func(c *ttsConfig) { c.options, c.optionsErr = o.clone(), o.Validate() })
}

// WithTTSModelOptionsMap sets the provider options from their map form
// (Python extra_kwargs, Node modelOptions).
func WithTTSModelOptionsMap(m map[string]any) TTSOption {
	return ttsOptionFunc(func(c *ttsConfig) { c.options, c.optionsErr = ParseTTSModelOptions(m) })
}

// TTSFallback is a model the gateway falls back to, in the order given,
// when the primary one fails. Fallback runs in the gateway only.
type TTSFallback struct {
	// Model is "provider/model", optionally with ":voice".
	Model string
	// Voice wins over a voice in Model.
	Voice string
	// Options are the model's provider options in map form.
	Options map[string]any
}

// WithTTSFallback sets the fallback models.
func WithTTSFallback(models ...TTSFallback) TTSOption {
	return ttsOptionFunc(func(c *ttsConfig) { c.fallback = slices.Clone(models) })
}

// TTS returns the LiveKit Inference TTS for model: "provider/model" with an
// optional ":voice" suffix ("cartesia/sonic-3:9626c31c-..."), or a bare
// provider ("cartesia"). An invalid option or missing credentials do not
// panic: the error is returned by Err and by every Stream. Use NewTTS to get
// it at once.
func TTS(model string, opts ...TTSOption) *TTSModel {
	m, err := NewTTS(model, opts...)
	if err != nil {
		return &TTSModel{model: model, err: err}
	}
	return m
}

// NewTTS is TTS returning its error.
func NewTTS(model string, opts ...TTSOption) (*TTSModel, error) {
	cfg := ttsConfig{speechConfig: defaultSpeechConfig(), sampleRate: defaultTTSSampleRate}
	for _, o := range opts {
		if o != nil {
			o.applyTTS(&cfg)
		}
	}
	name, voice, _ := splitModel(strings.TrimSpace(model))
	if cfg.voice == "" {
		cfg.voice = voice
	}
	cfg.language = normalizeLanguage(cfg.language)
	if cfg.optionsErr != nil {
		return nil, cfg.optionsErr
	}
	if err := cfg.options.Validate(); err != nil {
		return nil, err
	}
	if cfg.sampleRate < 8000 || cfg.sampleRate > 48000 {
		return nil, fmt.Errorf("inference: sample rate %d: want 8000..48000 Hz", cfg.sampleRate)
	}
	for i, f := range cfg.fallback {
		if fm, _, _ := splitModel(f.Model); fm == "" {
			return nil, fmt.Errorf("inference: fallback %d: model is empty", i)
		}
		if _, err := ParseTTSModelOptions(f.Options); err != nil {
			return nil, fmt.Errorf("inference: fallback %d: %w", i, err)
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	cfg.logger = cfg.logger.With("component", "inference.tts", "model", name)
	gw, err := newSpeechGateway(cfg.speechConfig)
	if err != nil {
		return nil, err
	}
	return &TTSModel{model: name, cfg: cfg, gw: gw}, nil
}

// Model returns the model without its voice.
func (m *TTSModel) Model() string { return m.model }

// Voice returns the voice; "" when the gateway picks.
func (m *TTSModel) Voice() string { return m.cfg.voice }

// SampleRate returns the rate of the audio the streams return.
func (m *TTSModel) SampleRate() int { return m.cfg.sampleRate }

// Err returns the error that made the model unusable, or nil.
func (m *TTSModel) Err() error { return m.err }

// Prewarm opens a connection and leaves it in the pool, so that the first
// reply does not pay for the handshake.
func (m *TTSModel) Prewarm(ctx context.Context) error {
	if m.err != nil {
		return m.err
	}
	c, err := m.dial(ctx)
	if err != nil {
		return err
	}
	m.pool.put(c, time.Now())
	return nil
}

// Close closes the idle connections; streams still open keep theirs until
// they end, and then close them too. It is idempotent.
func (m *TTSModel) Close() error {
	m.pool.close()
	return nil
}

func (m *TTSModel) dial(ctx context.Context) (*wsConn, error) {
	path := m.model
	if path == "" {
		path = "unknown"
	}
	return m.gw.dial(ctx, "tts", path, m.sessionCreate(), m.cfg.logger)
}

func (m *TTSModel) sessionCreate() ttsCreateMsg {
	msg := ttsCreateMsg{
		Type:       "session.create",
		SampleRate: strconv.Itoa(m.cfg.sampleRate),
		Encoding:   "pcm_s16le",
		Extra:      m.cfg.options.Map(),
		Model:      m.model,
		Voice:      m.cfg.voice,
		Language:   m.cfg.language,
		Connection: connectionWire{Timeout: m.cfg.connectTimeout.Seconds(), Retries: m.cfg.maxRetries},
	}
	if len(m.cfg.fallback) > 0 {
		fb := &sttFallbackWire{}
		for _, f := range m.cfg.fallback {
			name, voice, _ := splitModel(f.Model)
			if f.Voice != "" {
				voice = f.Voice
			}
			o, _ := ParseTTSModelOptions(f.Options) // checked by NewTTS
			fb.Models = append(fb.Models, fallbackModelWire{Model: name, Voice: &voice, Extra: o.Map()})
		}
		msg.Fallback = fb
	}
	return msg
}

// The client's TTS messages.
type (
	ttsCreateMsg struct {
		Type       string           `json:"type"`
		SampleRate string           `json:"sample_rate"`
		Encoding   string           `json:"encoding"`
		Extra      map[string]any   `json:"extra"`
		Model      string           `json:"model,omitempty"`
		Voice      string           `json:"voice,omitempty"`
		Language   string           `json:"language,omitempty"`
		Fallback   *sttFallbackWire `json:"fallback,omitempty"`
		Connection connectionWire   `json:"connection"`
	}
	ttsTranscriptMsg struct {
		Type             string           `json:"type"`
		Transcript       string           `json:"transcript"`
		GenerationConfig generationConfig `json:"generation_config"`
		Extra            map[string]any   `json:"extra"`
	}
	generationConfig struct {
		Voice    string `json:"voice,omitempty"`
		Model    string `json:"model,omitempty"`
		Language string `json:"language,omitempty"`
	}
)

// ttsServerMsg is any message the gateway sends on /tts.
type ttsServerMsg struct {
	Type      string          `json:"type"`
	SessionID string          `json:"session_id"`
	Audio     string          `json:"audio"`
	Message   json.RawMessage `json:"message"`
	Code      json.RawMessage `json:"code"`
	Words     []ttsTimedWire  `json:"words"`
	Chars     []ttsTimedWire  `json:"chars"`
}

type ttsTimedWire struct {
	Word  string  `json:"word"`
	Char  string  `json:"char"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// decodeTTSMessage parses one message from the gateway and, for
// output_audio, its base64 audio. A message that is not a JSON object,
// whose known fields have the wrong types, or whose audio is not base64 is a
// *ProtocolError.
func decodeTTSMessage(b []byte) (ttsServerMsg, []byte, error) {
	var m ttsServerMsg
	if err := json.Unmarshal(b, &m); err != nil {
		return ttsServerMsg{}, nil, &ProtocolError{Message: "tts: " + err.Error()}
	}
	if m.Type != "output_audio" {
		return m, nil, nil
	}
	pcm, err := base64.StdEncoding.DecodeString(m.Audio)
	if err != nil {
		return ttsServerMsg{}, nil, &ProtocolError{Message: "tts: output_audio: " + err.Error()}
	}
	return m, pcm, nil
}

// ttsPool holds idle connections. It is safe for concurrent use.
type ttsPool struct {
	mu     sync.Mutex
	idle   []pooledConn
	closed bool
}

type pooledConn struct {
	c *wsConn
	// checkedOut is when the connection was last taken from the pool (or
	// opened); it decides whether it is still reused.
	checkedOut time.Time
}

// get returns an idle connection to reuse, or nil. Connections too old, or
// whose socket ended or holds messages nobody asked for, are closed.
func (p *ttsPool) get() *pooledConn {
	for {
		p.mu.Lock()
		if len(p.idle) == 0 {
			p.mu.Unlock()
			return nil
		}
		pc := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		p.mu.Unlock()
		if time.Since(pc.checkedOut) < ttsPoolMaxAge && idleClean(pc.c) {
			pc.checkedOut = time.Now()
			return &pc
		}
		pc.c.close()
	}
}

// idleClean reports whether an idle connection can take a generation: its
// socket is open and it received nothing but session.created (sent on every
// new connection, read here).
func idleClean(c *wsConn) bool {
	for {
		b, err := c.poll()
		if err != nil {
			return false
		}
		if b == nil {
			return true
		}
		if m, _, err := decodeTTSMessage(b); err != nil || m.Type != "session.created" {
			return false
		}
	}
}

func (p *ttsPool) put(c *wsConn, checkedOut time.Time) {
	p.mu.Lock()
	if p.closed || len(p.idle) >= ttsPoolMaxIdle {
		p.mu.Unlock()
		c.close()
		return
	}
	p.idle = append(p.idle, pooledConn{c: c, checkedOut: checkedOut})
	p.mu.Unlock()
}

func (p *ttsPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, pc := range idle {
		pc.c.close()
	}
}

// Stream opens a synthesis stream. It returns at once; the connection is
// taken from the pool (or opened) in the background, while the first
// sentence is still being written. See [TTSStream].
func (m *TTSModel) Stream(ctx context.Context) (session.TTSStream, error) {
	if m.err != nil {
		return nil, m.err
	}
	sctx, cancel := context.WithCancelCause(ctx)
	s := &TTSStream{
		m:       m,
		ctx:     sctx,
		cancel:  cancel,
		inReady: make(chan struct{}, 1),
		out:     newOutbox[session.SynthesizedAudio](),
		closed:  make(chan struct{}),
		runDone: make(chan struct{}),
	}
	go s.run() // exits when the stream ends: EOF, failure, ctx or Close
	return s, nil
}

// TTSStream is a synthesis stream (see [session.TTSStream]). PushText, Flush
// and EndInput are called from one goroutine, Recv from another; Close from
// any, also while Recv is blocked.
//
// Each flushed segment (the session flushes every sentence) is one
// generation on the stream's connection: its text is sent as
// input_transcript messages (cut at the provider's length cap), then
// session.flush, and its audio is read until done. Recv returns 20 ms mono
// frames at the model's rate, each carrying the segment's text, the last
// marked SegmentEnd; the segments follow in the order they were flushed,
// each starting as soon as the one before is done (the gateway is read
// ahead of playback, so that wait is short). Text not flushed when EndInput
// is called is one last segment.
//
// A segment that fails before any of its audio was returned is sent again
// on a new connection, for retryable errors and at most the configured
// retries; after some of its audio, the error ends the stream. The
// connection goes back to the model's pool when the stream ends cleanly (or
// is closed between two segments) and is discarded otherwise. After Close,
// Recv returns [session.ErrStreamClosed]; after ctx ends, its cause.
type TTSStream struct {
	m *TTSModel
	// ctx is the caller's, cancelled also by Close; kept because the
	// stream reconnects under it.
	ctx    context.Context
	cancel context.CancelCauseFunc

	inMu    sync.Mutex
	text    strings.Builder
	segs    []string
	ended   bool
	inReady chan struct{}

	out *outbox[session.SynthesizedAudio]

	closed    chan struct{}
	closeOnce sync.Once
	runDone   chan struct{}

	// Owned by run: connections tried for the current segment.
	attempts int
}

var _ session.TTSStream = (*TTSStream)(nil)

// PushText adds text to the current segment.
func (s *TTSStream) PushText(text string) error {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	if err := s.inputErr(); err != nil {
		return err
	}
	s.text.WriteString(text)
	return nil
}

// Flush ends the current segment; it is synthesized as soon as the
// segments before it are.
func (s *TTSStream) Flush() error {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	if err := s.inputErr(); err != nil {
		return err
	}
	s.flushLocked()
	return nil
}

// EndInput flushes what is left; Recv returns io.EOF after its audio.
func (s *TTSStream) EndInput() error {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	select {
	case <-s.closed:
		return session.ErrStreamClosed
	default:
	}
	if s.ended {
		return nil
	}
	s.flushLocked()
	s.ended = true
	s.wakeRun()
	return nil
}

func (s *TTSStream) inputErr() error {
	select {
	case <-s.closed:
		return session.ErrStreamClosed
	default:
	}
	if s.ended {
		return errInputEnded
	}
	if err := s.out.ended(); err != nil && err != io.EOF {
		return err
	}
	return nil
}

func (s *TTSStream) flushLocked() {
	t := s.text.String()
	s.text.Reset()
	if strings.TrimSpace(t) == "" {
		return
	}
	s.segs = append(s.segs, t)
	s.wakeRun()
}

func (s *TTSStream) wakeRun() {
	select {
	case s.inReady <- struct{}{}:
	default:
	}
}

// Recv returns the next frame, io.EOF after the last, or the error that
// ended the stream.
func (s *TTSStream) Recv() (session.SynthesizedAudio, error) { return s.out.recv(s.closed) }

// Close ends the stream and waits for its goroutine; a generation in
// flight is abandoned with its connection. It is idempotent and returns
// nil.
func (s *TTSStream) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.cancel(session.ErrStreamClosed)
	})
	<-s.runDone
	return nil
}

func (s *TTSStream) emit(a session.SynthesizedAudio) { s.out.push(a) }

func (s *TTSStream) finish(err error) { s.out.finish(err) }

func (s *TTSStream) stopErr() error { return stopCause(s.ctx, s.closed) }

// nextSegment waits for a flushed segment; ok is false once the input
// ended with none left, or the stream was stopped (err).
func (s *TTSStream) nextSegment() (seg string, ok bool, err error) {
	for {
		s.inMu.Lock()
		if len(s.segs) > 0 {
			seg = s.segs[0]
			s.segs = s.segs[1:]
			s.inMu.Unlock()
			return seg, true, nil
		}
		ended := s.ended
		s.inMu.Unlock()
		if ended {
			return "", false, nil
		}
		select {
		case <-s.inReady:
		case <-s.ctx.Done():
			return "", false, s.stopErr()
		}
	}
}

// acquire takes a pooled connection or opens one, retrying retryable
// failures; lastErr, when not nil, is the failure before.
func (s *TTSStream) acquire(lastErr error) (*pooledConn, error) {
	if lastErr == nil {
		if pc := s.m.pool.get(); pc != nil {
			s.attempts++
			return pc, nil
		}
	}
	g := s.m.gw
	for {
		if lastErr != nil {
			if !retryable(lastErr) {
				return nil, lastErr
			}
			if s.attempts > g.cfg.maxRetries {
				return nil, &AttemptsError{Attempts: s.attempts, Err: lastErr}
			}
			wait := g.retryDelay(s.attempts, lastErr)
			s.m.cfg.logger.LogAttrs(s.ctx, slog.LevelWarn, "inference tts failed, reconnecting",
				slog.Int("attempt", s.attempts), slog.Duration("wait", wait), slog.String("error", lastErr.Error()))
			if err := sleep(s.ctx, wait, s.closed, session.ErrStreamClosed); err != nil {
				return nil, err
			}
		}
		if err := s.stopErr(); err != nil {
			return nil, err
		}
		s.attempts++
		c, err := s.m.dial(s.ctx)
		if err == nil {
			return &pooledConn{c: c, checkedOut: time.Now()}, nil
		}
		if stop := s.stopErr(); stop != nil {
			return nil, stop
		}
		lastErr = err
	}
}

func (s *TTSStream) run() {
	defer close(s.runDone)
	defer s.cancel(nil)
	// Taken before the first segment is flushed: the handshake overlaps
	// the LLM's first sentence.
	pc, err := s.acquire(nil)
	if err != nil {
		s.finish(err)
		return
	}
	for {
		seg, ok, err := s.nextSegment()
		if !ok {
			if pc != nil {
				// Between two segments the connection is clean: reuse it.
				s.m.pool.put(pc.c, pc.checkedOut)
			}
			if err == nil {
				err = io.EOF
			}
			s.finish(err)
			return
		}
		for {
			if pc == nil {
				if pc, err = s.acquire(nil); err != nil {
					s.finish(err)
					return
				}
			}
			delivered, err := s.synthesize(pc.c, seg)
			if err == nil {
				break
			}
			pc.c.close()
			pc = nil
			if err == errSessionEnded {
				break // the segment is whole; its socket is not
			}
			if stop := s.stopErr(); stop != nil {
				s.finish(stop)
				return
			}
			if delivered {
				s.finish(err)
				return
			}
			if pc, err = s.acquire(err); err != nil {
				s.finish(err)
				return
			}
		}
		// A segment went through: retries count afresh, from the
		// connection kept (if any).
		s.attempts = 0
		if pc != nil {
			s.attempts = 1
		}
	}
}

// errSessionEnded: the gateway ended the session after the segment's
// audio; the segment is complete, the connection is not reusable.
var errSessionEnded = errors.New("inference: gateway closed the session")

// synthesize runs one generation: the segment's text, session.flush, and
// its audio until done. delivered reports whether any of the segment's
// audio was handed to Recv (then it cannot be sent again).
func (s *TTSStream) synthesize(conn *wsConn, seg string) (delivered bool, err error) {
	cfg := &s.m.cfg
	gen := generationConfig{Voice: cfg.voice, Model: s.m.model, Language: cfg.language}
	extra := cfg.options.Map()
	for _, part := range splitText(strings.TrimSpace(seg), ttsTokenCap(s.m.model)) {
		msg := ttsTranscriptMsg{Type: "input_transcript", Transcript: part + " ", GenerationConfig: gen, Extra: extra}
		if err := conn.writeJSON(msg); err != nil {
			return false, err
		}
	}
	if err := conn.writeJSON(typeOnlyMsg{Type: "session.flush"}); err != nil {
		return false, err
	}
	frame := cfg.sampleRate / 50
	var pending []int16 // decoded audio not yet returned; at least one sample is held back to mark the end
	var odd []byte      // a byte of a sample split across two messages
	emitFrames := func(all bool) {
		for len(pending) > frame || (all && len(pending) > 0) {
			n := min(frame, len(pending))
			last := all && n == len(pending)
			data := slices.Clone(pending[:n])
			pending = pending[n:]
			s.emit(session.SynthesizedAudio{
				Frame:      session.AudioFrame{Data: data, SampleRate: cfg.sampleRate, NumChannels: 1, SamplesPerChannel: n},
				Text:       seg,
				SegmentEnd: last,
			})
			delivered = true
		}
		pending = slices.Clip(pending)
	}
	idle := time.NewTimer(cfg.idleTimeout)
	defer idle.Stop()
	for {
		for {
			b, rerr := conn.poll()
			if b == nil && rerr == nil {
				break
			}
			if b == nil {
				return delivered, rerr
			}
			idle.Reset(cfg.idleTimeout)
			msg, pcm, err := decodeTTSMessage(b)
			if err != nil {
				return delivered, err
			}
			switch msg.Type {
			case "output_audio":
				if len(odd) > 0 {
					pcm = append(odd, pcm...)
					odd = nil
				}
				if len(pcm)%2 == 1 {
					odd = []byte{pcm[len(pcm)-1]}
				}
				pending = append(pending, pcmSamples(pcm)...)
				emitFrames(false)
			case "done":
				emitFrames(true)
				return delivered, nil
			case "session.closed":
				if len(pending) > 0 || delivered {
					// The Node client takes it as the end; the socket is
					// gone, so the connection is not reused.
					emitFrames(true)
					return delivered, errSessionEnded
				}
				return false, &APIError{InStream: true, Message: "gateway closed the session before any audio"}
			case "error":
				return delivered, gatewayError(b, msg.Message, msg.Code)
			case "session.created", "output_alignment":
			default:
				if s.m.cfg.logger.Enabled(s.ctx, slog.LevelDebug) {
					s.m.cfg.logger.Debug("ignoring gateway message", "type", msg.Type)
				}
			}
		}
		select {
		case <-conn.ready:
		case <-idle.C:
			return delivered, &TimeoutError{Phase: "idle", After: cfg.idleTimeout}
		case <-s.ctx.Done():
			return delivered, s.stopErr()
		}
	}
}
