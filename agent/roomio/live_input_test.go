package roomio_test

// Live tests of the user's microphone as browsers send it: Opus DTX (in
// silence few or no packets), mute, unpublish. The agent's input must
// follow the wall clock, so the turn commits on time and the session's
// metrics tell the time the user lived.

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/livekit-go/agents/agent/roomio"
	"github.com/livekit-go/agents/agent/roomio/internal/tonespeech"
	"github.com/livekit-go/agents/internal/resample"
	"github.com/livekit-go/agents/internal/simuser"
	"github.com/livekit-go/agents/plugins/flite"
	"github.com/livekit-go/agents/plugins/silero"
	"github.com/livekit-go/agents/session"
)

// endpointing is the session's default minimum endpointing delay; the tone
// VAD's 300 ms of silence is shorter, so the delay decides the commit.
const endpointing = 500 * time.Millisecond

// commitAfter returns the first commit (the agent turning to thinking) at or
// after t, waiting for it.
func (e *events) commitAfter(ctx context.Context, t time.Time) (time.Time, error) {
	for {
		e.mu.Lock()
		for _, ev := range e.all {
			if s, ok := ev.(session.AgentStateChangedEvent); ok && s.New == session.AgentThinking && !s.At.Before(t) {
				e.mu.Unlock()
				return s.At, nil
			}
		}
		e.mu.Unlock()
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// metrics returns the turn metrics so far.
func (e *events) metrics() []session.TurnMetrics {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []session.TurnMetrics
	for _, ev := range e.all {
		if m, ok := ev.(session.MetricsEvent); ok {
			out = append(out, m.Metrics)
		}
	}
	return out
}

// dtxRoom starts a worker and a user who publishes as livekit-client does
// (Opus DTX), and waits until the agent listens.
func dtxRoom(t *testing.T, ctx context.Context, prefix string, opts ...session.Option) (*simuser.User, *events) {
	t.Helper()
	s := testServer(t)
	name := uniqueName(prefix)
	ev := newEvents()
	startWorker(t, s, name, chatServer(t, "Okay.").URL, ev, opts...)
	s.createRoom(t, name, name)
	u, err := joinUser(ctx, s.url, s.key, s.secret, name, "user", simuser.WithDTX())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	a := agentOf(t, ctx, u)
	if err := u.WaitFor(ctx, "agent listening", func() bool {
		return a.Attributes()[roomio.AttributeAgentState] == "listening"
	}); err != nil {
		t.Fatal(err)
	}
	return u, ev
}

// With DTX, a browser sends about a packet every 400 ms once the user is
// quiet. The turn still commits on time after the end of the user's voice
// (not seconds later), and the session's end of utterance delay and e2e
// latency agree with what the user measured within 50 ms: with the tone
// VAD and a tone, and with the product's VAD (Silero) and a spoken
// question (flite), whose end of speech must be the end of the voice, not
// Silero's later deactivation. The user's measure: from the send time of
// the last 20 ms frame above -36 dBFS to the agent's thinking state
// (commit) and to the answer's audible onset (heard). Both in the median
// of five turns: on a loaded machine one turn can stall (the user's
// sender or the agent not scheduled for a few hundred ms); each turn is
// logged.
func TestLiveDTXTurnCommitsOnTime(t *testing.T) {
	for _, tc := range []struct {
		name string
		// commitBy bounds the commit after the end of voice (median).
		commitBy time.Duration
		setup    func(t *testing.T) (say []int16, opts []session.Option)
	}{
		{"tone VAD, tone", endpointing + 200*time.Millisecond, func(t *testing.T) ([]int16, []session.Option) {
			return tonespeech.Tone(800*time.Millisecond, simuser.Rate), nil
		}},
		// Silero ends speech after 550 ms of silence, counted from where
		// its probability fell (70 to 210 ms after the voice) and
		// decided at the end of a 32 ms window: that, not endpointing
		// (500 ms from the end of the voice), decides the commit.
		{"Silero, flite", silero.DefaultMinSilenceDuration + 350*time.Millisecond, func(t *testing.T) ([]int16, []session.Option) {
			v, err := silero.Load()
			if errors.Is(err, silero.ErrNotInstalled) && os.Getenv("CI") != "true" {
				t.Skipf("%v (scripts/setup.sh installs it)", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = v.Close() }) // after the worker's cleanup: registered first
			tts, err := flite.New()
			if err != nil {
				t.Fatal(err)
			}
			pcm, err := tts.Synthesize(t.Context(), "What time is it in Paris right now?")
			if err != nil {
				t.Fatal(err)
			}
			return resample.Up(pcm, simuser.Rate/flite.SampleRate), []session.Option{session.WithVAD(v)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testServer(t) // skips before loading anything without a server
			say, opts := tc.setup(t)
			ctx, cancel := context.WithTimeout(t.Context(), 3*waitLimit)
			defer cancel()
			u, ev := dtxRoom(t, ctx, "roomio-dtx", opts...)
			const turns = 5
			var commits, dEOU, dE2E []time.Duration
			for turn := range turns {
				time.Sleep(time.Second) // quiet between turns: DTX holds packets back
				heard := len(u.SoundRuns())
				end := u.Speak(say)
				cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
				commit, err := ev.commitAfter(cctx, end)
				ccancel()
				if err != nil {
					t.Fatalf("turn %d: no commit: %v", turn, err)
				}
				if err := u.WaitFor(ctx, "the answer heard", func() bool { return len(u.SoundRuns()) > heard }); err != nil {
					t.Fatal(err)
				}
				if err := u.WaitFor(ctx, "the turn's metrics", func() bool { return len(ev.metrics()) > turn }); err != nil {
					t.Fatal(err)
				}
				m := ev.metrics()[turn]
				c, h := commit.Sub(end), u.SoundRuns()[heard].Sub(end)
				sent, held := u.Packets()
				t.Logf("turn %d: end of voice -> commit %v, -> heard %v; session: end of utterance %v (%+v), e2e %v (%+v) (packets sent %d, held back by DTX %d; agent %+v)",
					turn, c.Round(time.Millisecond), h.Round(time.Millisecond),
					m.EndOfUtteranceDelay.Round(time.Millisecond), (m.EndOfUtteranceDelay - c).Round(time.Millisecond),
					m.E2ELatency.Round(time.Millisecond), (m.E2ELatency - h).Round(time.Millisecond), sent, held, ev.stats())
				commits = append(commits, c)
				dEOU, dE2E = append(dEOU, (m.EndOfUtteranceDelay-c).Abs()), append(dE2E, (m.E2ELatency-h).Abs())
				if err := u.WaitFor(ctx, "the answer's end", func() bool { return !u.Sounding() }); err != nil {
					t.Fatal(err)
				}
			}
			slices.Sort(commits)
			slices.Sort(dEOU)
			slices.Sort(dE2E)
			t.Logf("median: commit %v after the end of voice; the session's end of utterance off by %v, e2e off by %v",
				commits[turns/2].Round(time.Millisecond), dEOU[turns/2].Round(time.Millisecond), dE2E[turns/2].Round(time.Millisecond))
			if c := commits[turns/2]; c > tc.commitBy {
				t.Errorf("committed %v after the end of voice (median), want within %v", c, tc.commitBy)
			}
			if d := dEOU[turns/2]; d > 50*time.Millisecond {
				t.Errorf("the session's end of utterance delay is off the user's measure by %v (median), want within 50 ms", d)
			}
			if d := dE2E[turns/2]; d > 50*time.Millisecond {
				t.Errorf("the session's e2e latency is off what the user heard by %v (median), want within 50 ms", d)
			}
			if _, held := u.Packets(); held == 0 {
				t.Error("DTX held no packet back: the test did not test DTX")
			}
			waitFinals(t, ctx, u, turns)
		})
	}
}

// waitFinals waits until n final transcripts of the agent arrived, so that
// none is in flight when the user leaves.
func waitFinals(t *testing.T, ctx context.Context, u *simuser.User, n int) {
	t.Helper()
	if err := u.WaitFor(ctx, "the agent's final transcripts", func() bool {
		finals := 0
		for _, tr := range u.Transcripts() {
			if tr.Attributes[roomio.AttributeTranscriptionFinal] == "true" && tr.Text == "Okay." {
				finals++
			}
		}
		return finals >= n
	}); err != nil {
		t.Error(err)
	}
}

// A user who mutes right after speaking sends nothing more: the server
// forwards 1 s of blank frames and then nothing. One who unpublishes has
// no track at all (0.2 s of blank frames). In both the agent's input goes
// on with silence on the wall clock, so a VAD that needs 1.5 s of silence
// still ends the turn, on time.
func TestLiveMutedOrUnpublishedMicrophoneEndsTheTurn(t *testing.T) {
	const minSilence = 1500 * time.Millisecond
	for _, tc := range []struct {
		name string
		stop func(t *testing.T, u *simuser.User)
	}{
		{"muted", func(t *testing.T, u *simuser.User) { u.Mute(true) }},
		{"unpublished", func(t *testing.T, u *simuser.User) {
			if err := u.Unpublish(); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*waitLimit)
			defer cancel()
			u, ev := dtxRoom(t, ctx, "roomio-"+tc.name, session.WithVAD(&tonespeech.VAD{MinSilence: minSilence}))
			time.Sleep(500 * time.Millisecond)
			end := u.Speak(tonespeech.Tone(800*time.Millisecond, simuser.Rate))
			tc.stop(t, u)
			cctx, ccancel := context.WithTimeout(ctx, minSilence+5*time.Second)
			commit, err := ev.commitAfter(cctx, end)
			ccancel()
			if err != nil {
				t.Fatalf("no commit: %v", err)
			}
			c := commit.Sub(end)
			t.Logf("%s after speaking: committed %v after the end of voice (agent %+v)", tc.name, c.Round(time.Millisecond), ev.stats())
			if c > minSilence+200*time.Millisecond {
				t.Errorf("committed %v after the end of voice, want within the VAD's silence (%v) + 200 ms", c, minSilence)
			}
			waitFinals(t, ctx, u, 1)
		})
	}
}
