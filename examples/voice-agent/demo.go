package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/livekit-go/agents/agent/roomio"
	"github.com/livekit-go/agents/agent/worker"
	"github.com/livekit-go/agents/internal/resample"
	"github.com/livekit-go/agents/internal/simuser"
	"github.com/livekit-go/agents/plugins/flite"
	"github.com/livekit-go/agents/plugins/inference"
	"github.com/livekit-go/agents/plugins/pocketsphinx"
	"github.com/livekit-go/agents/session"
)

// demoQuestions are what the simulated user asks, in turn.
var demoQuestions = []string{
	"What time is it in Tokyo?",
	"What time is it in Paris?",
	"What time is it in New York?",
}

// demoConfig is what a demo run needs besides the speech stack.
type demoConfig struct {
	url, key, secret string
	turns            int
	questions        []string // asked in turn; nil: demoQuestions
	turnTimeout      time.Duration
	bench            bool
	flags            voiceFlags
	// recognizer configures the simulated user's pocketsphinx (the tests
	// give it the known answer's keywords).
	recognizer []pocketsphinx.Option
	getenv     func(string) string
	stdout     io.Writer
	log        *slog.Logger
}

// runDemo runs the whole loop on one machine: the agent as a worker of the
// LiveKit server in LIVEKIT_URL (default the local dev server), and a
// simulated user in a fresh room that asks questions aloud and prints the
// conversation as it happens.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := demoConfig{getenv: getenv, stdout: stdout}
	cfg.flags.register(fs)
	fs.Lookup("log-level").DefValue, cfg.flags.logLevel = "warn", "warn" // the conversation goes to stdout
	// Options to see on the wire, each turn.
	fs.Lookup("model-options").DefValue, cfg.flags.options = demoModelOptions, demoModelOptions
	fs.IntVar(&cfg.turns, "turns", 2, "questions the simulated user asks")
	fs.DurationVar(&cfg.turnTimeout, "turn-timeout", 60*time.Second, "longest wait for one turn's answer")
	fs.BoolVar(&cfg.bench, "bench", false, "measure turn latency: print per-turn figures and p50/p95 (use with -turns 20)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cfg.turns < 1 {
		fmt.Fprintln(stderr, "voice-agent: demo: -turns must be at least 1")
		return 2
	}
	log, err := cfg.flags.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "voice-agent: %v\n", err)
		return 2
	}
	cfg.log = log
	cfg.url, cfg.key, cfg.secret = localServerDefaults(getenv)
	if _, err := runDemoConfig(ctx, cfg); err != nil {
		log.Error("demo failed", "err", err)
		return 1
	}
	return 0
}

// demoModelOptions are the demo's default -model-options: set, so that
// each turn shows them going on the wire.
const demoModelOptions = `{"temperature":0.3,"max_completion_tokens":150}`

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// turnResult is what the user observed of one turn, and the agent's metrics.
type turnResult struct {
	speechEnd  time.Time // the question's last sample sent
	firstAudio time.Time // the first agent audio at the user after it
	metrics    session.TurnMetrics
	heardAsked string // the user's transcript as the agent sent it
	said       string // the agent's final transcript
	userHeard  string // the agent's audio as the user's recognizer heard it
}

// runDemoConfig runs the demo and returns what each turn observed.
func runDemoConfig(ctx context.Context, cfg demoConfig) ([]turnResult, error) {
	notes := make(chan note, 64)
	sp, err := loadSpeech(cfg.getenv, cfg.log)
	if err != nil {
		return nil, err
	}
	defer sp.close()
	llm, err := voiceLLM(&cfg.flags, withEnv(cfg.getenv, "LIVEKIT_URL", cfg.url), cfg.log, inference.WithMiddleware(observeWire(notes)))
	if err != nil {
		return nil, fmt.Errorf("LLM: %w", err)
	}
	defer llm.close()
	setup, err := jobSetup(llm, sp, &cfg.flags, cfg.log)
	if err != nil {
		return nil, err
	}
	room := "voice-agent-demo-" + randomSuffix()
	out := cfg.stdout
	fmt.Fprintf(out, "voice-agent demo: a simulated user talks to the agent in a LiveKit room, all on this machine\n")
	fmt.Fprintf(out, "  server  %s, room %s\n", cfg.url, room)
	fmt.Fprintf(out, "  agent   the voice agent's job (agent/roomio), joined directly as connect does\n")
	fmt.Fprintf(out, "          VAD: Silero v5 (local, ONNX Runtime)\n")
	if useCloudSpeech(cfg.getenv) {
		fmt.Fprintf(out, "          STT: LiveKit Inference %s\n", cloudSTTModel)
		fmt.Fprintf(out, "          TTS: LiveKit Inference %s\n", cloudTTSModel)
	} else {
		fmt.Fprintf(out, "          STT: PocketSphinx 0.8 en-us (local stand-in for %s; far less accurate)\n", cloudSTTModel)
		fmt.Fprintf(out, "          TTS: Flite slt (local stand-in for %s)\n", cloudTTSModel)
	}
	if llm.local != nil {
		fmt.Fprintf(out, "          LLM: inference.LLM %s, sent to the local stand-in model at %s\n", cfg.flags.model, llm.local.URL)
		fmt.Fprintf(out, "               (OpenAI-compatible Chat Completions, streamed, as the gateway speaks them). The stand-in is NOT a\n")
		fmt.Fprintf(out, "               language model: it answers by rule, and calls current_time when asked the time in a city it knows.\n")
		fmt.Fprintf(out, "               Set LIVEKIT_INFERENCE_URL (any OpenAI-compatible endpoint) or LiveKit Cloud credentials for a real model.\n")
	} else {
		where := "LiveKit Inference"
		if u := cfg.getenv("LIVEKIT_INFERENCE_URL"); u != "" {
			where = u
		}
		fmt.Fprintf(out, "          LLM: inference.LLM %s at %s\n", cfg.flags.model, where)
	}
	fmt.Fprintf(out, "  user    simulated: speaks with Flite, hears the agent with PocketSphinx, reads lk.transcription\n\n")

	// Every session event of the job goes on to the job's own handler
	// (logs); the metrics come here too.
	metrics := make(chan session.TurnMetrics, 16)
	demoSetup := func(ctx context.Context, job *worker.Job) (*roomio.Spec, error) {
		spec, err := setup(ctx, job)
		if err != nil {
			return nil, err
		}
		inner := spec.OnEvent
		spec.OnEvent = func(e session.Event) {
			if inner != nil {
				inner(e)
			}
			switch e := e.(type) {
			case session.MetricsEvent:
				select {
				case metrics <- e.Metrics:
				default:
				}
			case session.FunctionToolsExecutedEvent:
				for i, c := range e.Calls {
					out := ""
					if i < len(e.Outputs) && e.Outputs[i] != nil {
						out = e.Outputs[i].Output
					}
					addNote(notes, fmt.Sprintf("agent called %s(%s) -> %q", c.Name, c.Arguments, out))
				}
			}
		}
		return spec, nil
	}
	// The agent joins the room directly, with a token signed here
	// (worker.DirectJob, as connect does), and runs the same job as start.
	// Not through dispatch: livekit-server v1.13.5 answers a worker's
	// registration before it adds the agent name to the list its dispatch
	// cache is rebuilt from, so a dispatch right after registering can
	// miss a new worker for up to a minute.
	rooms := lksdk.NewRoomServiceClient(cfg.url, cfg.key, cfg.secret)
	if _, err := rooms.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: room}); err != nil {
		return nil, fmt.Errorf("creating room %s on %s: %w (is a LiveKit server running there?)", room, cfg.url, err)
	}
	defer func() {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = rooms.DeleteRoom(c, &livekit.DeleteRoomRequest{Room: room})
	}()
	job, err := worker.DirectJob(cfg.url, cfg.key, cfg.secret, room, worker.Acceptance{Name: "voice-agent"})
	if err != nil {
		return nil, err
	}
	// The job's end (an error joining, the session failing) ends every
	// wait below with its cause.
	runCtx, stop := context.WithCancelCause(ctx)
	jctx, stopJob := context.WithCancel(ctx)
	jobDone := make(chan struct{})
	go func() { // exits when jctx ends (deferred below) or the job fails
		defer close(jobDone)
		err := roomio.RunJob(jctx, job, demoSetup)
		if err == nil {
			err = errors.New("ended")
		}
		stop(fmt.Errorf("the agent's job: %w", err))
	}()
	defer func() { stopJob(); <-jobDone; stop(nil) }()
	ctx = runCtx

	token, err := auth.NewAccessToken(cfg.key, cfg.secret).SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: room}).
		SetIdentity("demo-user").SetValidFor(time.Hour).ToJWT()
	if err != nil {
		return nil, err
	}
	ear, err := newUserEar(cfg.log, cfg.recognizer...)
	if err != nil {
		return nil, err
	}
	defer ear.Close()
	u, err := simuser.Join(ctx, cfg.url, token, simuser.WithEar(ear), simuser.WithLogger(cfg.log))
	if err != nil {
		return nil, err
	}
	defer u.Close() // before ear.Close: no audio reaches the ear after it

	voice, err := flite.New()
	if err != nil {
		return nil, fmt.Errorf("the user's voice: %w", err)
	}
	p := &printer{out: out, u: u, notes: notes}
	start := time.Now()
	p.origin = start
	wctx2, cancel := context.WithTimeout(ctx, cfg.turnTimeout)
	err = u.WaitFor(wctx2, "the agent to join, greet and listen", func() bool {
		p.print()
		return u.AgentPublished() && p.agentFinals > 0 && u.AgentState() == "listening" && !u.Sounding()
	})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("%w (agent in the room with audio: %v, state %q, greetings received %d, agent sound arriving: %v)",
			err, u.AgentPublished(), u.AgentState(), p.agentFinals, u.Sounding())
	}
	drain(metrics) // the greeting's

	var results []turnResult
	questions := cfg.questions
	if len(questions) == 0 {
		questions = demoQuestions
	}
	for i := range cfg.turns {
		q := questions[i%len(questions)]
		r, err := demoTurn(ctx, cfg, u, ear, voice, p, metrics, i+1, q)
		if err != nil {
			return nil, fmt.Errorf("turn %d: %w", i+1, err)
		}
		results = append(results, r)
	}
	if cfg.bench {
		printBench(out, results)
	}
	if d := ear.Dropped(); d > 0 {
		fmt.Fprintf(out, "(the user's recognizer fell behind and skipped %d frames)\n", d)
	}
	fmt.Fprintf(out, "done: %d turns\n", len(results))
	return results, nil
}

func drain(c chan session.TurnMetrics) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// demoTurn asks q aloud and follows the answer until the agent is
// listening again, printing it as it comes.
func demoTurn(ctx context.Context, cfg demoConfig, u *simuser.User, ear *userEar, voice *flite.TTS, p *printer, metrics chan session.TurnMetrics, n int, q string) (turnResult, error) {
	var r turnResult
	pcm, err := voice.Synthesize(ctx, q)
	if err != nil {
		return r, err
	}
	pcm = trimQuiet(pcm)
	drain(metrics)
	p.print()
	runs := len(u.SoundRuns())
	heard := len(ear.Heard())
	finals := p.agentFinals
	fmt.Fprintf(p.out, "\n[turn %d] user says (Flite, %.1f s): %q\n", n, float64(len(pcm))/flite.SampleRate, q)
	end, err := u.Say(ctx, resample.Up(pcm, simuser.Rate/flite.SampleRate))
	if err != nil {
		return r, err
	}
	r.speechEnd = end
	p.origin = end
	fmt.Fprintf(p.out, "  %s user stops speaking (last sample sent)\n", p.stamp(end))

	tctx, cancel := context.WithTimeout(ctx, cfg.turnTimeout)
	defer cancel()
	gotMetrics := false
	err = u.WaitFor(tctx, "the agent's answer", func() bool {
		p.print()
		if r.firstAudio.IsZero() {
			if rs := u.SoundRuns(); len(rs) > runs {
				if i := slices.IndexFunc(rs[runs:], func(t time.Time) bool { return t.After(end) }); i >= 0 {
					r.firstAudio = rs[runs+i]
					fmt.Fprintf(p.out, "  %s agent audio reaches the user\n", p.stamp(r.firstAudio))
				}
			}
		}
		if !gotMetrics {
			select {
			case r.metrics = <-metrics:
				gotMetrics = true
			default:
			}
		}
		return gotMetrics && !r.firstAudio.IsZero() && p.agentFinals > finals && u.AgentState() == "listening" && !u.Sounding()
	})
	if err != nil {
		return r, fmt.Errorf("%w (agent state %q; is the agent's STT hearing the question? see -log-level info)", err, u.AgentState())
	}
	if err := ear.Flush(tctx); err != nil {
		return r, err
	}
	r.heardAsked, r.said = p.lastUser, p.lastAgent
	var words []string
	for _, h := range ear.Heard()[heard:] {
		words = append(words, h.Text)
	}
	r.userHeard = strings.Join(words, " ")
	m := r.metrics
	fmt.Fprintf(p.out, "  user hears (PocketSphinx): %q\n", r.userHeard)
	fmt.Fprintf(p.out, "  timings: speech end -> agent audio at the user %s = endpointing %s (STT final after %s) + LLM %s + TTS %s + the rest %s\n",
		ms(r.firstAudio.Sub(end)), ms(m.EndOfUtteranceDelay), ms(m.TranscriptionDelay), ms(m.LLMTTFT), ms(m.TTSTTFB), ms(r.frameworkAdded()))
	return r, nil
}

// frameworkAdded is the turn's latency minus the time the models and the
// endpointing took: what the framework and the transport added.
func (r turnResult) frameworkAdded() time.Duration {
	m := r.metrics
	return r.firstAudio.Sub(r.speechEnd) - m.EndOfUtteranceDelay - m.LLMTTFT - m.TTSTTFB
}

// trimQuiet cuts the quiet flite puts around speech, so the end of the
// speech as published is the end of the words.
func trimQuiet(pcm []int16) []int16 {
	loud := func(v int16) bool { return v > 300 || v < -300 }
	first := slices.IndexFunc(pcm, loud)
	if first < 0 {
		return pcm
	}
	last := len(pcm) - 1
	for last > first && !loud(pcm[last]) {
		last--
	}
	return pcm[max(0, first-flite.SampleRate/50) : last+1] // keep 20 ms before
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

// note is a line for the printer from another goroutine: a request on
// the wire, a tool call streamed or run.
type note struct {
	at   time.Time
	text string
}

// addNote queues a note, or drops it when the printer is far behind.
func addNote(c chan<- note, text string) {
	select {
	case c <- note{at: time.Now(), text: text}:
	default:
	}
}

// observeWire is a middleware, last in inference.LLM's chain, that notes
// each request as it goes on the wire (the effective options, after the
// merge, validation and model rules) and each tool call as the model
// streams it back.
func observeWire(notes chan<- note) inference.Middleware {
	return func(next inference.Handler) inference.Handler {
		return func(ctx context.Context, r *inference.Request) (session.LLMStream, error) {
			v := describeRequest(r)
			msgs := strings.Fields(v.messages)
			if len(msgs) > 6 { // the history grows each turn: its ends are what changes
				msgs = slices.Concat(msgs[:2], []string{fmt.Sprintf("…%d more…", len(msgs)-5)}, msgs[len(msgs)-3:])
			}
			addNote(notes, fmt.Sprintf("LLM request on the wire: model %s, options %s, tools [%s], messages [%s]",
				r.Model, v.options, strings.Join(v.tools, " "), strings.Join(msgs, " ")))
			s, err := next(ctx, r)
			if err != nil {
				return nil, err
			}
			return &observedStream{LLMStream: s, notes: notes}, nil
		}
	}
}

// observedStream notes the tool calls of a stream as they arrive.
type observedStream struct {
	session.LLMStream
	notes chan<- note
}

func (s *observedStream) Recv() (session.ChatChunk, error) {
	c, err := s.LLMStream.Recv()
	for _, call := range c.ToolCalls {
		addNote(s.notes, fmt.Sprintf("model streamed a tool call: %s(%s)", call.Name, call.Arguments))
	}
	return c, err
}

// printer prints the transcripts the user received and the tools the
// agent called, each once, with the time since origin. It is used from
// one goroutine.
type printer struct {
	out         io.Writer
	u           *simuser.User
	notes       chan note
	origin      time.Time
	seen        int
	agentFinals int
	lastUser    string
	lastAgent   string
}

func (p *printer) stamp(t time.Time) string {
	return fmt.Sprintf("[%+6.2fs]", t.Sub(p.origin).Seconds())
}

func (p *printer) print() {
	for done := false; !done; {
		select {
		case n := <-p.notes:
			fmt.Fprintf(p.out, "  %s %s\n", p.stamp(n.at), n.text)
		default:
			done = true
		}
	}
	ts := p.u.Transcripts()
	for _, t := range ts[p.seen:] {
		if !t.Final {
			continue
		}
		if t.OfUser {
			p.lastUser = t.Text
			fmt.Fprintf(p.out, "  %s agent heard the user (lk.transcription): %q\n", p.stamp(t.At), t.Text)
		} else {
			p.agentFinals++
			p.lastAgent = t.Text
			fmt.Fprintf(p.out, "  %s agent said (lk.transcription): %q\n", p.stamp(t.At), t.Text)
		}
	}
	p.seen = len(ts)
}

func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}

// printBench prints the latency figures of the turns.
func printBench(out io.Writer, rs []turnResult) {
	var total, added, inSession, ways, eou, stt, llm, tts []time.Duration
	for _, r := range rs {
		m := r.metrics
		total = append(total, r.firstAudio.Sub(r.speechEnd))
		added = append(added, r.frameworkAdded())
		// E2ELatency runs from the end of speech the VAD placed to the
		// first frame handed to the room: what lies outside it is the way
		// in (with the VAD's placement) and the way out.
		ways = append(ways, r.firstAudio.Sub(r.speechEnd)-m.E2ELatency)
		inSession = append(inSession, m.E2ELatency-m.EndOfUtteranceDelay-m.LLMTTFT-m.TTSTTFB)
		eou = append(eou, r.metrics.EndOfUtteranceDelay)
		stt = append(stt, r.metrics.TranscriptionDelay)
		llm = append(llm, r.metrics.LLMTTFT)
		tts = append(tts, r.metrics.TTSTTFB)
	}
	row := func(name string, ds []time.Duration) {
		fmt.Fprintf(out, "  %-56s p50 %7s  p95 %7s\n", name, ms(percentile(ds, .5)), ms(percentile(ds, .95)))
	}
	fmt.Fprintf(out, "\nlatency over %d turns (user speech end as published -> first agent audio at the user):\n", len(rs))
	row("total", total)
	row("endpointing (VAD speech end -> commit)", eou)
	row("  of which STT final (VAD speech end -> final)", stt)
	row("LLM time to first token", llm)
	row("TTS time to first audio", tts)
	row("framework + transport (total - endpointing, LLM, TTS)", added)
	row("  in the session (commit -> first frame, less LLM, TTS)", inSession)
	row("  way in and out (total - the session's E2E latency)", ways)
	fmt.Fprintf(out, "  floor: framework + transport under 100 ms at p50: %v\n", percentile(added, .5) < 100*time.Millisecond)
}
