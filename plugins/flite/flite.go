package flite

/*
#cgo LDFLAGS: -lflite_cmu_us_slt -lflite_cmu_us_kal16 -lflite_usenglish -lflite_cmulex -lflite -lm
#include <stdlib.h>
#include <flite/flite.h>

// The voice registration functions live in the per-voice libraries and are
// not declared in any installed header.
cst_voice *register_cmu_us_slt(const char *voxdir);
cst_voice *register_cmu_us_kal16(const char *voxdir);

static cst_voice *lkgo_register(int which) {
	switch (which) {
	case 0: return register_cmu_us_slt(NULL);
	case 1: return register_cmu_us_kal16(NULL);
	}
	return NULL;
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// SampleRate is the rate of every buffer this package returns, in Hz. Both
// built-in voices synthesize at 16 kHz natively, so nothing is resampled.
const SampleRate = 16000

// Voice names a built-in flite voice.
type Voice string

const (
	// VoiceSLT is CMU's US English female clustergen voice, the default.
	VoiceSLT Voice = "slt"
	// VoiceKAL16 is CMU's US English male diphone voice: smaller and faster
	// than slt, more robotic.
	VoiceKAL16 Voice = "kal16"
)

var voiceIndex = map[Voice]C.int{VoiceSLT: 0, VoiceKAL16: 1}

// flite keeps global state (the voice list, lexicon caches, utterance
// feature defaults) and documents no thread-safety, so every call into it
// is serialized by engineMu. Synthesis of one sentence takes a few tens of
// milliseconds, which keeps the lock cheap next to real-time playback.
var (
	engineMu   sync.Mutex
	initOnce   sync.Once
	voices     = map[Voice]*C.cst_voice{}
	errNoVoice = errors.New("flite: voice registration failed")
)

// loadVoice registers v once for the life of the process (flite voices are
// process-global and small) and returns it. engineMu must be held.
func loadVoice(v Voice) (*C.cst_voice, error) {
	initOnce.Do(func() { C.flite_init() })
	if cv, ok := voices[v]; ok {
		return cv, nil
	}
	idx, ok := voiceIndex[v]
	if !ok {
		return nil, fmt.Errorf("flite: unknown voice %q (want %q or %q)", v, VoiceSLT, VoiceKAL16)
	}
	cv := C.lkgo_register(idx)
	if cv == nil {
		return nil, fmt.Errorf("%w: %s", errNoVoice, v)
	}
	voices[v] = cv
	return cv, nil
}

// TTS synthesizes English text to 16 kHz, 16-bit mono PCM. It is safe for
// concurrent use; calls into flite are serialized internally.
type TTS struct {
	voice   Voice
	stretch float64
}

// Option configures a [TTS].
type Option func(*TTS) error

// WithVoice selects the voice (default [VoiceSLT]).
func WithVoice(v Voice) Option {
	return func(t *TTS) error {
		if _, ok := voiceIndex[v]; !ok {
			return fmt.Errorf("flite: voice: unknown voice %q (want %q or %q)", v, VoiceSLT, VoiceKAL16)
		}
		t.voice = v
		return nil
	}
}

// WithSpeed sets the speaking rate relative to the voice's own (1 is normal,
// 1.25 is 25% faster). Valid range is 0.25 to 4.
func WithSpeed(speed float64) Option {
	return func(t *TTS) error {
		if !(speed >= 0.25 && speed <= 4) {
			return fmt.Errorf("flite: speed: %v outside [0.25, 4]", speed)
		}
		t.stretch = 1 / speed
		return nil
	}
}

// New returns a TTS with the given options. It registers the voice with
// flite on first use, so a bad installation fails here, not mid-reply.
func New(opts ...Option) (*TTS, error) {
	t := &TTS{voice: VoiceSLT, stretch: 1}
	for _, o := range opts {
		if err := o(t); err != nil {
			return nil, err
		}
	}
	engineMu.Lock()
	_, err := loadVoice(t.voice)
	engineMu.Unlock()
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Voice reports the voice in use.
func (t *TTS) Voice() Voice { return t.voice }

// Synthesize speaks text and returns its samples at [SampleRate]. Long text
// is synthesized a sentence at a time and ctx is checked between sentences;
// one sentence in flite cannot be interrupted.
func (t *TTS) Synthesize(ctx context.Context, text string) ([]int16, error) {
	var out []int16
	for c, err := range t.Sentences(ctx, text) {
		if err != nil {
			return out, err
		}
		out = append(out, c.PCM...)
	}
	return out, nil
}

// Chunk is the audio of one sentence and the text it speaks.
type Chunk struct {
	Text string
	PCM  []int16 // 16 kHz mono
}

// Sentences synthesizes text one sentence at a time, so a caller can start
// playing the first sentence while the rest is synthesized. It stops with
// ctx's error if ctx ends between sentences.
func (t *TTS) Sentences(ctx context.Context, text string) iter.Seq2[Chunk, error] {
	return func(yield func(Chunk, error) bool) {
		for _, s := range SplitSentences(text) {
			if err := ctx.Err(); err != nil {
				yield(Chunk{}, err)
				return
			}
			pcm, err := t.synthOne(s)
			if err != nil {
				yield(Chunk{Text: s}, err)
				return
			}
			if !yield(Chunk{Text: s, PCM: pcm}, nil) {
				return
			}
		}
	}
}

// synthOne runs flite on one cleaned sentence.
func (t *TTS) synthOne(s string) ([]int16, error) {
	s = Clean(s)
	if s == "" {
		return nil, nil
	}
	cs := C.CString(s)
	defer C.free(unsafe.Pointer(cs))

	engineMu.Lock()
	defer engineMu.Unlock()
	v, err := loadVoice(t.voice)
	if err != nil {
		return nil, err
	}
	key := C.CString("duration_stretch")
	defer C.free(unsafe.Pointer(key))
	C.feat_set_float(v.features, key, C.float(t.stretch))

	w := C.flite_text_to_wave(cs, v)
	if w == nil {
		return nil, fmt.Errorf("flite: synthesis failed for %q", s)
	}
	defer C.delete_wave(w)
	if int(w.sample_rate) != SampleRate {
		C.cst_wave_resample(w, SampleRate)
	}
	if w.num_channels != 1 {
		return nil, fmt.Errorf("flite: voice %s gave %d channels, want 1", t.voice, int(w.num_channels))
	}
	n := int(w.num_samples)
	if n <= 0 || w.samples == nil {
		return nil, nil
	}
	pcm := make([]int16, n)
	copy(pcm, unsafe.Slice((*int16)(unsafe.Pointer(w.samples)), n))
	return pcm, nil
}

// Clean makes text safe to hand to flite: it drops invalid UTF-8, NUL and
// other control characters (flite reads a C string and its tokenizer has no
// use for them) and collapses runs of white space.
func Clean(text string) string {
	var b strings.Builder
	space := false
	for len(text) > 0 {
		r, size := utf8.DecodeRuneInString(text)
		text = text[size:]
		switch {
		case r == utf8.RuneError && size <= 1:
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r) || r == 0:
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// SplitSentences splits text after '.', '!', '?' or ';' followed by white
// space, and at blank lines. Pieces with no letters or digits are merged
// into their neighbour so flite never gets a lone "...".
func SplitSentences(text string) []string {
	var out []string
	start := 0
	flush := func(end int) {
		s := strings.TrimSpace(text[start:end])
		start = end
		if s == "" {
			return
		}
		if !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
			if len(out) > 0 {
				out[len(out)-1] += " " + s
			}
			return
		}
		out = append(out, s)
	}
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '.', '!', '?', ';':
			if i+1 == len(text) || isSpace(text[i+1]) {
				flush(i + 1)
			}
		case '\n':
			if i+1 < len(text) && text[i+1] == '\n' {
				flush(i + 1)
			}
		}
	}
	flush(len(text))
	return out
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }
