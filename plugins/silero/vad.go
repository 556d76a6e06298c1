package silero

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

// The model's fixed geometry at 16 kHz: each inference sees 512 new samples
// (32 ms) preceded by the last 64 samples of the previous window, and
// carries a 2x1x128 recurrent state to the next.
const (
	SampleRate  = 16000
	WindowSize  = 512
	ContextSize = 64
	stateSize   = 2 * 1 * 128
)

// filterAlpha smooths the raw probability: p = a*p_prev + (1-a)*p_raw,
// as LiveKit's plugin does, so one odd window does not flip the state.
const filterAlpha = 0.35

// ErrClosed is returned by calls on a closed [VAD] or [Detector].
var ErrClosed = errors.New("silero: closed")

// VAD is a loaded Silero VAD model. It is safe for concurrent use: each
// audio stream gets its own [Detector] (which holds the recurrent state),
// and all of them share the model. Close it when done to free the ONNX
// Runtime session.
type VAD struct {
	cfg     config
	model   string // the model's path, or EmbeddedModel
	runtime string // the ONNX Runtime library's path

	mu      sync.RWMutex // held for reading during inference, for writing by Close
	session *ort.DynamicAdvancedSession
	closed  bool
	live    int // open detectors: their tensors need the runtime loaded
}

// Load opens the model and ONNX Runtime. The model is the one embedded in
// this package unless [WithModelPath] or $SILERO_VAD_MODEL names another.
// The library is [WithRuntimeLibrary]'s path, else $ONNXRUNTIME_LIB, else
// silero/libonnxruntime.so.1 in scripts/setup.sh's cache directory
// ($LKGO_CACHE, then ~/.cache/livekit-go-agents). A missing file gives an
// error wrapping [ErrNotInstalled] that names the command installing it.
func Load(opts ...Option) (*VAD, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if d := cfg.deactivationThreshold(); d > cfg.activation {
		return nil, fmt.Errorf("silero: deactivation threshold: %v above activation threshold %v", d, cfg.activation)
	}
	model, err := resolve("model", cfg.modelPath, EnvModel)
	if err != nil {
		return nil, err
	}
	home, _ := os.UserHomeDir() // "" when unknown: only the variables are looked at
	lib, err := findRuntime(cfg.runtimePath, os.Getenv, home)
	if err != nil {
		return nil, err
	}
	if err := acquireRuntime(lib); err != nil {
		return nil, err
	}
	sess, err := newSession(model)
	if err != nil {
		_ = releaseRuntime()
		return nil, err
	}
	if model == "" {
		model = EmbeddedModel
	}
	return &VAD{cfg: cfg, model: model, runtime: lib, session: sess}, nil
}

// Model is the path of the model loaded, or [EmbeddedModel].
func (v *VAD) Model() string { return v.model }

// RuntimeLibrary is the path of the ONNX Runtime library Load asked for.
func (v *VAD) RuntimeLibrary() string { return v.runtime }

// newSession makes a single-threaded CPU session, as LiveKit does: one
// window is tiny, and threads would only add wake-up latency and contend
// with other streams. An empty model path loads the embedded model.
func newSession(model string) (*ort.DynamicAdvancedSession, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("silero: session options: %w", err)
	}
	defer so.Destroy()
	for _, set := range []func() error{
		func() error { return so.SetIntraOpNumThreads(1) },
		func() error { return so.SetInterOpNumThreads(1) },
		func() error { return so.SetExecutionMode(ort.ExecutionModeSequential) },
		func() error { return so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0") },
		func() error { return so.AddSessionConfigEntry("session.inter_op.allow_spinning", "0") },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("silero: session options: %w", err)
		}
	}
	in, out := []string{"input", "state", "sr"}, []string{"output", "stateN"}
	if model == "" {
		s, err := ort.NewDynamicAdvancedSessionWithONNXData(embeddedModel, in, out, so)
		if err != nil {
			return nil, fmt.Errorf("silero: loading the embedded model: %w", err)
		}
		return s, nil
	}
	s, err := ort.NewDynamicAdvancedSession(model, in, out, so)
	if err != nil {
		return nil, fmt.Errorf("silero: loading model %s: %w", model, err)
	}
	return s, nil
}

// Close frees the model. Detectors made from it fail with [ErrClosed]
// afterwards and must still be closed: the runtime stays loaded until the
// last one is. Close is idempotent.
func (v *VAD) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	v.closed = true
	err := v.session.Destroy()
	v.session = nil
	if v.live > 0 {
		return err // the last Detector.Close releases the runtime
	}
	return errors.Join(err, releaseRuntime())
}

// EventType is the kind of an [Event].
type EventType int

// The events a [Detector] emits.
const (
	// Inference: one window was scored; Probability is its smoothed score.
	Inference EventType = iota + 1
	// StartOfSpeech: enough speech was heard to say the user is talking.
	StartOfSpeech
	// EndOfSpeech: enough silence followed speech to say they stopped.
	EndOfSpeech
)

func (t EventType) String() string {
	switch t {
	case Inference:
		return "inference"
	case StartOfSpeech:
		return "start_of_speech"
	case EndOfSpeech:
		return "end_of_speech"
	}
	return "unknown"
}

// Event is what a [Detector] reports. Positions are sample indexes into the
// audio pushed since the detector was made or reset (divide by
// [SampleRate] for seconds; [Pos] does that).
type Event struct {
	Type EventType
	// At is the end of the window that produced the event: the moment the
	// detector could know it.
	At int64
	// Probability is the smoothed speech probability of that window.
	Probability float64
	// SpeechStart is where the current (or just ended) speech began: the
	// first sample of its first window above the activation threshold.
	// Set for StartOfSpeech and EndOfSpeech.
	SpeechStart int64
	// SpeechEnd, for EndOfSpeech, is where the silence that ended speech
	// began: where the smoothed probability fell below the deactivation
	// threshold, 60 to 200 ms after the voice's last sound. The minimum
	// silence is counted from it, as in LiveKit's plugin.
	SpeechEnd int64
	// VoiceEnd, for EndOfSpeech, is where the voice really stopped: the
	// end of the last block of the speech's last 320 ms loud enough to be
	// voice (RMS at -36 dBFS or above, or within 20 dB of the speech's
	// loudest block when that is quieter); SpeechEnd when none is. Never
	// after SpeechEnd. Blocks are 20 ms from the start of each Push (a
	// push's tail of 10 ms or more ends one), so a caller pushing a
	// sender's 20 ms frames measures the sender's frames. This is the
	// moment the user stopped speaking.
	VoiceEnd int64
	// Speaking reports whether the detector is in speech after this event.
	Speaking bool
	// Audio holds, for StartOfSpeech, the speech so far with up to the
	// prefix padding before it and, for EndOfSpeech, the whole segment
	// (capped at the max buffered speech) with that padding. AudioStart is
	// the sample index of Audio[0].
	Audio      []int16
	AudioStart int64
}

// Pos converts a sample index to a duration at [SampleRate].
func Pos(sample int64) time.Duration {
	return time.Duration(sample) * time.Second / SampleRate
}

// Detector runs the model over one audio stream and turns its scores into
// speech events. It carries the model's recurrent state, so it belongs to
// one stream and is not safe for concurrent use. Close it to free its
// tensors.
type Detector struct {
	vad *VAD
	seg segmenter

	input, state, stateN *ort.Tensor[float32]
	output               *ort.Tensor[float32]
	sr                   *ort.Scalar[int64]

	pending []int16 // samples waiting for a full window
	closed  bool
}

// NewDetector makes a detector for one 16 kHz mono stream.
func (v *VAD) NewDetector() (*Detector, error) {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil, ErrClosed
	}
	v.live++
	v.mu.Unlock()
	d := &Detector{vad: v, seg: newSegmenter(&v.cfg)}
	var err error
	if d.input, err = ort.NewEmptyTensor[float32](ort.NewShape(1, ContextSize+WindowSize)); err != nil {
		return nil, d.fail(err)
	}
	if d.state, err = ort.NewEmptyTensor[float32](ort.NewShape(2, 1, 128)); err != nil {
		return nil, d.fail(err)
	}
	if d.stateN, err = ort.NewEmptyTensor[float32](ort.NewShape(2, 1, 128)); err != nil {
		return nil, d.fail(err)
	}
	if d.output, err = ort.NewEmptyTensor[float32](ort.NewShape(1, 1)); err != nil {
		return nil, d.fail(err)
	}
	if d.sr, err = ort.NewScalar[int64](SampleRate); err != nil {
		return nil, d.fail(err)
	}
	d.pending = make([]int16, 0, WindowSize)
	return d, nil
}

func (d *Detector) fail(err error) error {
	_ = d.Close()
	return fmt.Errorf("silero: allocating tensors: %w", err)
}

// Close frees the detector's tensors; idempotent.
func (d *Detector) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for _, t := range []*ort.Tensor[float32]{d.input, d.state, d.stateN, d.output} {
		if t != nil {
			errs = append(errs, t.Destroy())
		}
	}
	if d.sr != nil {
		errs = append(errs, d.sr.Destroy())
	}
	v := d.vad
	v.mu.Lock()
	defer v.mu.Unlock()
	v.live--
	if v.closed && v.live == 0 {
		errs = append(errs, releaseRuntime())
	}
	return errors.Join(errs...)
}

// Reset forgets everything heard: recurrent state, context, pending samples
// and speech state. Positions restart at zero.
func (d *Detector) Reset() {
	if d.closed {
		return
	}
	d.input.ZeroContents()
	d.state.ZeroContents()
	d.pending = d.pending[:0]
	d.seg = newSegmenter(&d.vad.cfg)
}

// Push feeds 16 kHz mono samples of any length and returns the events of
// every window they completed, in order. Samples are kept until a window
// of 512 is full.
func (d *Detector) Push(pcm []int16) ([]Event, error) {
	if d.closed {
		return nil, ErrClosed
	}
	d.seg.measure(pcm)
	var events []Event
	for len(pcm) > 0 {
		n := min(WindowSize-len(d.pending), len(pcm))
		d.pending = append(d.pending, pcm[:n]...)
		pcm = pcm[n:]
		if len(d.pending) < WindowSize {
			break
		}
		p, err := d.infer(d.pending)
		if err != nil {
			return events, err
		}
		events = d.seg.window(d.pending, p, events)
		d.pending = d.pending[:0]
	}
	return events, nil
}

// Finish treats the end of input as silence: an open speech segment ends
// at the last sample pushed. Pending samples short of a window are dropped
// (scoring them would need padding the model never saw).
func (d *Detector) Finish() []Event {
	if d.closed {
		return nil
	}
	d.pending = d.pending[:0]
	return d.seg.finish(nil)
}

// infer scores one window and advances the recurrent state and context.
func (d *Detector) infer(win []int16) (float64, error) {
	in := d.input.GetData()
	// Keep the last ContextSize samples of the previous window in front.
	copy(in[:ContextSize], in[WindowSize:])
	for i, s := range win {
		in[ContextSize+i] = float32(s) / 32767
	}
	d.vad.mu.RLock()
	defer d.vad.mu.RUnlock()
	if d.vad.closed {
		return 0, ErrClosed
	}
	if err := d.vad.session.Run(
		[]ort.Value{d.input, d.state, d.sr},
		[]ort.Value{d.output, d.stateN},
	); err != nil {
		return 0, fmt.Errorf("silero: inference: %w", err)
	}
	d.state, d.stateN = d.stateN, d.state
	return float64(d.output.GetData()[0]), nil
}
