package promtext

import (
	"strings"
	"testing"
)

const scrape = `# TYPE jobs_total counter
jobs_total{outcome="success"} 3
jobs_total{outcome="failed"} 1
# TYPE load gauge
load 0.25
# TYPE latency_seconds histogram
latency_seconds_bucket{le="1"} 2
latency_seconds_bucket{le="+Inf"} 2
latency_seconds_sum 1.5
latency_seconds_count 2
`

func TestValue(t *testing.T) {
	fams, err := Parse(strings.NewReader(scrape))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
		ok     bool
	}{
		{"jobs_total", []string{"outcome", "failed"}, 1, true},
		{"jobs_total", nil, 3, true},
		{"load", nil, 0.25, true},
		{"latency_seconds", nil, 2, true},
		{"jobs_total", []string{"outcome", "panicked"}, 0, false},
		{"missing", nil, 0, false},
	} {
		got, ok := Value(fams, c.name, c.labels...)
		if got != c.want || ok != c.ok {
			t.Errorf("Value(%s, %v) = %v, %v; want %v, %v", c.name, c.labels, got, ok, c.want, c.ok)
		}
	}
}

func TestParseNamesABadLine(t *testing.T) {
	_, err := Parse(strings.NewReader("load{ 1\n"))
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("Parse of a bad line: %v, want an error naming line 1", err)
	}
}
