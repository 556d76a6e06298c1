package silero

import "time"

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

	evs = append(evs, Event{Type: Inference, At: s.pos, Probability: p})
	inf := len(evs) - 1
	defer func() { out[inf].Speaking = s.speaking }() // the state this window leaves

	if p >= s.act || (s.speaking && p > s.deact) {
		if s.speechRun == 0 && !s.speaking { // a pause inside speech keeps its start
			s.start = winStart
		}
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
	evs = append(evs, Event{
		Type: EndOfSpeech, At: s.pos, Probability: p,
		SpeechStart: s.start, SpeechEnd: s.pos - s.silRun, Speaking: false,
		Audio: clone(s.buf), AudioStart: s.bufStart,
	})
	s.trimToPadding()
	return evs
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
