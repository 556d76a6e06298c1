package session

import (
	"errors"
	"io"
	"testing"
)

func TestRecvSeq(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		results []error // nil: a value
		stopAt  int     // the consumer stops after this many values; -1 never
		want    int     // values seen
		wantErr error
	}{
		{"clean end", []error{nil, nil, io.EOF}, -1, 2, nil},
		{"error ends it", []error{nil, errBoom, nil}, -1, 1, errBoom},
		{"consumer stops", []error{nil, nil, nil, io.EOF}, 1, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, calls := 0, 0
			recv := func() (int, error) {
				calls++
				if i >= len(tt.results) {
					t.Fatal("Recv called after the end")
				}
				err := tt.results[i]
				i++
				return i, err
			}
			seen := 0
			var gotErr error
			for _, err := range recvSeq(recv) {
				if err != nil {
					gotErr = err
					continue
				}
				seen++
				if seen == tt.stopAt {
					break
				}
			}
			if seen != tt.want || !errors.Is(gotErr, tt.wantErr) {
				t.Errorf("saw %d values and error %v, want %d and %v", seen, gotErr, tt.want, tt.wantErr)
			}
			if tt.stopAt > 0 && calls != tt.stopAt {
				t.Errorf("Recv called %d times after the consumer stopped at %d", calls, tt.stopAt)
			}
		})
	}
}
