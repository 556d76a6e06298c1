package pocketsphinx

/*
#include <stdlib.h>
#include <pocketsphinx.h>
ps_decoder_t *lkgo_init(int argc, char **argv, char *err, size_t n);
int lkgo_set_jsgf(ps_decoder_t *ps, const char *name, const char *jsgf, char *err, size_t n);
int lkgo_set_kws(ps_decoder_t *ps, const char *name, const char *file, char *err, size_t n);
int lkgo_set_lm(ps_decoder_t *ps, const char *name, const char *file, char *err, size_t n);
int lkgo_has_word(ps_decoder_t *ps, const char *word);
const char *lkgo_hyp(ps_decoder_t *ps);
void lkgo_quiet(void);
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// SampleRate is the only input rate the en-us acoustic model accepts.
const SampleRate = 16000

// DefaultModelDir is where Debian's pocketsphinx-en-us puts the US English
// model: the acoustic model in en-us/, cmudict-en-us.dict and en-us.lm.bin.
const DefaultModelDir = "/usr/share/pocketsphinx/model/en-us"

// EnvModelDir overrides [DefaultModelDir] when set.
const EnvModelDir = "POCKETSPHINX_MODEL_DIR"

var (
	// ErrNotInstalled is wrapped when the model files are missing.
	ErrNotInstalled = errors.New("pocketsphinx: not installed")
	// ErrClosed is returned by calls on a closed [Decoder].
	ErrClosed = errors.New("pocketsphinx: decoder closed")
)

// initMu serializes decoder creation and release: sphinxbase keeps global
// state (logging, feature tables) that is set up from there. Decoding itself
// touches only the decoder and runs unlocked.
var (
	initMu    sync.Mutex
	quietOnce sync.Once
)

// EventType is the kind of an [Event].
type EventType int

// The events a [Decoder] emits.
const (
	// SpeechStarted: pocketsphinx's own voice detector heard speech.
	SpeechStarted EventType = iota + 1
	// Interim: the best hypothesis so far; it may still change.
	Interim
	// Final: the utterance ended (silence, or Flush); Text will not change.
	Final
)

func (t EventType) String() string {
	switch t {
	case SpeechStarted:
		return "speech_started"
	case Interim:
		return "interim"
	case Final:
		return "final"
	}
	return "unknown"
}

// Event is one recognition result.
type Event struct {
	Type EventType
	// Text is the hypothesis (Interim, Final): words separated by single
	// spaces; with a keyword list, the keyphrases spotted, in order.
	Text string
}

// Decoder recognizes one stream of 16 kHz mono speech. It owns a C decoder
// (tens of MB with the full dictionary) and is not safe for concurrent
// use: give each stream its own and Close it.
type Decoder struct {
	ps       *C.ps_decoder_t
	spotting bool // keyword search: order the hypothesis by time
	inUtt    bool
	speaking bool
	lastHyp  string
	closed   bool
}

// New loads a decoder. Without [WithGrammar] or [WithKeywords] it uses the
// model's general English language model (large vocabulary, least
// accurate); a grammar or keyword list is far more reliable for a narrow
// domain.
func New(opts ...Option) (*Decoder, error) {
	cfg := config{modelDir: os.Getenv(EnvModelDir)}
	if cfg.modelDir == "" {
		cfg.modelDir = DefaultModelDir
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.grammar != "" && len(cfg.keywords) > 0 {
		return nil, errors.New("pocketsphinx: grammar and keywords: pick one search")
	}
	hmm := filepath.Join(cfg.modelDir, "en-us")
	dict := cfg.dict
	if dict == "" {
		dict = filepath.Join(cfg.modelDir, "cmudict-en-us.dict")
	}
	lm := filepath.Join(cfg.modelDir, "en-us.lm.bin")
	for _, p := range []string{filepath.Join(hmm, "mdef"), dict} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%w: %v (install pocketsphinx-en-us, or see %s)", ErrNotInstalled, err, EnvModelDir)
		}
	}

	args := []string{"pocketsphinx", "-hmm", hmm, "-dict", dict, "-samprate", "16000"}
	args = append(args, cfg.extra...)
	ps, err := newPS(args)
	if err != nil {
		return nil, err
	}
	d := &Decoder{ps: ps}
	switch {
	case cfg.grammar != "":
		err = d.setGrammar(cfg.grammar)
	case len(cfg.keywords) > 0:
		d.spotting = true
		err = d.setKeywords(cfg.keywords)
	default:
		err = d.setLM(lm)
	}
	if err != nil {
		return nil, errors.Join(err, d.Close())
	}
	return d, nil
}

func newPS(args []string) (*C.ps_decoder_t, error) {
	quietOnce.Do(func() { C.lkgo_quiet() })
	argv := make([]*C.char, len(args))
	for i, a := range args {
		argv[i] = C.CString(a)
	}
	defer func() {
		for _, p := range argv {
			C.free(unsafe.Pointer(p))
		}
	}()
	// The argv array itself goes in C memory: cmd_ln keeps no pointer to it,
	// but C code must never hold Go memory past a call.
	cargv := (**C.char)(C.malloc(C.size_t(len(argv)) * C.size_t(unsafe.Sizeof(argv[0]))))
	defer C.free(unsafe.Pointer(cargv))
	copy(unsafe.Slice(cargv, len(argv)), argv)

	var ebuf [512]C.char
	initMu.Lock()
	ps := C.lkgo_init(C.int(len(argv)), cargv, &ebuf[0], C.size_t(len(ebuf)))
	initMu.Unlock()
	if ps == nil {
		return nil, fmt.Errorf("pocketsphinx: init: %s", cerr(&ebuf[0], "bad configuration or model files"))
	}
	return ps, nil
}

// logPrefix is what sphinxbase puts before each message.
var logPrefix = regexp.MustCompile(`(?:ERROR|FATAL_ERROR): "[^"]*", line \d+: `)

func cerr(p *C.char, fallback string) string {
	if s := strings.TrimSpace(logPrefix.ReplaceAllString(C.GoString(p), "")); s != "" {
		return s
	}
	return fallback
}

const searchName = "lkgo"

func (d *Decoder) setGrammar(jsgf string) error {
	if strings.IndexByte(jsgf, 0) >= 0 {
		return errors.New("pocketsphinx: grammar: contains a NUL byte")
	}
	cn, cg := C.CString(searchName), C.CString(jsgf)
	defer C.free(unsafe.Pointer(cn))
	defer C.free(unsafe.Pointer(cg))
	var ebuf [512]C.char
	if C.lkgo_set_jsgf(d.ps, cn, cg, &ebuf[0], C.size_t(len(ebuf))) != 0 {
		return fmt.Errorf("pocketsphinx: grammar: %s", cerr(&ebuf[0], "rejected (syntax, or a word not in the dictionary)"))
	}
	return nil
}

func (d *Decoder) setKeywords(kws []Keyword) error {
	for _, k := range kws {
		for _, w := range strings.Fields(k.Phrase) {
			if !d.HasWord(w) {
				return fmt.Errorf("pocketsphinx: keywords: %q: word %q is not in the dictionary", k.Phrase, w)
			}
		}
	}
	// 0.8 reads a keyword list only from a file.
	f, err := os.CreateTemp("", "pocketsphinx-kws-*.txt")
	if err != nil {
		return fmt.Errorf("pocketsphinx: keywords: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(FormatKeywords(kws))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pocketsphinx: keywords: %w", err)
	}
	cn, cf := C.CString(searchName), C.CString(f.Name())
	defer C.free(unsafe.Pointer(cn))
	defer C.free(unsafe.Pointer(cf))
	var ebuf [512]C.char
	if C.lkgo_set_kws(d.ps, cn, cf, &ebuf[0], C.size_t(len(ebuf))) != 0 {
		return fmt.Errorf("pocketsphinx: keywords: %s", cerr(&ebuf[0], "rejected"))
	}
	return nil
}

func (d *Decoder) setLM(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%w: language model: %v", ErrNotInstalled, err)
	}
	cn, cf := C.CString(searchName), C.CString(path)
	defer C.free(unsafe.Pointer(cn))
	defer C.free(unsafe.Pointer(cf))
	var ebuf [512]C.char
	if C.lkgo_set_lm(d.ps, cn, cf, &ebuf[0], C.size_t(len(ebuf))) != 0 {
		return fmt.Errorf("pocketsphinx: language model: %s", cerr(&ebuf[0], "rejected"))
	}
	return nil
}

// HasWord reports whether the dictionary knows word (lower case).
func (d *Decoder) HasWord(word string) bool {
	if d.closed || word == "" || strings.IndexByte(word, 0) >= 0 {
		return false
	}
	cw := C.CString(word)
	defer C.free(unsafe.Pointer(cw))
	return C.lkgo_has_word(d.ps, cw) != 0
}

// Process decodes samples (16 kHz mono, any length) and returns what
// changed: speech starting, a new interim hypothesis, and a final result
// each time pocketsphinx's voice detector hears an utterance end.
func (d *Decoder) Process(pcm []int16) ([]Event, error) {
	if d.closed {
		return nil, ErrClosed
	}
	var evs []Event
	if !d.inUtt {
		if C.ps_start_utt(d.ps) < 0 {
			return nil, errors.New("pocketsphinx: start utterance failed")
		}
		d.inUtt = true
	}
	if len(pcm) > 0 {
		if C.ps_process_raw(d.ps, (*C.int16)(unsafe.Pointer(&pcm[0])), C.size_t(len(pcm)), 0, 0) < 0 {
			return nil, errors.New("pocketsphinx: processing audio failed")
		}
	}
	in := C.ps_get_in_speech(d.ps) != 0
	switch {
	case in && !d.speaking:
		d.speaking = true
		evs = append(evs, Event{Type: SpeechStarted})
		evs = d.interim(evs)
	case in:
		evs = d.interim(evs)
	case d.speaking: // speech just ended: close the utterance
		ev, err := d.endUtt()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

func (d *Decoder) interim(evs []Event) []Event {
	h := d.hyp()
	if h != "" && h != d.lastHyp {
		d.lastHyp = h
		evs = append(evs, Event{Type: Interim, Text: h})
	}
	return evs
}

func (d *Decoder) hyp() string {
	if d.spotting {
		return d.spotted()
	}
	return strings.Join(strings.Fields(C.GoString(C.lkgo_hyp(d.ps))), " ")
}

// spotted lists the keyphrases found so far in the utterance in the order
// they were said (0.8's keyword hypothesis lists the latest first).
func (d *Decoder) spotted() string {
	type hit struct {
		at     int
		phrase string
	}
	var hits []hit
	for seg := C.ps_seg_iter(d.ps); seg != nil; seg = C.ps_seg_next(seg) {
		var sf, ef C.int
		C.ps_seg_frames(seg, &sf, &ef)
		hits = append(hits, hit{int(sf), strings.TrimSpace(C.GoString(C.ps_seg_word(seg)))})
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return a.at - b.at })
	phrases := make([]string, len(hits))
	for i, h := range hits {
		phrases[i] = h.phrase
	}
	return strings.Join(phrases, " ")
}

func (d *Decoder) endUtt() (Event, error) {
	d.inUtt, d.speaking, d.lastHyp = false, false, ""
	if C.ps_end_utt(d.ps) < 0 {
		return Event{}, errors.New("pocketsphinx: end utterance failed")
	}
	return Event{Type: Final, Text: d.hyp()}, nil
}

// Flush ends the current utterance now, as if silence had followed, and
// returns its final result (Text may be empty). The next Process starts a
// new utterance.
func (d *Decoder) Flush() (Event, error) {
	if d.closed {
		return Event{}, ErrClosed
	}
	if !d.inUtt {
		return Event{Type: Final}, nil
	}
	return d.endUtt()
}

// Close frees the decoder; idempotent.
func (d *Decoder) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	initMu.Lock()
	C.ps_free(d.ps)
	initMu.Unlock()
	d.ps = nil
	return nil
}
