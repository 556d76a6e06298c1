// Command roombench measures room I/O on a LiveKit server (loopback):
//
//	roombench latency [-turns 20] [-dtx] [-voice flite] [-vad silero]
//	                                         one room: end of the user's voice to the commit and to the answer heard,
//	                                         and how far the session's own metrics are from that
//	roombench bargein [-turns 10]            one room: the user talks over a long reply; how long until it stops
//	roombench density [-rooms 20] [-for 60s] one worker process serving N rooms at once: CPU, memory, underruns
//	roombench state [-turns 10]              one room, a second participant: how long lk.agent.state takes to reach it
//	roombench listen -room NAME [-for 20s]   join as a user, speak a tone now and then, print what arrives
//
// The server comes from LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET.
// The agent runs the deterministic tone speech stack (internal/tonespeech)
// and the real inference plugin against a loopback Chat Completions
// server, so the time measured beyond endpointing, LLM and TTS is what the
// framework and the transport add.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/livekit-go/agents/agent"
	"github.com/livekit-go/agents/agent/roomio"
	"github.com/livekit-go/agents/agent/roomio/internal/tonespeech"
	"github.com/livekit-go/agents/agent/worker"
	"github.com/livekit-go/agents/internal/resample"
	"github.com/livekit-go/agents/internal/simuser"
	"github.com/livekit-go/agents/plugins/flite"
	"github.com/livekit-go/agents/plugins/inference"
	"github.com/livekit-go/agents/plugins/silero"
	"github.com/livekit-go/agents/session"
)

func main() {
	lksdk.SetLogger(protologger.GetDiscardLogger())
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: roombench latency|density|listen|worker [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "latency":
		err = latency(ctx, os.Args[2:])
	case "density":
		err = density(ctx, os.Args[2:])
	case "bargein":
		err = bargein(ctx, os.Args[2:])
	case "state":
		err = stateDelay(ctx, os.Args[2:])
	case "listen":
		err = listen(ctx, os.Args[2:])
	case "worker":
		err = runWorker(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "roombench:", err)
		os.Exit(1)
	}
}

type server struct{ url, key, secret string }

func env() (server, error) {
	s := server{os.Getenv("LIVEKIT_URL"), os.Getenv("LIVEKIT_API_KEY"), os.Getenv("LIVEKIT_API_SECRET")}
	if s.url == "" || s.key == "" || s.secret == "" {
		return s, errors.New("LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set")
	}
	return s, nil
}

func uniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// chatServer streams reply, a word a chunk, to every request.
func chatServer(reply string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = bufio.NewReader(r.Body).Discard(1 << 20)
		w.Header().Set("Content-Type", "text/event-stream")
		for i, word := range strings.SplitAfter(reply, " ") {
			delta := map[string]any{"content": word}
			if i == 0 {
				delta["role"] = "assistant"
			}
			chunk, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "model": "m",
				"choices": []any{map[string]any{"index": 0, "delta": delta}}})
			fmt.Fprintf(w, "data: %s\n\n", chunk)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
}

// liveRooms holds the rooms of the jobs this process ran, for their stats.
var liveRooms sync.Map

// agentStats sums the stats of every room this process ran.
func agentStats() roomio.Stats {
	var total roomio.Stats
	liveRooms.Range(func(k, _ any) bool {
		st := k.(*roomio.Room).Stats()
		total.Underruns += st.Underruns
		total.InputDropped += st.InputDropped
		return true
	})
	return total
}

// stack is the agent's speech stack in a bench: the tone VAD, or Silero
// (the model of plugins/silero, loaded from SILERO_VAD_MODEL).
type stack struct {
	silero *silero.VAD
	stt    session.STT // default: one interim per utterance
}

func (st stack) sttOr() session.STT {
	if st.stt != nil {
		return st.stt
	}
	return &tonespeech.STT{Text: "what time is it"}
}

func (st stack) vad() session.VAD {
	if st.silero != nil {
		return st.silero
	}
	return &tonespeech.VAD{}
}

// startWorker registers a worker for agentName whose jobs run the tone
// stack (or Silero for VAD); it returns when registered. onEvent sees
// every session event.
func startWorker(ctx context.Context, s server, agentName, reply string, maxJobs int, st stack, onEvent func(session.Event)) (func(), error) {
	llmSrv := chatServer(reply)
	setup := func(ctx context.Context, job *worker.Job) (*roomio.Spec, error) {
		llm, err := inference.NewLLM("openai/gpt-4.1-mini", inference.WithBaseURL(llmSrv.URL), inference.WithCredentials("key", "secret"))
		if err != nil {
			return nil, err
		}
		return &roomio.Spec{
			Agent: &agent.Agent{Instructions: "bench"},
			Options: []session.Option{
				session.WithLLM(llm),
				session.WithSTT(st.sttOr()),
				session.WithTTS(&tonespeech.TTS{}),
				session.WithVAD(st.vad()),
				session.WithLogger(slog.New(slog.DiscardHandler)),
			},
			RoomOptions: []roomio.Option{roomio.WithLogger(slog.New(slog.DiscardHandler))},
			OnEvent: func(e session.Event) {
				if onEvent != nil {
					onEvent(e)
				}
			},
			OnStart: func(_ context.Context, _ *session.Session, r *roomio.Room) error {
				liveRooms.Store(r, struct{}{})
				return nil
			},
		}, nil
	}
	w, err := worker.New(s.url, s.key, s.secret, roomio.EntryPoint(setup), worker.WithAgentName(agentName),
		worker.WithMaxJobs(maxJobs), worker.WithLoadThreshold(1), worker.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		llmSrv.Close()
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { // exits when wctx ends
		defer close(done)
		_ = w.Run(wctx)
	}()
	stop := func() { cancel(); <-done; llmSrv.Close() }
	deadline := time.Now().Add(20 * time.Second)
	for w.ID() == "" {
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("worker did not register")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return stop, nil
}

// benchRoom is one measurement's setup: a worker that answers with reply,
// a room named name dispatched to it, and a user in it who sees the agent
// listening. Close undoes it, in reverse.
type benchRoom struct {
	name string
	u    *simuser.User
	undo []func()
}

func (r *benchRoom) Close() {
	for i := len(r.undo) - 1; i >= 0; i-- {
		r.undo[i]()
	}
}

// openBenchRoom sets up a benchRoom named after prefix; the user joins with
// opts. On an error what was set up is undone.
func openBenchRoom(ctx context.Context, s server, prefix, reply string, st stack, onEvent func(session.Event), opts ...simuser.Option) (r *benchRoom, err error) {
	r = &benchRoom{name: uniqueName(prefix)}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	stop, err := startWorker(ctx, s, r.name, reply, 2, st, onEvent)
	if err != nil {
		return nil, err
	}
	r.undo = append(r.undo, stop)
	if err := createRoom(ctx, s, r.name, r.name); err != nil {
		return nil, err
	}
	r.undo = append(r.undo, func() { deleteRoom(s, r.name) })
	if r.u, err = joinUser(ctx, s.url, s.key, s.secret, r.name, "user", opts...); err != nil {
		return nil, err
	}
	r.undo = append(r.undo, r.u.Close)
	if err := waitAgent(ctx, r.u); err != nil {
		return nil, err
	}
	return r, nil
}

func createRoom(ctx context.Context, s server, room, agentName string) error {
	rc := lksdk.NewRoomServiceClient(s.url, s.key, s.secret)
	_, err := rc.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: room, Agents: []*livekit.RoomAgentDispatch{{AgentName: agentName}}})
	return err
}

func deleteRoom(s server, room string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = lksdk.NewRoomServiceClient(s.url, s.key, s.secret).DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: room})
}

// joinUser joins room as identity: the user of these tests, whose runs of
// the agent's (tone) sound are heard with simuser.Sliding and end after
// simuser.ToneQuietGap, the measure of the README's figures.
func joinUser(ctx context.Context, url, key, secret, room, identity string, opts ...simuser.Option) (*simuser.User, error) {
	return simuser.JoinWithKey(ctx, url, key, secret, room, identity, append([]simuser.Option{simuser.WithOnsets(simuser.Sliding, simuser.ToneQuietGap)}, opts...)...)
}

// waitAgent waits until the agent is in the room and listening.
func waitAgent(ctx context.Context, u *simuser.User) error {
	return u.WaitFor(ctx, "the agent listening", func() bool {
		for _, p := range u.Room.GetRemoteParticipants() {
			if p.Kind() == lksdk.ParticipantAgent && p.Attributes()[roomio.AttributeAgentState] == "listening" &&
				p.GetTrackPublication(livekit.TrackSource_MICROPHONE) != nil {
				return true
			}
		}
		return false
	})
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p * float64(len(s)-1))
	return s[i]
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + " ms" }

// userFlags are how the bench's user publishes and speaks.
type userFlags struct {
	dtx    *bool
	noise  *float64
	voice  *string
	vad    *string
	speech []int16 // what the user says, at simuser.Rate
}

func addUserFlags(fs *flag.FlagSet) *userFlags {
	return &userFlags{
		dtx:   fs.Bool("dtx", false, "the user publishes with Opus DTX, as livekit-client does by default"),
		noise: fs.Float64("noise", 0, "RMS of the noise in the user's silence (0: digital silence)"),
		voice: fs.String("voice", "tone", "what the user says: tone (800 ms at 440 Hz) or flite (a spoken question)"),
		vad:   fs.String("vad", "tone", "the agent's VAD: tone (energy) or silero (SILERO_VAD_MODEL, ONNXRUNTIME_LIB)"),
	}
}

func (f *userFlags) options() []simuser.Option {
	opts := []simuser.Option{simuser.WithNoise(*f.noise)}
	if *f.dtx {
		opts = append(opts, simuser.WithDTX())
	}
	return opts
}

// prepare loads what the flags name: the user's words and the VAD.
func (f *userFlags) prepare(ctx context.Context) (stack, error) {
	var st stack
	switch *f.voice {
	case "tone":
		f.speech = tonespeech.Tone(800*time.Millisecond, simuser.Rate)
	case "flite":
		tts, err := flite.New()
		if err != nil {
			return st, err
		}
		pcm, err := tts.Synthesize(ctx, "What time is it in Paris right now?")
		if err != nil {
			return st, err
		}
		f.speech = resample.Up(pcm, simuser.Rate/flite.SampleRate)
	default:
		return st, fmt.Errorf("-voice %q: want tone or flite", *f.voice)
	}
	switch *f.vad {
	case "tone":
	case "silero":
		v, err := silero.Load()
		if err != nil {
			return st, err
		}
		st.silero = v
	default:
		return st, fmt.Errorf("-vad %q: want tone or silero", *f.vad)
	}
	return st, nil
}

// latency runs turns in one room. Per turn it measures, at the user, the
// time from the end of the user's voice (its last loud frame sent) to the
// turn's commit (the agent's state turning to thinking) and to the
// agent's answer becoming audible (RMS over 20 ms above the threshold),
// and compares them with the session's own metrics (end of utterance
// delay, e2e), which must tell the same story.
func latency(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("latency", flag.ExitOnError)
	turns := fs.Int("turns", 20, "turns to measure")
	uf := addUserFlags(fs)
	_ = fs.Parse(args)
	s, err := env()
	if err != nil {
		return err
	}
	st, err := uf.prepare(ctx)
	if err != nil {
		return err
	}
	if st.silero != nil {
		defer st.silero.Close()
	}
	metrics := make(chan session.TurnMetrics, 64)
	thinking := make(chan time.Time, 64)
	onEvent := func(e session.Event) {
		switch e := e.(type) {
		case session.MetricsEvent:
			metrics <- e.Metrics
		case session.AgentStateChangedEvent:
			if e.New == session.AgentThinking {
				thinking <- e.At
			}
		}
	}
	room, err := openBenchRoom(ctx, s, "bench-latency", "Okay.", st, onEvent, uf.options()...)
	if err != nil {
		return err
	}
	defer room.Close()
	u := room.u
	fmt.Printf("user: dtx=%v noise=%v voice=%s; agent VAD %s\n", *uf.dtx, *uf.noise, *uf.voice, *uf.vad)
	var commit, heardAt, eou, e2e, dEOU, dE2E []time.Duration
	sent0, skipped0 := u.Packets()
	began := time.Now()
	for i := range *turns {
		time.Sleep(time.Second) // the user is quiet a moment between turns, as people are
		before := len(u.SoundRuns())
		end := u.Speak(uf.speech)
		tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := u.WaitFor(tctx, "the reply", func() bool { return len(u.SoundRuns()) > before })
		cancel()
		if err != nil {
			return fmt.Errorf("turn %d: %w", i, err)
		}
		heard := u.SoundRuns()[before]
		var m session.TurnMetrics
		var think time.Time
		select {
		case m = <-metrics:
		case <-time.After(5 * time.Second):
			return fmt.Errorf("turn %d: no metrics", i)
		}
		select {
		case think = <-thinking:
		case <-time.After(5 * time.Second):
			return fmt.Errorf("turn %d: no thinking state", i)
		}
		c, h := think.Sub(end), heard.Sub(end)
		commit, heardAt = append(commit, c), append(heardAt, h)
		eou, e2e = append(eou, m.EndOfUtteranceDelay), append(e2e, m.E2ELatency)
		dEOU, dE2E = append(dEOU, m.EndOfUtteranceDelay-c), append(dE2E, m.E2ELatency-h)
		fmt.Printf("turn %2d: end of voice -> commit %s, -> heard %s; session: end of utterance %s, e2e %s (LLM %s, TTS %s)\n",
			i+1, ms(c), ms(h), ms(m.EndOfUtteranceDelay), ms(m.E2ELatency), ms(m.LLMTTFT), ms(m.TTSTTFB))
		if err := u.WaitFor(ctx, "the reply's end", func() bool { return !u.Sounding() }); err != nil {
			return err
		}
	}
	sent, skipped := u.Packets()
	el := time.Since(began).Seconds()
	fmt.Printf("\n%d turns; the user sent %.1f packets/s (%d frames kept back by DTX)\n", len(commit), float64(sent-sent0)/el, skipped-skipped0)
	fmt.Printf("  end of voice -> commit:      p50 %s p95 %s\n", ms(percentile(commit, .5)), ms(percentile(commit, .95)))
	fmt.Printf("  end of voice -> heard:       p50 %s p95 %s\n", ms(percentile(heardAt, .5)), ms(percentile(heardAt, .95)))
	fmt.Printf("  session end of utterance:    p50 %s p95 %s; minus the user's commit time: p50 %s, worst %s\n",
		ms(percentile(eou, .5)), ms(percentile(eou, .95)), ms(percentile(dEOU, .5)), ms(worst(dEOU)))
	fmt.Printf("  session e2e:                 p50 %s p95 %s; minus the user's heard time:  p50 %s, worst %s\n",
		ms(percentile(e2e, .5)), ms(percentile(e2e, .95)), ms(percentile(dE2E, .5)), ms(worst(dE2E)))
	return nil
}

// worst returns the value farthest from zero.
func worst(ds []time.Duration) time.Duration {
	var w time.Duration
	for _, d := range ds {
		if d.Abs() > w.Abs() {
			w = d
		}
	}
	return w
}

// stateDelay has a user ask questions while a second participant watches
// the agent's lk.agent.state attribute, and reports how long after the
// session changed state the change reached that participant. The STT sends
// an interim every 80 ms of speech (about 25 a question, as LiveKit
// Inference does), so the transcripts the agent publishes meanwhile are
// many.
func stateDelay(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("state", flag.ExitOnError)
	turns := fs.Int("turns", 10, "questions")
	_ = fs.Parse(args)
	s, err := env()
	if err != nil {
		return err
	}
	type change struct {
		to session.AgentState
		at time.Time
	}
	var mu sync.Mutex
	var changes []change
	onEvent := func(e session.Event) {
		if c, ok := e.(session.AgentStateChangedEvent); ok {
			mu.Lock()
			changes = append(changes, change{c.New, c.At})
			mu.Unlock()
		}
	}
	st := stack{stt: &tonespeech.STT{Text: "what time is it in Paris right now please tell me", InterimAfter: 80 * time.Millisecond, InterimEvery: 80 * time.Millisecond}}
	room, err := openBenchRoom(ctx, s, "bench-state", "It is noon in Paris, and the sun is out.", st, onEvent, simuser.WithDTX())
	if err != nil {
		return err
	}
	defer room.Close()
	u := room.u
	obs, err := joinUser(ctx, s.url, s.key, s.secret, room.name, "observer")
	if err != nil {
		return err
	}
	defer obs.Close()
	time.Sleep(time.Second)
	mu.Lock()
	from := len(changes)
	mu.Unlock()
	for i := range *turns {
		before := len(u.SoundRuns())
		u.Speak(tonespeech.Tone(2*time.Second, simuser.Rate))
		tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := u.WaitFor(tctx, "the reply", func() bool { return len(u.SoundRuns()) > before })
		if err == nil {
			err = u.WaitFor(tctx, "the reply's end", func() bool { return !u.Sounding() })
		}
		cancel()
		if err != nil {
			return fmt.Errorf("turn %d: %w", i, err)
		}
		time.Sleep(time.Second)
	}
	time.Sleep(2 * time.Second)
	mu.Lock()
	cs := slices.Clone(changes[from:])
	mu.Unlock()
	seen := obs.AttributeChanges()
	var delays []time.Duration
	missed := 0
	next := 0
	for _, c := range cs {
		found := false
		for j := next; j < len(seen); j++ {
			a := seen[j]
			if a.Key == roomio.AttributeAgentState && a.Value == string(c.to) && !a.At.Before(c.at) {
				d := a.At.Sub(c.at)
				delays = append(delays, d)
				fmt.Printf("-> %-9s reached the observer after %s\n", c.to, ms(d))
				next, found = j+1, true
				break
			}
		}
		if !found {
			missed++
		}
	}
	fmt.Printf("\n%d state changes over %d turns (%d never seen): reached the observer p50 %s, p95 %s, max %s\n",
		len(cs), *turns, missed, ms(percentile(delays, .5)), ms(percentile(delays, .95)), ms(percentile(delays, 1)))
	return nil
}

// runWorker is the worker process of density.
func runWorker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ExitOnError)
	name := fs.String("agent-name", "", "agent name")
	maxJobs := fs.Int("max-jobs", 200, "most jobs")
	reply := fs.String("reply", "", "what the agent says")
	_ = fs.Parse(args)
	s, err := env()
	if err != nil {
		return err
	}
	stop, err := startWorker(ctx, s, *name, *reply, *maxJobs, stack{}, nil)
	if err != nil {
		return err
	}
	fmt.Println("registered")
	<-ctx.Done()
	st := agentStats() // before the jobs end
	stop()
	fmt.Printf("agent side: %d underruns (the track sent silence mid-reply), %d user frames dropped\n", st.Underruns, st.InputDropped)
	return nil
}

// procStat reads a process's CPU time and resident memory from /proc.
func procStat(pid int) (cpu time.Duration, rss int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	pages, _ := strconv.ParseInt(f[21], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz, pages * int64(os.Getpagesize()), nil
}

// density runs one worker process (this program, re-executed) serving
// -rooms rooms, each with a user that speaks 1.2 s, waits for the reply
// (about 2 s of audio) and speaks again, for -for. It reports the worker's
// CPU and memory per room and the underruns the users heard.
func density(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("density", flag.ExitOnError)
	rooms := fs.Int("rooms", 20, "concurrent rooms")
	dur := fs.Duration("for", 60*time.Second, "how long to measure once every room is up")
	_ = fs.Parse(args)
	s, err := env()
	if err != nil {
		return err
	}
	name := uniqueName("bench-density")
	const reply = "Here is a reply that lasts a couple of seconds."
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "worker", "-agent-name", name, "-reply", reply)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	outr := bufio.NewReader(out)
	line, err := outr.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "registered" {
		return fmt.Errorf("worker did not register: %q %v", line, err)
	}
	// The worker reports its own count of underruns when told to stop,
	// while every room is still up.
	workerReport := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if rest, err := io.ReadAll(outr); err == nil {
			fmt.Print(string(rest))
		}
	}
	cpu0, rss0, err := procStat(cmd.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("worker idle: RSS %.1f MiB\n", float64(rss0)/(1<<20))

	var wg sync.WaitGroup
	var turns, failures, splits atomic.Int64
	users := make([]*simuser.User, *rooms)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan error, *rooms)
	for i := range *rooms {
		room := fmt.Sprintf("%s-%d", name, i)
		if err := createRoom(ctx, s, room, name); err != nil {
			return err
		}
		defer deleteRoom(s, room)
		u, err := joinUser(ctx, s.url, s.key, s.secret, room, "user")
		if err != nil {
			return err
		}
		users[i] = u
		defer u.Close()
		wg.Add(1)
		go func() { // exits when runCtx ends
			defer wg.Done()
			jctx, jcancel := context.WithTimeout(runCtx, 60*time.Second)
			err := waitAgent(jctx, u)
			jcancel()
			ready <- err
			if err != nil {
				return
			}
			for runCtx.Err() == nil {
				before := len(u.SoundRuns())
				u.Speak(tonespeech.Tone(1200*time.Millisecond, simuser.Rate))
				tctx, tcancel := context.WithTimeout(runCtx, 10*time.Second)
				err := u.WaitFor(tctx, "reply", func() bool { return len(u.SoundRuns()) > before })
				if err == nil {
					err = u.WaitFor(tctx, "reply end", func() bool { return !u.Sounding() })
				}
				tcancel()
				if runCtx.Err() != nil {
					return
				}
				if err != nil {
					failures.Add(1)
				} else {
					turns.Add(1)
					if len(u.SoundRuns()) > before+1 {
						splits.Add(1) // the reply arrived in pieces: a silence of 150 ms or more inside it
					}
				}
				time.Sleep(300 * time.Millisecond)
			}
		}()
	}
	for range *rooms {
		if err := <-ready; err != nil {
			cancel()
			wg.Wait()
			return fmt.Errorf("a room's agent never came: %w", err)
		}
	}
	// Measure the steady state.
	time.Sleep(3 * time.Second)
	gaps0 := 0
	for _, u := range users {
		gaps0 += u.Gaps()
	}
	cpuA, _, _ := procStat(cmd.Process.Pid)
	t0, turns0, fail0, splits0 := time.Now(), turns.Load(), failures.Load(), splits.Load()
	var peak int64
	for end := time.Now().Add(*dur); time.Now().Before(end) && ctx.Err() == nil; {
		time.Sleep(time.Second)
		if _, rss, err := procStat(cmd.Process.Pid); err == nil {
			peak = max(peak, rss)
		}
	}
	cpuB, rss, _ := procStat(cmd.Process.Pid)
	el := time.Since(t0)
	gaps := 0
	for _, u := range users {
		gaps += u.Gaps()
	}
	workerReport()
	cancel()
	wg.Wait()
	cpuShare := float64(cpuB-cpuA) / float64(el)
	fmt.Printf("%d rooms for %v: %d turns answered, %d unanswered; underruns heard: %d short gaps, %d replies broken by 150 ms+ of silence\n",
		*rooms, el.Round(time.Second), turns.Load()-turns0, failures.Load()-fail0, gaps-gaps0, splits.Load()-splits0)
	fmt.Printf("worker CPU: %.1f%% of one core in all, %.2f%% per room (setup: %v CPU)\n",
		100*cpuShare, 100*cpuShare/float64(*rooms), (cpuA - cpu0).Round(time.Millisecond))
	fmt.Printf("worker memory: RSS %.1f MiB now, peak %.1f MiB, %.2f MiB per room above idle\n",
		float64(rss)/(1<<20), float64(peak)/(1<<20), float64(peak-rss0)/(1<<20)/float64(*rooms))
	return nil
}

// listen joins a room as a user, speaks a tone every few seconds and
// prints the transcripts and agent audio that arrive.
func listen(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("listen", flag.ExitOnError)
	room := fs.String("room", "", "room")
	dur := fs.Duration("for", 20*time.Second, "how long")
	speak := fs.Bool("speak", false, "speak a tone every 5 s")
	_ = fs.Parse(args)
	s, err := env()
	if err != nil {
		return err
	}
	u, err := joinUser(ctx, s.url, s.key, s.secret, *room, uniqueName("listener"))
	if err != nil {
		return err
	}
	defer u.Close()
	end := time.Now().Add(*dur)
	nextSpeak := time.Now().Add(3 * time.Second)
	seen, heard := 0, 0
	for time.Now().Before(end) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		for _, t := range u.Transcripts()[seen:] {
			fmt.Printf("%s transcript from %s: %q %v\n", t.At.Format("15:04:05.000"), t.From, t.Text, t.Attributes)
			seen++
		}
		for _, h := range u.SoundRuns()[heard:] {
			fmt.Printf("%s agent audio starts\n", h.Format("15:04:05.000"))
			heard++
		}
		if *speak && time.Now().After(nextSpeak) {
			u.SpeakAsync(tonespeech.Tone(time.Second, simuser.Rate))
			nextSpeak = time.Now().Add(5 * time.Second)
		}
	}
	for _, p := range u.Room.GetRemoteParticipants() {
		fmt.Printf("participant %s kind %d attributes %v\n", p.Identity(), p.Kind(), p.Attributes())
	}
	return nil
}

// bargein has the user talk over a long reply, turn after turn, and
// reports how long after the user started talking the agent's audio
// stopped at the user, beyond the 0.5 s the session waits before it
// interrupts (min_interruption_duration).
func bargein(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bargein", flag.ExitOnError)
	turns := fs.Int("turns", 10, "interruptions to measure")
	_ = fs.Parse(args)
	s, err := env()
	if err != nil {
		return err
	}
	long := "This is a long answer that goes on and on so that the user has plenty of time to talk over it."
	room, err := openBenchRoom(ctx, s, "bench-bargein", long, stack{}, nil)
	if err != nil {
		return err
	}
	defer room.Close()
	u := room.u
	const threshold = 500 * time.Millisecond
	var beyond []time.Duration
	for i := range *turns {
		before := len(u.SoundRuns())
		u.Speak(tonespeech.Tone(800*time.Millisecond, simuser.Rate))
		if err := u.WaitFor(ctx, "the reply", func() bool { return len(u.SoundRuns()) > before }); err != nil {
			return err
		}
		time.Sleep(time.Second)
		start := time.Now()
		u.SpeakAsync(tonespeech.Tone(1500*time.Millisecond, simuser.Rate))
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := u.WaitFor(tctx, "the reply to stop", func() bool { return !u.Sounding() })
		cancel()
		if err != nil {
			return fmt.Errorf("turn %d: %w", i, err)
		}
		last := u.LastSound()
		b := last.Sub(start) - threshold
		beyond = append(beyond, b)
		fmt.Printf("interruption %2d: agent audio stopped %s after the user began, %s beyond the 0.5 s threshold\n", i+1, ms(last.Sub(start)), ms(b))
		// The user's speech is a new turn: let its reply start, then
		// interrupt nothing more and wait for quiet.
		time.Sleep(2500 * time.Millisecond)
		u.Speak(tonespeech.Tone(300*time.Millisecond, simuser.Rate)) // cut the new reply short (an interim needs 200 ms)
		if err := u.WaitFor(ctx, "quiet", func() bool { return !u.Sounding() }); err != nil {
			return err
		}
		time.Sleep(3 * time.Second)
	}
	fmt.Printf("\n%d interruptions: stop beyond the threshold p50 %s p95 %s (floor: under 100 ms)\n", len(beyond), ms(percentile(beyond, .5)), ms(percentile(beyond, .95)))
	return nil
}
