package session

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// A Say, GenerateReply or Run that races with Close either is refused or
// gets a speech that ends: the session never takes a speech it will not
// run. The race is made certain here by a speech option that closes the
// session while the speech is being made, as a preempted caller would let
// Close run to its end at that point.
func TestSpeechAskedForWhileClosingAlwaysEnds(t *testing.T) {
	closingOption := func(s *Session) SpeechOption {
		return func(*speechConfig) { _ = s.Close() }
	}
	for _, call := range []string{"Say", "GenerateReply", "Run"} {
		t.Run(call, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, err := New()
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Start(t.Context(), &Agent{}, IO{}); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				defer cancel()
				var h *SpeechHandle
				switch call {
				case "Say":
					h, err = s.Say("hi", closingOption(s))
				case "GenerateReply":
					h, err = s.GenerateReply(closingOption(s))
				case "Run":
					_, err = s.Run(ctx, "hi", closingOption(s))
					if errors.Is(err, context.DeadlineExceeded) {
						t.Fatal("Run still waiting a minute after the session closed")
					}
				}
				if err != nil {
					if !errors.Is(err, ErrSessionClosed) {
						t.Errorf("%s = %v, want ErrSessionClosed", call, err)
					}
					return
				}
				if h != nil {
					if err := h.Wait(ctx); err != nil {
						t.Errorf("speech from %s never ended: %v", call, err)
					}
				}
			})
		})
	}
}
