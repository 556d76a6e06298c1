package silero

import (
	"fmt"
	"math"
	"time"
)

// Defaults, the same as LiveKit Agents' Silero plugin.
const (
	DefaultActivationThreshold = 0.5
	DefaultMinSpeechDuration   = 50 * time.Millisecond
	DefaultMinSilenceDuration  = 550 * time.Millisecond
	DefaultPrefixPadding       = 500 * time.Millisecond
	DefaultMaxBufferedSpeech   = 60 * time.Second
)

// config is what the options set; fixed once the VAD is loaded.
type config struct {
	modelPath   string
	runtimePath string

	activation   float64
	deactivation *float64 // nil: max(activation-0.15, 0.01)
	minSpeech    time.Duration
	minSilence   time.Duration
	prefixPad    time.Duration
	maxBuffered  time.Duration
}

func defaultConfig() config {
	return config{
		activation:  DefaultActivationThreshold,
		minSpeech:   DefaultMinSpeechDuration,
		minSilence:  DefaultMinSilenceDuration,
		prefixPad:   DefaultPrefixPadding,
		maxBuffered: DefaultMaxBufferedSpeech,
	}
}

func (c *config) deactivationThreshold() float64 {
	if c.deactivation != nil {
		return *c.deactivation
	}
	return math.Max(c.activation-0.15, 0.01)
}

// Option configures [Load].
type Option func(*config) error

// WithModelPath loads a Silero VAD v5 ONNX model from path instead of the
// embedded one (and of $SILERO_VAD_MODEL).
func WithModelPath(path string) Option {
	return func(c *config) error { c.modelPath = path; return nil }
}

// WithRuntimeLibrary loads ONNX Runtime from path instead of
// $ONNXRUNTIME_LIB or the cache directory of scripts/setup.sh.
func WithRuntimeLibrary(path string) Option {
	return func(c *config) error { c.runtimePath = path; return nil }
}

// WithActivationThreshold sets the probability at or above which a window
// counts as speech (default 0.5).
func WithActivationThreshold(p float64) Option {
	return func(c *config) error {
		if !(p > 0 && p < 1) {
			return fmt.Errorf("silero: activation threshold: %v outside (0, 1)", p)
		}
		c.activation = p
		return nil
	}
}

// WithDeactivationThreshold sets the probability below which a window
// counts as silence once speech started (default: activation - 0.15, at
// least 0.01). The gap between the two keeps speech from flickering.
func WithDeactivationThreshold(p float64) Option {
	return func(c *config) error {
		if !(p > 0 && p < 1) {
			return fmt.Errorf("silero: deactivation threshold: %v outside (0, 1)", p)
		}
		c.deactivation = &p
		return nil
	}
}

// WithMinSpeechDuration sets how much speech it takes to report a start of
// speech (default 50 ms).
func WithMinSpeechDuration(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("silero: min speech duration: %v is negative", d)
		}
		c.minSpeech = d
		return nil
	}
}

// WithMinSilenceDuration sets how much silence it takes to report an end of
// speech (default 550 ms).
func WithMinSilenceDuration(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("silero: min silence duration: %v is negative", d)
		}
		c.minSilence = d
		return nil
	}
}

// WithPrefixPadding sets how much audio before the detected start is kept
// with the speech (default 500 ms), so a recognizer hears the onset.
func WithPrefixPadding(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("silero: prefix padding: %v is negative", d)
		}
		c.prefixPad = d
		return nil
	}
}

// WithMaxBufferedSpeech caps the speech audio kept for one segment (default
// 60 s); longer speech is still detected, its audio is cut.
func WithMaxBufferedSpeech(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("silero: max buffered speech: %v must be positive", d)
		}
		c.maxBuffered = d
		return nil
	}
}
