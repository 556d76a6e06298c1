package flite

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/livekit-go/agents/session"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStream(t *testing.T) {
	tts, err := New()
	if err != nil {
		t.Fatal(err)
	}
	st, err := tts.Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	type seg struct {
		Text    string
		Samples int
	}
	got := make(chan []seg, 1)
	go func() { // exits at io.EOF, after EndInput below
		var segs []seg
		cur := seg{}
		for {
			a, err := st.Recv()
			if err != nil {
				if err != io.EOF {
					t.Errorf("Recv: %v", err)
				}
				got <- segs
				return
			}
			if a.Frame.SampleRate != SampleRate || a.Frame.NumChannels != 1 || a.Frame.SamplesPerChannel > FrameSamples || len(a.Frame.Data) != a.Frame.SamplesPerChannel {
				t.Errorf("bad frame %+v", a.Frame)
			}
			cur.Text = a.Text
			cur.Samples += a.Frame.SamplesPerChannel
			if a.SegmentEnd {
				segs = append(segs, cur)
				cur = seg{}
			}
		}
	}()
	for _, p := range []string{"Hello ", "there."} {
		if err := st.PushText(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(); err != nil { // nothing buffered: no segment
		t.Fatal(err)
	}
	if err := st.PushText("How can I help?"); err != nil {
		t.Fatal(err)
	}
	if err := st.EndInput(); err != nil { // flushes the rest
		t.Fatal(err)
	}
	segs := <-got
	var texts []string
	for _, s := range segs {
		texts = append(texts, s.Text)
		if s.Samples < SampleRate/4 {
			t.Errorf("%q: only %d samples", s.Text, s.Samples)
		}
	}
	if diff := cmp.Diff(texts, []string{"Hello there.", "How can I help?"}); diff != "" {
		t.Errorf("segments (-got +want):\n%s", diff)
	}
	if err := st.PushText("more"); err == nil {
		t.Error("PushText after EndInput succeeded")
	}
}

func TestStreamCancel(t *testing.T) {
	tts, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	st, err := tts.Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { // exits when Recv returns, at cancel
		_, err := st.Recv()
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Recv after cancel: %v, want context.Canceled", err)
	}
	if err := st.PushText("x"); err != nil {
		t.Errorf("PushText after cancel, before Close: %v", err)
	}
	if err := st.Flush(); err != nil {
		t.Errorf("Flush after cancel: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := st.PushText("x"); err == nil {
		t.Error("PushText after Close succeeded")
	}
	var _ session.TTSStream = st
}
