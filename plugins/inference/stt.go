package inference

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
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

	"github.com/livekit-go/agents/audio"
	"github.com/livekit-go/agents/session"
)

// STTModel is a LiveKit Inference speech-to-text model. It implements
// [session.STT]; each stream is one WebSocket to the gateway's /stt
// endpoint, kept for the whole stream (across the user's turns) and opened
// again after a retryable failure. It is safe for concurrent use.
type STTModel struct {
	model string // without the language; "" is the gateway's "auto"
	cfg   sttConfig
	gw    *speechGateway
	err   error
}

var _ session.STT = (*STTModel)(nil)

const (
	defaultSTTSampleRate = 16000
	// sttFinalWait is how long after session.finalize a transcript is
	// awaited, and sttAfterFinalWait the same once a final arrived (the Node
	// client's finalization timer).
	sttFinalWait      = 30 * time.Second
	sttAfterFinalWait = 3 * time.Second
	// sttMaxQueued caps the audio held while a connection is reopened;
	// older audio is dropped first.
	sttMaxQueued = 30 * defaultSTTSampleRate
)

type sttConfig struct {
	speechConfig
	language   string
	sampleRate int
	options    STTModelOptions
	optionsErr error
	keyterms   []string
	fallback   []STTFallback
	// finalWait and afterFinalWait are the finalization timer's waits;
	// tests shrink them.
	finalWait, afterFinalWait time.Duration
}

// STTOption configures an [STTModel]. The [SpeechOption]s are STTOptions
// too.
type STTOption interface{ applySTT(*sttConfig) }

type sttOptionFunc func(*sttConfig)

func (f sttOptionFunc) applySTT(c *sttConfig) { f(c) }

// WithSTTLanguage sets the language (a BCP-47 code such as "en" or "en-US",
// or "multi"); it wins over one given in the model string.
func WithSTTLanguage(lang string) STTOption {
	return sttOptionFunc(func(c *sttConfig) { c.language = lang })
}

// WithSTTSampleRate sets the rate audio is sent at (default 16000 Hz);
// pushed frames are converted to it.
func WithSTTSampleRate(hz int) STTOption {
	return sttOptionFunc(func(c *sttConfig) { c.sampleRate = hz })
}

// WithSTTModelOptions sets the provider options.
func WithSTTModelOptions(o STTModelOptions) STTOption {
	return sttOptionFunc(func(c *sttConfig) { c.options, c.optionsErr = o.clone(), o.Validate() })
}

// WithSTTModelOptionsMap sets the provider options from their map form
// (Python extra_kwargs, Node modelOptions).
func WithSTTModelOptionsMap(m map[string]any) STTOption {
	return sttOptionFunc(func(c *sttConfig) { c.options, c.optionsErr = ParseSTTModelOptions(m) })
}

// WithSTTKeyterms biases recognition towards terms, sent under the
// provider's own key: keyterm (Deepgram), keyterms_prompt (AssemblyAI) or
// additional_vocab (Speechmatics), merged with what the model options hold.
// Other providers do not take keyterms; there they are dropped.
func WithSTTKeyterms(terms ...string) STTOption {
	return sttOptionFunc(func(c *sttConfig) { c.keyterms = slices.Clone(terms) })
}

// STTFallback is a model the gateway falls back to, in the order given,
// when the primary one fails. Fallback runs in the gateway only.
type STTFallback struct {
	// Model is "provider/model"; a ":language" suffix is dropped.
	Model string
	// Options are the model's provider options in map form.
	Options map[string]any
}

// WithSTTFallback sets the fallback models.
func WithSTTFallback(models ...STTFallback) STTOption {
	return sttOptionFunc(func(c *sttConfig) { c.fallback = slices.Clone(models) })
}

// STT returns the LiveKit Inference STT for model: "provider/model", with an
// optional ":language" suffix ("deepgram/nova-3:en"), or "auto" to let the
// gateway pick by language. An invalid option or missing credentials do not
// panic: the error is returned by Err and by every Stream. Use NewSTT to get
// it at once.
func STT(model string, opts ...STTOption) *STTModel {
	m, err := NewSTT(model, opts...)
	if err != nil {
		return &STTModel{model: model, err: err}
	}
	return m
}

// NewSTT is STT returning its error.
func NewSTT(model string, opts ...STTOption) (*STTModel, error) {
	cfg := sttConfig{
		speechConfig:   defaultSpeechConfig(),
		sampleRate:     defaultSTTSampleRate,
		finalWait:      sttFinalWait,
		afterFinalWait: sttAfterFinalWait,
	}
	for _, o := range opts {
		if o != nil {
			o.applySTT(&cfg)
		}
	}
	name, lang, _ := splitModel(strings.TrimSpace(model))
	if name == "auto" {
		name = ""
	}
	if cfg.language == "" {
		cfg.language = lang
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
	for i, t := range cfg.keyterms {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("inference: keyterms: term %d is empty", i)
		}
	}
	for i, f := range cfg.fallback {
		if fm, _, _ := splitModel(f.Model); fm == "" {
			return nil, fmt.Errorf("inference: fallback %d: model is empty", i)
		}
		if _, err := ParseSTTModelOptions(f.Options); err != nil {
			return nil, fmt.Errorf("inference: fallback %d: %w", i, err)
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	cfg.logger = cfg.logger.With("component", "inference.stt", "model", model)
	gw, err := newSpeechGateway(cfg.speechConfig)
	if err != nil {
		return nil, err
	}
	return &STTModel{model: name, cfg: cfg, gw: gw}, nil
}

// Model returns the model without its language; "auto" when the gateway
// picks.
func (m *STTModel) Model() string {
	if m.model == "" {
		return "auto"
	}
	return m.model
}

// Language returns the normalized language; "" when the gateway detects it.
func (m *STTModel) Language() string { return m.cfg.language }

// Err returns the error that made the model unusable, or nil.
func (m *STTModel) Err() error { return m.err }

// Stream opens a recognition stream, an [*STTStream]. It returns at once
// and connects in the background (the session opens its STT while it
// starts, which must not wait for the network); audio pushed meanwhile is
// sent once connected. A handshake that fails for good is returned by Recv:
// an [*APIError] with the gateway's HTTP status (401 for bad credentials,
// not retried), or, once the retries are spent, an [*AttemptsError]
// wrapping a [*ConnectionError], [*TimeoutError] or [*APIError].
func (m *STTModel) Stream(ctx context.Context) (session.STTStream, error) {
	if m.err != nil {
		return nil, m.err
	}
	sctx, cancel := context.WithCancelCause(ctx)
	s := &STTStream{
		m:        m,
		ctx:      sctx,
		cancel:   cancel,
		start:    time.Now(),
		clientID: newClientID(),
		res:      audio.NewMonoResampler(m.cfg.sampleRate),
		inReady:  make(chan struct{}, 1),
		out:      newOutbox[STTEvent](),
		closed:   make(chan struct{}),
		runDone:  make(chan struct{}),
	}
	go s.run() // exits when the stream ends: EOF, failure, ctx or Close
	return s, nil
}

func (m *STTModel) sessionCreate() sttCreateMsg {
	msg := sttCreateMsg{
		Type:  "session.create",
		Model: m.model,
		Settings: sttSettingsWire{
			SampleRate: strconv.Itoa(m.cfg.sampleRate),
			Encoding:   "pcm_s16le",
			Language:   m.cfg.language,
			Extra:      sttExtra(m.model, m.cfg.options, m.cfg.keyterms),
		},
		Connection: connectionWire{Timeout: m.cfg.connectTimeout.Seconds(), Retries: m.cfg.maxRetries},
	}
	if len(m.cfg.fallback) > 0 {
		fb := &sttFallbackWire{}
		for _, f := range m.cfg.fallback {
			name, _, _ := splitModel(f.Model)
			o, _ := ParseSTTModelOptions(f.Options) // checked by NewSTT
			fb.Models = append(fb.Models, fallbackModelWire{Model: name, Extra: o.Map()})
		}
		msg.Fallback = fb
	}
	return msg
}

// The client's STT messages.
type (
	sttCreateMsg struct {
		Type       string           `json:"type"`
		Model      string           `json:"model,omitempty"`
		Settings   sttSettingsWire  `json:"settings"`
		Fallback   *sttFallbackWire `json:"fallback,omitempty"`
		Connection connectionWire   `json:"connection"`
	}
	sttSettingsWire struct {
		SampleRate string         `json:"sample_rate"`
		Encoding   string         `json:"encoding"`
		Language   string         `json:"language,omitempty"`
		Extra      map[string]any `json:"extra"`
	}
	sttFallbackWire struct {
		Models []fallbackModelWire `json:"models"`
	}
	fallbackModelWire struct {
		Model string         `json:"model"`
		Voice *string        `json:"voice,omitempty"`
		Extra map[string]any `json:"extra"`
	}
	connectionWire struct {
		Timeout float64 `json:"timeout"`
		Retries int     `json:"retries"`
	}
	sttAudioMsg struct {
		Type  string `json:"type"`
		Audio string `json:"audio"`
	}
	typeOnlyMsg struct {
		Type string `json:"type"`
	}
)

// sttServerMsg is any message the gateway sends on /stt; each type uses
// some of the fields.
type sttServerMsg struct {
	Type       string          `json:"type"`
	SessionID  string          `json:"session_id"`
	RequestID  string          `json:"request_id"`
	Transcript string          `json:"transcript"`
	Language   string          `json:"language"`
	Start      float64         `json:"start"`
	Duration   float64         `json:"duration"`
	Confidence *float64        `json:"confidence"`
	Words      []sttWordWire   `json:"words"`
	SpeakerID  *string         `json:"speaker_id"`
	Extra      json.RawMessage `json:"extra"`
	Message    json.RawMessage `json:"message"`
	Code       json.RawMessage `json:"code"`
}

type sttWordWire struct {
	Word       string          `json:"word"`
	Start      float64         `json:"start"`
	End        float64         `json:"end"`
	Confidence float64         `json:"confidence"`
	SpeakerID  *string         `json:"speaker_id"`
	Extra      json.RawMessage `json:"extra"`
}

// decodeSTTMessage parses one message from the gateway. A message that is
// not a JSON object, or whose known fields have the wrong types, is a
// *ProtocolError; an unknown type decodes with its Type set and is ignored
// by the caller.
func decodeSTTMessage(b []byte) (sttServerMsg, error) {
	var m sttServerMsg
	if err := json.Unmarshal(b, &m); err != nil {
		return sttServerMsg{}, &ProtocolError{Message: "stt: " + err.Error()}
	}
	return m, nil
}

// gatewayError is the *APIError of an error message: the code is the status
// when it is an HTTP one (429: connection limit), else only the Code (2007:
// inactivity). The whole message is kept, capped, in Body.
func gatewayError(raw []byte, message, code json.RawMessage) *APIError {
	e := &APIError{InStream: true, Message: rawText(message), Code: rawText(code)}
	if n, err := strconv.Atoi(e.Code); err == nil && n >= 400 && n < 600 {
		e.Status = n
	}
	if e.Message == "" {
		e.Message = "gateway error"
	}
	e.Body = raw[:min(len(raw), maxErrorBody):min(len(raw), maxErrorBody)]
	return e
}

// STTEventType is the kind of an [STTEvent].
type STTEventType int

// The events of an [STTStream].
const (
	// STTSpeechStarted: the gateway heard speech begin (start_of_speech, or
	// the first transcript of an utterance).
	STTSpeechStarted STTEventType = iota + 1
	// STTInterim: a transcript that may still change.
	STTInterim
	// STTPreflight: a transcript stable enough to start answering (eager
	// end of turn, e.g. Deepgram Flux with eager_eot_threshold).
	STTPreflight
	// STTFinal: a transcript that will not change; it ends the utterance.
	STTFinal
	// STTSpeechEnded: the utterance ended (after its final transcript).
	STTSpeechEnded
)

// String returns the gateway's name for the event.
func (t STTEventType) String() string {
	switch t {
	case STTSpeechStarted:
		return "start_of_speech"
	case STTInterim:
		return "interim_transcript"
	case STTPreflight:
		return "preflight_transcript"
	case STTFinal:
		return "final_transcript"
	case STTSpeechEnded:
		return "end_of_speech"
	}
	return "unknown"
}

// STTEvent is everything the gateway said about one recognition event.
type STTEvent struct {
	Type STTEventType
	// Text is the transcript (interim, preflight and final events).
	Text string
	// Language is the BCP-47 code the provider reported, if any.
	Language string
	// Start and End place the transcript in the stream's audio, measured
	// from when the stream was opened (monotonic across reconnects).
	Start, End time.Duration
	// Confidence is in [0, 1]; 1 when the provider did not say.
	Confidence float64
	// Words are the transcript's words with their times, when sent.
	Words []STTWord
	// SpeakerID is the diarized speaker, when diarization is on.
	SpeakerID string
	// Extra is the provider's own metadata, when it sent a non-empty
	// object.
	Extra map[string]any
	// RequestID is the gateway's session id, or the stream's own id.
	RequestID string
	// AudioDuration, on a final event, is how much audio was sent since the
	// previous final: the recognition usage.
	AudioDuration time.Duration
}

// STTWord is one word of a transcript.
type STTWord struct {
	Word       string
	Start, End time.Duration
	Confidence float64
	SpeakerID  string
}

// SpeechEvent returns the event as the session sees it. A preflight
// transcript becomes an interim one: [session.SpeechEvent] has no preflight
// kind.
func (e STTEvent) SpeechEvent() session.SpeechEvent {
	ev := session.SpeechEvent{Text: e.Text, Language: e.Language, Confidence: e.Confidence}
	switch e.Type {
	case STTSpeechStarted:
		ev.Type = session.SpeechStarted
	case STTInterim, STTPreflight:
		ev.Type = session.SpeechInterim
	case STTFinal:
		ev.Type = session.SpeechFinal
	case STTSpeechEnded:
		ev.Type = session.SpeechEnded
	}
	return ev
}

// STTStream is a recognition stream on one gateway WebSocket (see
// [session.STTStream]). Push, Flush and EndInput are called from one
// goroutine, Recv from another; Close from any, also while Recv is blocked.
//
// Audio is converted to mono at the model's rate and sent in 50 ms
// input_audio messages. Flush sends the partial chunk it holds (and, for
// Speechmatics real-time models, which do not end turns themselves,
// session.finalize). EndInput sends session.finalize; Recv returns io.EOF
// once the gateway closed the session or stopped sending transcripts. When
// the connection fails before that with a retryable error, the stream
// connects again (at most the configured retries, counted from the last
// final transcript) and keeps the audio pushed meanwhile. After Close, Recv
// returns [session.ErrStreamClosed]; after ctx ends, its cause.
type STTStream struct {
	m *STTModel
	// ctx is the caller's, cancelled also by Close; kept because the
	// stream reconnects under it.
	ctx    context.Context
	cancel context.CancelCauseFunc
	start  time.Time
	res    *audio.MonoResampler // Push's goroutine

	inMu    sync.Mutex
	in      []sttCmd
	queued  int // samples in `in`
	ended   bool
	inReady chan struct{}

	out *outbox[STTEvent]

	closed    chan struct{}
	closeOnce sync.Once
	runDone   chan struct{}

	// Owned by run.
	attempts    int // connections tried since the last final
	speaking    bool
	chunk       []int16
	sentSamples int64 // since the last final
	inputEnded  bool
	gotFinal    bool
	connStart   time.Duration
	sessionID   string
	clientID    string
	language    string         // set by Update
	extra       map[string]any // set by Update; a nil value removes the key
}

var _ session.STTStream = (*STTStream)(nil)

type sttCmdKind int

const (
	cmdAudio sttCmdKind = iota
	cmdFlush
	cmdEnd
	cmdUpdate
)

type sttCmd struct {
	kind    sttCmdKind
	samples []int16
	update  sttUpdateWire
}

// STTUpdate changes the settings of a live stream. Empty fields stay as
// they are.
type STTUpdate struct {
	// Language is the new language (BCP-47 or "multi").
	Language string
	// Options are provider options in map form, merged key by key into
	// the stream's; a nil value is sent as null and removes the key from
	// what a reconnection sends.
	Options map[string]any
}

type sttUpdateWire struct {
	Language string         `json:"language,omitempty"`
	Extra    map[string]any `json:"extra,omitempty"`
}

type sttUpdateMsg struct {
	Type     string        `json:"type"`
	Settings sttUpdateWire `json:"settings"`
}

// Update changes the stream's language or provider options with a
// session.update message, in order with the audio pushed. Providers that
// support live updates (AssemblyAI, Deepgram Flux) apply it at once; others
// ignore it. A reconnection keeps it. The options are checked as
// [ParseSTTModelOptions] and [STTModelOptions.Validate] do; an error names
// the key and nothing is sent.
func (s *STTStream) Update(u STTUpdate) error {
	o, err := ParseSTTModelOptions(u.Options)
	if err == nil {
		err = o.Validate()
	}
	if err != nil {
		return err
	}
	w := sttUpdateWire{Language: normalizeLanguage(u.Language)}
	if len(u.Options) > 0 {
		w.Extra = make(map[string]any, len(u.Options))
		for k, v := range u.Options {
			w.Extra[k] = cloneJSONValue(v)
		}
	}
	if w.Language == "" && w.Extra == nil {
		return nil
	}
	return s.enqueue(sttCmd{kind: cmdUpdate, update: w})
}

var errInputEnded = errors.New("inference: input already ended")

// Push queues audio; it does not wait for the network.
func (s *STTStream) Push(f session.AudioFrame) error {
	samples, err := s.res.Push(f)
	if err != nil {
		return fmt.Errorf("inference: %w", err)
	}
	return s.enqueue(sttCmd{kind: cmdAudio, samples: samples})
}

// Flush sends the audio held back for a partial chunk now.
func (s *STTStream) Flush() error { return s.enqueue(sttCmd{kind: cmdFlush}) }

// EndInput says no more audio follows and asks for the last transcript.
func (s *STTStream) EndInput() error { return s.enqueue(sttCmd{kind: cmdEnd}) }

func (s *STTStream) enqueue(c sttCmd) error {
	select {
	case <-s.closed:
		return session.ErrStreamClosed
	default:
	}
	if endErr := s.out.ended(); endErr != nil && endErr != io.EOF {
		return endErr
	}
	s.inMu.Lock()
	defer s.inMu.Unlock()
	if s.ended {
		if c.kind == cmdEnd {
			return nil
		}
		return errInputEnded
	}
	if c.kind == cmdEnd {
		s.ended = true
	}
	s.in = append(s.in, c)
	s.queued += len(c.samples)
	// A connection being reopened must not make the caller hold audio for
	// the VAD: drop the oldest audio past the cap instead.
	for s.queued > sttMaxQueued && len(s.in) > 1 && s.in[0].kind == cmdAudio {
		s.queued -= len(s.in[0].samples)
		s.in[0] = sttCmd{}
		s.in = s.in[1:]
	}
	select {
	case s.inReady <- struct{}{}:
	default:
	}
	return nil
}

func (s *STTStream) takeInput() []sttCmd {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	in := s.in
	s.in, s.queued = nil, 0
	return in
}

// sessionCreate is the model's session.create with the stream's updates.
func (s *STTStream) sessionCreate() sttCreateMsg {
	msg := s.m.sessionCreate()
	if s.language != "" {
		msg.Settings.Language = s.language
	}
	for k, v := range s.extra {
		if v == nil {
			delete(msg.Settings.Extra, k)
		} else {
			msg.Settings.Extra[k] = v
		}
	}
	return msg
}

// requeue puts cmds back in front of what was pushed since.
func (s *STTStream) requeue(cmds []sttCmd) {
	if len(cmds) == 0 {
		return
	}
	s.inMu.Lock()
	s.in = append(slices.Clone(cmds), s.in...)
	for _, c := range cmds {
		s.queued += len(c.samples)
	}
	s.inMu.Unlock()
	select {
	case s.inReady <- struct{}{}:
	default:
	}
}

// Recv returns the next event as the session sees it; see [STTStream.RecvEvent].
func (s *STTStream) Recv() (session.SpeechEvent, error) {
	e, err := s.RecvEvent()
	if err != nil {
		return session.SpeechEvent{}, err
	}
	return e.SpeechEvent(), nil
}

// RecvEvent returns the next event with all its detail (preflight
// transcripts, times, words, speaker, usage), io.EOF after the last one, or
// the error that ended the stream. Use either Recv or RecvEvent on a
// stream, not both.
func (s *STTStream) RecvEvent() (STTEvent, error) { return s.out.recv(s.closed) }

// Close ends the stream: it tells the gateway (session.close), closes the
// socket and waits for the stream's goroutines. It is idempotent and
// returns nil.
func (s *STTStream) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.cancel(session.ErrStreamClosed)
	})
	<-s.runDone
	return nil
}

func (s *STTStream) emit(e STTEvent) { s.out.push(e) }

func (s *STTStream) finish(err error) { s.out.finish(err) }

// stopErr is why the stream must stop now (Close or ctx), or nil.
func (s *STTStream) stopErr() error { return stopCause(s.ctx, s.closed) }

// connect opens a connection, retrying retryable failures. lastErr, when
// not nil, is the failure of the connection before.
func (s *STTStream) connect(lastErr error) (*wsConn, error) {
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
			s.m.cfg.logger.LogAttrs(s.ctx, slog.LevelWarn, "inference stt connection failed, reconnecting",
				slog.Int("attempt", s.attempts), slog.Duration("wait", wait), slog.String("error", lastErr.Error()))
			if err := sleep(s.ctx, wait, s.closed, session.ErrStreamClosed); err != nil {
				return nil, err
			}
		}
		if err := s.stopErr(); err != nil {
			return nil, err
		}
		s.attempts++
		conn, err := g.dial(s.ctx, "stt", s.m.Model(), s.sessionCreate(), s.m.cfg.logger)
		if err == nil {
			s.connStart = time.Since(s.start)
			return conn, nil
		}
		if stop := s.stopErr(); stop != nil {
			return nil, stop
		}
		lastErr = err
	}
}

// run serves connections until the stream ends, reconnecting after a
// retryable failure.
func (s *STTStream) run() {
	defer close(s.runDone)
	defer s.cancel(nil)
	conn, err := s.connect(nil)
	if err != nil {
		s.finish(err)
		return
	}
	for {
		err := s.serve(conn)
		conn.close()
		if err == nil {
			s.finish(io.EOF)
			return
		}
		if stop := s.stopErr(); stop != nil {
			s.finish(stop)
			return
		}
		if conn, err = s.connect(err); err != nil {
			s.finish(err)
			return
		}
	}
}

// serve sends the input and reads the transcripts of one connection. It
// returns nil at the clean end of the stream, else what ended the
// connection.
func (s *STTStream) serve(conn *wsConn) error {
	var timer *time.Timer
	var timerC <-chan time.Time
	arm := func() {
		d := s.m.cfg.finalWait
		if s.gotFinal {
			d = s.m.cfg.afterFinalWait
		}
		if timer == nil {
			timer = time.NewTimer(d)
			timerC = timer.C
		} else {
			timer.Reset(d)
		}
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	if s.inputEnded {
		// Reconnected after the input ended: ask for the rest again.
		if err := conn.writeJSON(typeOnlyMsg{Type: "session.finalize"}); err != nil {
			return err
		}
		arm()
	}
	for {
		for {
			b, rerr := conn.poll()
			if b == nil && rerr == nil {
				break
			}
			if b == nil {
				if s.inputEnded {
					return nil // a close after the input ended is the end
				}
				return rerr
			}
			done, err := s.handle(b)
			if err != nil || done {
				return err
			}
			if s.inputEnded {
				arm()
			}
		}
		select {
		case <-conn.ready:
		case <-s.inReady:
			in := s.takeInput()
			for i, c := range in {
				if err := s.send(conn, c); err != nil {
					// What was not sent goes to the next connection; above
					// all EndInput must not be lost.
					s.requeue(in[i+1:])
					return err
				}
				if c.kind == cmdEnd {
					arm()
				}
			}
		case <-timerC:
			_ = conn.writeJSON(typeOnlyMsg{Type: "session.close"})
			return nil
		case <-s.ctx.Done(): // the caller's ctx, or Close
			if err := s.stopErr(); errors.Is(err, session.ErrStreamClosed) {
				_ = conn.writeJSON(typeOnlyMsg{Type: "session.close"})
			}
			return s.stopErr()
		}
	}
}

// chunkSamples is one input_audio message: 50 ms.
func (s *STTStream) chunkSamples() int { return s.m.cfg.sampleRate / 20 }

func (s *STTStream) send(conn *wsConn, c sttCmd) error {
	switch c.kind {
	case cmdAudio:
		s.chunk = append(s.chunk, c.samples...)
		n := s.chunkSamples()
		for len(s.chunk) >= n {
			if err := s.sendAudio(conn, s.chunk[:n]); err != nil {
				return err
			}
			s.chunk = s.chunk[n:]
		}
		s.chunk = slices.Clip(s.chunk)
		return nil
	case cmdFlush:
		if err := s.sendRest(conn); err != nil {
			return err
		}
		if s.finalizeOnFlush() {
			return conn.writeJSON(typeOnlyMsg{Type: "session.finalize"})
		}
		return nil
	case cmdUpdate:
		if c.update.Language != "" {
			s.language = c.update.Language
		}
		for k, v := range c.update.Extra {
			if s.extra == nil {
				s.extra = map[string]any{}
			}
			s.extra[k] = v
		}
		return conn.writeJSON(sttUpdateMsg{Type: "session.update", Settings: c.update})
	default: // cmdEnd
		if err := s.sendRest(conn); err != nil {
			return err
		}
		s.inputEnded = true
		return conn.writeJSON(typeOnlyMsg{Type: "session.finalize"})
	}
}

func (s *STTStream) sendRest(conn *wsConn) error {
	if len(s.chunk) == 0 {
		return nil
	}
	err := s.sendAudio(conn, s.chunk)
	s.chunk = nil
	return err
}

func (s *STTStream) sendAudio(conn *wsConn, samples []int16) error {
	s.sentSamples += int64(len(samples))
	return conn.writeJSON(sttAudioMsg{Type: "input_audio", Audio: base64.StdEncoding.EncodeToString(pcmBytes(samples))})
}

// finalizeOnFlush: Speechmatics real-time models do not end turns
// themselves, so the client's end of speech finalizes.
func (s *STTStream) finalizeOnFlush() bool {
	return strings.HasPrefix(s.m.model, "speechmatics/") && s.m.model != "speechmatics/linden-1"
}

// handle acts on one message; done reports the clean end of the stream.
func (s *STTStream) handle(b []byte) (done bool, err error) {
	msg, err := decodeSTTMessage(b)
	if err != nil {
		return false, err
	}
	switch msg.Type {
	case "session.created":
		if msg.SessionID != "" {
			s.sessionID = msg.SessionID
		}
	case "session.finalized":
	case "session.closed":
		if s.inputEnded {
			return true, nil
		}
		return false, &APIError{InStream: true, Message: "gateway closed the session before the input ended"}
	case "start_of_speech":
		s.startSpeech()
	case "interim_transcript", "preflight_transcript":
		if msg.Transcript == "" {
			return false, nil
		}
		s.startSpeech()
		e := s.event(msg)
		e.Type = STTInterim
		if msg.Type == "preflight_transcript" {
			e.Type = STTPreflight
		}
		s.emit(e)
	case "final_transcript":
		if msg.Transcript != "" {
			s.startSpeech()
		}
		e := s.event(msg)
		e.Type = STTFinal
		e.AudioDuration = time.Duration(s.sentSamples) * time.Second / time.Duration(s.m.cfg.sampleRate)
		s.sentSamples = 0
		s.emit(e)
		s.gotFinal = true
		s.attempts = 1 // the connection works: retries count afresh
		if s.speaking {
			s.speaking = false
			s.emit(STTEvent{Type: STTSpeechEnded, RequestID: e.RequestID})
		}
	case "error":
		return false, gatewayError(b, msg.Message, msg.Code)
	default:
		if s.m.cfg.logger.Enabled(s.ctx, slog.LevelDebug) {
			s.m.cfg.logger.Debug("ignoring gateway message", "type", msg.Type)
		}
	}
	return false, nil
}

func (s *STTStream) startSpeech() {
	if !s.speaking {
		s.speaking = true
		s.emit(STTEvent{Type: STTSpeechStarted, RequestID: s.requestID("")})
	}
}

func (s *STTStream) requestID(fromMsg string) string {
	if fromMsg != "" {
		return fromMsg
	}
	if s.sessionID != "" {
		return s.sessionID
	}
	return s.clientID
}

// newClientID is a stream's own request id, used until the gateway names
// its session (the Node client's stt_request_<uuid>).
func newClientID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "stt_request_" + hex.EncodeToString(b[:])
}

func seconds(f float64) time.Duration {
	if f != f || f < 0 || f > 1e9 { // NaN, negative or absurd: unknown
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// event builds the event of a transcript message, its times moved to the
// stream's clock.
func (s *STTStream) event(m sttServerMsg) STTEvent {
	off := s.connStart
	e := STTEvent{
		Text:       m.Transcript,
		Language:   m.Language,
		Start:      off + seconds(m.Start),
		End:        off + seconds(m.Start) + seconds(m.Duration),
		Confidence: 1,
		RequestID:  s.requestID(firstNonEmpty(m.SessionID, m.RequestID)),
	}
	if m.Confidence != nil {
		e.Confidence = *m.Confidence
	}
	if m.SpeakerID != nil {
		e.SpeakerID = *m.SpeakerID
	}
	for _, w := range m.Words {
		sw := STTWord{Word: w.Word, Start: off + seconds(w.Start), End: off + seconds(w.End), Confidence: w.Confidence}
		if w.SpeakerID != nil {
			sw.SpeakerID = *w.SpeakerID
		}
		e.Words = append(e.Words, sw)
	}
	if len(m.Extra) > 0 {
		var x map[string]any
		if json.Unmarshal(m.Extra, &x) == nil && len(x) > 0 {
			e.Extra = x
		}
	}
	return e
}
