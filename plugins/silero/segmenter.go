package silero

import (
	"math"
	"time"

	"github.com/livekit-go/agents/internal/loudness"
)

// Where the voice ends. Silero's probability stays high for 60 to 200 ms
// after the voice stops (the model's context, then the smoothing and the
// deactivation threshold), so the silence that ends speech begins that
// much after the last sound the user made. The end of the voice is taken
// from the audio's level instead: the end of the last block, among those
// Silero called speech in the last voiceLookback before its end, whose
// RMS reaches voiceLevel, or, for a voice too quiet for that, comes within
// voiceRange of the speech's loudest block. When no block in that stretch
// does (quiet speech throughout it, or noise as loud as the voice), the
// end stays where Silero put it.
//
// Blocks are the audio as it was pushed, cut into 20 ms from the start of
// each push: a room's input pushes one decoded packet at a time, so a
// block is one 20 ms frame of the sender, the unit the user's own end of
// voice is measured in. A block ends at a push's end once it holds 10 ms.
const (
	voiceBlock    = SampleRate / 50  // samples: 20 ms
	minVoiceBlock = SampleRate / 100 // 10 ms
	// voiceLevel is internal/loudness's voice level (-36 dBFS), where the
	// rest of this repository counts a frame as voice (the user's end of
	// voice in the live tests and roombench).
	voiceLevel = loudness.VoiceRMS
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

	// The level of the audio, in blocks as far back as an end of voice
	// may lie; the block being filled holds the squares of its samples
	// from blockStart to pushed.
	levels     []level
	blockSum   float64
	blockStart int64
	pushed     int64
	peak       float64 // loudest block of the current speech
	lookback   int64   // samples
}

// level is the RMS of the audio from start to end (sample positions).
type level struct {
	start, end int64
	rms        float64
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
	s.pos += n
	s.keep(win, winStart)
	loudest := s.loudest(winStart, s.pos)

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

// measure takes the level of pcm, pushed after everything measured
// before, in blocks (see voiceBlock), before its windows are scored.
func (s *segmenter) measure(pcm []int16) {
	for _, v := range pcm {
		x := float64(v)
		s.blockSum += x * x
		s.pushed++
		if s.pushed-s.blockStart == voiceBlock {
			s.closeBlock()
		}
	}
	if s.pushed-s.blockStart >= minVoiceBlock {
		s.closeBlock()
	}
	// Keep what an end of voice may still look at.
	oldest := s.oldest()
	drop := 0
	for drop < len(s.levels) && s.levels[drop].end <= oldest {
		drop++
	}
	if drop > 0 {
		s.levels = append(s.levels[:0], s.levels[drop:]...)
	}
}

func (s *segmenter) closeBlock() {
	n := s.pushed - s.blockStart
	s.levels = append(s.levels, level{s.blockStart, s.pushed, math.Sqrt(s.blockSum / float64(n))})
	s.blockSum, s.blockStart = 0, s.pushed
}

// loudest returns the loudest block that ends in (from, to].
func (s *segmenter) loudest(from, to int64) float64 {
	var rms float64
	for i := len(s.levels) - 1; i >= 0 && s.levels[i].end > from; i-- {
		if s.levels[i].end <= to {
			rms = max(rms, s.levels[i].rms)
		}
	}
	return rms
}

// voiceEnd returns where the voice of the speech ending at end (the start
// of the silence that ended it) really stopped: see voiceLevel.
func (s *segmenter) voiceEnd(end int64) int64 {
	threshold := min(voiceLevel, s.peak/voiceRange)
	from := max(end-s.lookback, s.start)
	for i := len(s.levels) - 1; i >= 0 && s.levels[i].end > from; i-- {
		b := s.levels[i]
		if b.start < end && b.rms >= threshold && threshold > 0 {
			return min(b.end, end)
		}
	}
	return end
}

// oldest is the earliest position an end of voice may still lie at: in
// speech, the look-back from the silence that may end it (or the speech's
// start); out of it, the start of the speech that may begin.
func (s *segmenter) oldest() int64 {
	if s.speaking {
		return max(s.start, s.pos-s.silRun-s.lookback) - voiceBlock
	}
	return s.pos - s.speechRun - voiceBlock
}

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
