package roomio

import (
	"testing"
	"time"
)

// BenchmarkTimeline plays 2 s of a DTX sender (1 s of voice, 1 s of
// silence: 61 packets) through the timeline, against decoding the same
// packets with libopus alone, and reports the timeline's cost as a ratio
// (b.N rounds of each in the same run).
func BenchmarkTimeline(b *testing.B) {
	pkts := opusPackets(b, time.Second)
	base := pkts[0].Timestamp
	pcm := make([]int16, testRate*120/1000)
	var bare, timed time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		dec, err := newOpusDecoder(testRate)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range pkts {
			if _, err := dec.decode(p.Payload, pcm); err != nil {
				b.Fatal(err)
			}
		}
		bare += time.Since(start)

		start = time.Now()
		tl := newTimeline(testRate, func() (packetDecoder, error) { return newOpusDecoder(testRate) }, func([]int16, time.Time) {})
		t0 := time.Unix(1000, 0)
		tl.start(t0)
		for _, p := range pkts {
			at := t0.Add(ticksDur(int64(p.Timestamp-base) + ms20))
			tl.fill(at)
			tl.packet(at, p)
		}
		tl.fill(t0.Add(2*time.Second + 20*time.Millisecond))
		timed += time.Since(start)
	}
	b.ReportMetric(float64(timed)/float64(bare), "timeline/decode")
	b.ReportMetric(float64(timed)/float64(b.N)/float64(2*time.Second)*100, "%cpu/stream")
}
