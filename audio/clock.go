package audio

import "time"

// SampleClock maps the sample positions of one stream (0 is its first
// sample) to the times they were captured at, from the CapturedAt of the
// frames that brought them (session.AudioFrame). A detector that counts
// samples uses it to say when the sample it points at was spoken: the
// frames of a room's input do not follow each other evenly in capture time
// (a late packet plays after the silence that stood in for it), so one
// start time and a sample count would drift. It is not safe for concurrent
// use.
type SampleClock struct {
	rate  int
	marks []clockMark // by position; the last one covers every position after it
}

type clockMark struct {
	pos int64
	at  time.Time // zero: unknown
}

// markSlack is how far a frame's time may be from where the last mark
// puts it and still follow on without a new mark: resampling rounds
// capture times to an input sample.
const markSlack = time.Millisecond

// NewSampleClock returns a clock for a stream at rate samples per second.
func NewSampleClock(rate int) *SampleClock { return &SampleClock{rate: max(rate, 1)} }

func (c *SampleClock) dur(samples int64) time.Duration {
	return time.Duration(samples) * time.Second / time.Duration(c.rate)
}

// Mark records that the samples from pos on were captured from at on
// (zero: at an unknown time), until the next mark. Marks come in the
// order of their positions.
func (c *SampleClock) Mark(pos int64, at time.Time) {
	if n := len(c.marks); n > 0 {
		last := c.marks[n-1]
		if pos < last.pos {
			return
		}
		if at.IsZero() && last.at.IsZero() {
			return
		}
		if !at.IsZero() && !last.at.IsZero() && at.Sub(last.at.Add(c.dur(pos-last.pos))).Abs() <= markSlack {
			return
		}
		if pos == last.pos {
			c.marks[n-1].at = at
			return
		}
	}
	c.marks = append(c.marks, clockMark{pos, at})
}

// At returns when sample pos was captured; false when that is unknown
// (before the first mark, forgotten, or marked with no time).
func (c *SampleClock) At(pos int64) (time.Time, bool) {
	for i := len(c.marks) - 1; i >= 0; i-- {
		m := c.marks[i]
		if m.pos > pos {
			continue
		}
		if m.at.IsZero() {
			return time.Time{}, false
		}
		return m.at.Add(c.dur(pos - m.pos)), true
	}
	return time.Time{}, false
}

// Forget drops what the clock knows of the positions before pos.
func (c *SampleClock) Forget(pos int64) {
	drop := 0
	for drop+1 < len(c.marks) && c.marks[drop+1].pos <= pos {
		drop++
	}
	if drop > 0 {
		c.marks = append(c.marks[:0], c.marks[drop:]...)
	}
}
