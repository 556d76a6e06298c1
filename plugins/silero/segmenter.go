package silero

import (
	"math"
	"time"
)

// Where the voice ends. Silero's probability stays high for 60 to 200 ms
// after the voice stops (the model's context, then the smoothing and the
// deactivation threshold), so the silence that ends speech begins that
// much after the last sound the user made. The end of the voice is taken
// from the audio's level instead: the end of the last 10 ms block, among
// those Silero called speech in the last voiceLookback before its end,
// whose RMS reaches voiceLevel, or, for a voice too quiet for that, comes
// within voiceRange of the speech's loudest block. When no block in that
// stretch does (quiet speech throughout it, or noise as loud as the
// voice), the end stays where Silero put it.
const (
	voiceBlock = SampleRate / 100 // samples: 10 ms
	// voiceLevel is -36 dBFS, the level above which the rest of this
	// repository counts a frame as voice (the user's end of voice in the
	// live tests and roombench). Speech from a browser microphone sits
	// near -20 to -30 dBFS; noise-suppressed room noise below -50.
	voiceLevel = 500.0
	// voiceRange is 20 dB, as an amplitude ratio.
	voiceRange    = 10.0
	voiceLookback = 320 * time.Millisecond
)

// segmenter turns per-window probabilities into start and end of speech,
// with the rules of LiveKit's Silero plugin: a window is speech when its
// smoothed probability reaches the activation threshold, or, while already
// speaking, stays above the deactivation threshold; speech starts after
// minSpeech of consecutive speech windows and ends after minSilence of
// consecutive silence windows. It holds no C state, so it is tested alone.
type segmenter struct {
	act, deact            float64
	minSpeech, minSilence int64 // samples
	pad, maxBuf           int64 // samples

	filtered  float64
	primed    bool
	pos       int64 // samples scored so far
	speaking  bool
	speechRun int64 // consecutive speech samples
	silRun    int64 // consecutive silence samples
	start     int64 // first sample of the current speech run

	buf      []int16 // padding + speech audio
	bufStart int64   // sample index of buf[0]

	// The level of the audio in 10 ms blocks from position 0 on: levels
	// holds the RMS of the complete blocks from levelsFrom (a block
	// index) on, as far back as an end of voice may lie.
	blockSum   float64 // squares of the block being filled
	levels     []float64
	levelsFrom int64
	keepBlocks int64
	peak       float64 // loudest block of the current speech
	lookback   int64   // samples
}

func toSamples(d time.Duration) int64 { return int64(d) * SampleRate / int64(time.Second) }

func newSegmenter(c *config) segmenter {
	return segmenter{
		act:        c.activation,
		deact:      c.deactivationThreshold(),
		minSpeech:  toSamples(c.minSpeech),
		minSilence: toSamples(c.minSilence),
		pad:        toSamples(c.prefixPad),
		maxBuf:     toSamples(c.maxBuffered),
		lookback:   toSamples(voiceLookback),
		// An end is found at most min silence (and a window) after the
		// silence began, and looks back from there.
		keepBlocks: (toSamples(c.minSilence)+toSamples(voiceLookback)+2*WindowSize)/voiceBlock + 2,
	}
}

// window takes one window's samples and raw probability and appends the
// resulting events to evs.
func (s *segmenter) window(win []int16, raw float64, evs []Event) (out []Event) {
	if !s.primed {
		s.filtered, s.primed = raw, true
	} else {
		s.filtered = filterAlpha*s.filtered + (1-filterAlpha)*raw
	}
	p := s.filtered
	n := int64(len(win))
	winStart := s.pos
	loudest := s.measure(win, winStart)
	s.pos += n
	s.keep(win, winStart)

	evs = append(evs, Event{Type: Inference, At: s.pos, Probability: p})
	inf := len(evs) - 1
	defer func() { out[inf].Speaking = s.speaking }() // the state this window leaves

	if p >= s.act || (s.speaking && p > s.deact) {
		if s.speechRun == 0 && !s.speaking { // a pause inside speech keeps its start
			s.start = winStart
			s.peak = 0
		}
		s.peak = max(s.peak, loudest)
		s.speechRun += n
		s.silRun = 0
		if !s.speaking && s.speechRun >= s.minSpeech {
			s.speaking = true
			evs = append(evs, Event{
				Type: StartOfSpeech, At: s.pos, Probability: p,
				SpeechStart: s.start, Speaking: true,
				Audio: clone(s.buf), AudioStart: s.bufStart,
			})
		}
		return evs
	}
	s.silRun += n
	s.speechRun = 0
	if s.speaking && s.silRun >= s.minSilence {
		evs = s.end(evs, p)
	}
	if !s.speaking {
		s.trimToPadding()
	}
	return evs
}

// finish ends an open speech segment at the end of input.
func (s *segmenter) finish(evs []Event) []Event {
	if s.speaking {
		evs = s.end(evs, s.filtered)
	}
	return evs
}

func (s *segmenter) end(evs []Event, p float64) []Event {
	s.speaking = false
	end := s.pos - s.silRun
	evs = append(evs, Event{
		Type: EndOfSpeech, At: s.pos, Probability: p,
		SpeechStart: s.start, SpeechEnd: end, VoiceEnd: s.voiceEnd(end), Speaking: false,
		Audio: clone(s.buf), AudioStart: s.bufStart,
	})
	s.trimToPadding()
	return evs
}

// measure adds the window win, which starts at sample at, to the block
// levels, and returns the loudest block it completed.
func (s *segmenter) measure(win []int16, at int64) float64 {
	var loudest float64
	for i, v := range win {
		x := float64(v)
		s.blockSum += x * x
		if (at+int64(i)+1)%voiceBlock != 0 {
			continue
		}
		rms := math.Sqrt(s.blockSum / voiceBlock)
		s.blockSum = 0
		s.levels = append(s.levels, rms)
		loudest = max(loudest, rms)
	}
	if drop := int64(len(s.levels)) - s.keepBlocks; drop > 0 {
		s.levels = append(s.levels[:0], s.levels[drop:]...)
		s.levelsFrom += drop
	}
	return loudest
}

// voiceEnd returns where the voice of the speech ending at end (the start
// of the silence that ended it) really stopped: see voiceLevel.
func (s *segmenter) voiceEnd(end int64) int64 {
	level := min(voiceLevel, s.peak/voiceRange)
	from := max(end-s.lookback, s.start)
	for b := (end-1)/voiceBlock - s.levelsFrom; b >= 0 && b < int64(len(s.levels)); b-- {
		blockEnd := (s.levelsFrom + b + 1) * voiceBlock
		if blockEnd <= from {
			break
		}
		if s.levels[b] >= level && level > 0 {
			return min(blockEnd, end)
		}
	}
	return end
}

// oldest is the earliest position an event may still point at.
func (s *segmenter) oldest() int64 { return s.pos - s.silRun - s.lookback - WindowSize }

// keep appends a window to the audio buffer, up to padding + max buffered.
func (s *segmenter) keep(win []int16, at int64) {
	if len(s.buf) == 0 {
		s.bufStart = at
	}
	room := s.pad + s.maxBuf - int64(len(s.buf))
	if room <= 0 {
		return
	}
	s.buf = append(s.buf, win[:min(int64(len(win)), room)]...)
}

// trimToPadding keeps only the last pad samples: the prefix of whatever
// speech comes next.
func (s *segmenter) trimToPadding() {
	end := s.bufStart + int64(len(s.buf))
	if end != s.pos { // the buffer was capped: its tail is not the latest audio
		s.buf, s.bufStart = s.buf[:0], s.pos
		return
	}
	if drop := int64(len(s.buf)) - s.pad; drop > 0 {
		s.buf = append(s.buf[:0], s.buf[drop:]...)
	}
	s.bufStart = end - int64(len(s.buf))
}

func clone(b []int16) []int16 { return append([]int16(nil), b...) }
