package session

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// The agent's transcript in voice mode follows playout word by word: a word
// goes to the text output once the audio has played up to its end, as
// placed in its segment (the sentence TTS spoke) in proportion to its
// characters. The same placement decides which words an interrupted answer
// keeps in history, so the transcript and history end at the same word.

// charDuration estimates how long a character takes to say, for a segment
// whose audio has not all arrived.
const charDuration = 60 * time.Millisecond

// segment is one flushed sentence as TTS speaks it.
type segment struct {
	text   string
	ends   []int // byte offset in text of the end of each word
	runeAt []int // runes in text up to the end of each word
	runes  int
	dur    time.Duration // audio received so far
	ended  bool          // all its audio arrived
}

func newSegment(text string) segment {
	sg := segment{text: text, runes: utf8.RuneCountInString(text)}
	inWord, n := false, 0
	for i, r := range text {
		space := unicode.IsSpace(r)
		if inWord && space {
			sg.ends = append(sg.ends, i)
			sg.runeAt = append(sg.runeAt, n)
		}
		inWord = !space
		n++
	}
	if inWord {
		sg.ends = append(sg.ends, len(text))
		sg.runeAt = append(sg.runeAt, n)
	}
	return sg
}

// total is how long the segment plays: its audio once all arrived, else at
// least an estimate from its length.
func (sg *segment) total() time.Duration {
	if sg.ended {
		return sg.dur
	}
	return max(sg.dur, time.Duration(sg.runes)*charDuration)
}

// wordEnd is when, from the segment's start, word k has been said.
func (sg *segment) wordEnd(k int) time.Duration {
	if sg.runes == 0 {
		return 0
	}
	return time.Duration(int64(sg.total()) * int64(sg.runeAt[k]) / int64(sg.runes))
}

// word is word k as a transcript delta: the word and the space before it
// (a single space before the first word of a segment after the first).
func (sg *segment) word(seg, k int) string {
	from := 0
	if k > 0 {
		from = sg.ends[k-1]
	}
	w := sg.text[from:sg.ends[k]]
	if k == 0 && seg > 0 {
		return " " + strings.TrimLeftFunc(w, unicode.IsSpace)
	}
	return w
}

// cursor counts words: all of the segments before seg and the first word
// words of seg.
type cursor struct{ seg, word int }

func (c cursor) before(d cursor) bool {
	return c.seg < d.seg || (c.seg == d.seg && c.word < d.word)
}

// heardBy returns the words played by pos.
func heardBy(segs []segment, pos time.Duration) cursor {
	var start time.Duration
	for i := range segs {
		sg := &segs[i]
		total := sg.total()
		if start+total <= pos {
			start += total
			continue
		}
		k := 0
		for k < len(sg.ends) && start+sg.wordEnd(k) <= pos {
			k++
		}
		return cursor{i, k}
	}
	return cursor{len(segs), 0}
}

// textUpTo is the transcript of the words before c: the deltas joined,
// which is what history keeps of an interrupted answer.
func textUpTo(segs []segment, c cursor) string {
	var b strings.Builder
	for i := range segs {
		if i > c.seg || (i == c.seg && c.word == 0) {
			break
		}
		n := len(segs[i].ends)
		if i == c.seg {
			n = c.word
		}
		for k := range n {
			b.WriteString(segs[i].word(i, k))
		}
	}
	return strings.TrimSpace(b.String())
}

// forEachWord calls fn with the deltas of the words from c up to end.
func forEachWord(segs []segment, from, end cursor, fn func(string)) {
	for c := from; c.before(end); {
		if c.seg >= len(segs) {
			return
		}
		if c.word >= len(segs[c.seg].ends) {
			c = cursor{c.seg + 1, 0}
			continue
		}
		fn(segs[c.seg].word(c.seg, c.word))
		c.word++
	}
}

// playout is what the capture loop knows of the step's audio, shared with
// the transcript pacer.
type playout struct {
	mu      sync.Mutex
	segs    []segment
	changed chan struct{} // one pending wake-up at most
}

func (p *playout) poke() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// snapshot copies the segments (their word tables are never changed).
func (p *playout) snapshot() []segment {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]segment(nil), p.segs...)
}

// pace sends the transcript's words to emit as playout reaches them, until
// stop or ctx ends it, or, once played is closed, with everything at once.
// It returns how far it got.
func (p *playout) pace(ctx context.Context, position func() time.Duration, emit func(string), played, stop <-chan struct{}) cursor {
	var c cursor
	var segStart time.Duration // where segment c.seg starts in the playout
	all := false
	lastPos := time.Duration(-1)
	for {
		p.mu.Lock()
		var due time.Duration
		var word string
		have, advanced := false, false
		if c.seg < len(p.segs) {
			sg := &p.segs[c.seg]
			switch {
			case c.word < len(sg.ends):
				due, word, have = segStart+sg.wordEnd(c.word), sg.word(c.seg, c.word), true
			case sg.ended || c.seg < len(p.segs)-1:
				segStart += sg.total()
				c = cursor{c.seg + 1, 0}
				advanced = true
			}
		}
		p.mu.Unlock()
		if advanced {
			continue
		}
		if have {
			pos := position()
			if all || due <= pos {
				emit(word)
				c.word++
				continue
			}
			wait := due - pos
			if pos == lastPos {
				wait = max(wait, 20*time.Millisecond) // paused: look again later
			}
			lastPos = pos
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-p.changed:
			case <-played:
				all = true
			case <-stop:
				timer.Stop()
				return c
			case <-ctx.Done():
				timer.Stop()
				return c
			}
			timer.Stop()
			continue
		}
		if all {
			return c // everything played and shown
		}
		select {
		case <-p.changed:
		case <-played:
			all = true
		case <-stop:
			return c
		case <-ctx.Done():
			return c
		}
	}
}
