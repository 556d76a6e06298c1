package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit-go/agents/agent"
	"github.com/livekit-go/agents/agent/roomio"
	"github.com/livekit-go/agents/agent/worker"
	"github.com/livekit-go/agents/audio"
	"github.com/livekit-go/agents/plugins/flite"
	"github.com/livekit-go/agents/plugins/inference"
	"github.com/livekit-go/agents/plugins/pocketsphinx"
	"github.com/livekit-go/agents/plugins/silero"
	"github.com/livekit-go/agents/session"
)

// agentFlags are the flags of the agent itself, its model and its
// instructions: every command has them.
type agentFlags struct {
	model, provider, options, instructions string
}

func (f *agentFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "model", "openai/gpt-4.1-mini", "LiveKit Inference model")
	fs.StringVar(&f.provider, "provider", "", "provider to ask the gateway for (X-LiveKit-Inference-Provider)")
	fs.StringVar(&f.options, "model-options", "", `model options as a JSON object with the reference's keys, e.g. {"temperature":0.7}`)
	fs.StringVar(&f.instructions, "instructions", "You are a helpful voice assistant. Keep answers short: they are spoken.", "system instructions")
}

// voiceFlags are the flags the commands that run the agent in a room
// share (start, dev, connect, demo): the agent's, and the room's and log's.
type voiceFlags struct {
	agentFlags
	identity            string
	logLevel, logFormat string
}

func (f *voiceFlags) register(fs *flag.FlagSet) {
	f.agentFlags.register(fs)
	fs.StringVar(&f.identity, "user", "", "identity of the participant to listen to (default: the first one to join)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error: for the program, server-sdk-go and pion alike")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json (slog's handlers)")
}

// logger opens the program's log stream as the flags ask (openLog).
func (f *voiceFlags) logger(w io.Writer) (*slog.Logger, error) {
	return openLog(w, f.logLevel, f.logFormat)
}

// speech is the agent's ears and voice, loaded once and shared by every
// job. With a LiveKit Cloud project (LIVEKIT_URL on .livekit.cloud, with
// credentials) STT and TTS are LiveKit Inference's deepgram/nova-3 and
// cartesia/sonic-3, as in LiveKit's quickstart; anywhere else they are the
// local stand-ins, PocketSphinx and Flite, which run on this machine with
// no account and are far below cloud models in quality. The VAD is Silero
// (ONNX Runtime) either way. The TTS is wrapped in
// audio.TrimLeadingSilence either way: a reply starts at its first sound,
// not after the engine's lead-in, which a user hears as latency.
type speech struct {
	vad   *silero.VAD
	stt   session.STT
	tts   session.TTS
	cloud *inference.TTSModel // holds pooled connections; nil for the local stack
}

// loadSpeech picks and loads the speech stack (see speech) and logs which.
func loadSpeech(getenv func(string) string, log *slog.Logger) (*speech, error) {
	vad, err := silero.Load()
	if err != nil {
		return nil, err // names what is missing and the command that installs it
	}
	vadDesc := "silero v5 (" + vad.Model() + "; ONNX Runtime " + vad.RuntimeLibrary() + ")"
	if useCloudSpeech(getenv) {
		stt, tts, err := cloudSpeech(getenv)
		if err != nil {
			_ = vad.Close()
			return nil, err
		}
		log.Info("speech: LiveKit Inference", "vad", vadDesc, "stt", cloudSTTModel, "tts", cloudTTSModel)
		voice, err := audio.TrimLeadingSilence(tts)
		if err != nil {
			_ = tts.Close()
			_ = vad.Close()
			return nil, err
		}
		return &speech{vad: vad, stt: stt, tts: voice, cloud: tts}, nil
	}
	stt, err := pocketsphinx.NewSTT()
	if err != nil {
		_ = vad.Close()
		return nil, fmt.Errorf("pocketsphinx STT: %w", err)
	}
	fl, err := flite.New()
	if err != nil {
		_ = vad.Close()
		return nil, fmt.Errorf("flite TTS: %w", err)
	}
	tts, err := audio.TrimLeadingSilence(fl) // flite leads each utterance with ~200 ms of near-silence
	if err != nil {
		_ = vad.Close()
		return nil, err
	}
	log.Info("speech: local stand-ins (no LiveKit Cloud project in LIVEKIT_URL)", "vad", vadDesc, "stt", "pocketsphinx 0.8 (en-us)", "tts", "flite (slt)")
	return &speech{vad: vad, stt: stt, tts: tts}, nil
}

func (s *speech) close() {
	if s.cloud != nil {
		_ = s.cloud.Close()
	}
	_ = s.vad.Close()
}

// voiceAgent is the agent every job runs.
func voiceAgent(instructions string) (*agent.Agent, error) {
	clock, err := agent.FunctionTool("current_time", "The current time in an IANA time zone.", currentTime)
	if err != nil {
		return nil, err
	}
	return &agent.Agent{
		Instructions: instructions,
		Tools:        []agent.Tool{clock},
		OnEnter: func(ctx context.Context, s *agent.Session) error {
			_, err := s.Say("Hello! Ask me the time anywhere in the world.")
			return err
		},
	}, nil
}

// jobSetup builds each job's Spec and logs one status line when it ends.
func jobSetup(llm session.LLM, sp *speech, flags *voiceFlags, log *slog.Logger) (roomio.SetupFunc, error) {
	a, err := voiceAgent(flags.instructions)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, job *worker.Job) (*roomio.Spec, error) {
		jlog := log.With("job", job.ID(), "room", job.RoomName())
		start := time.Now()
		var turns, interrupted, errs atomic.Int64
		var mu sync.Mutex
		var e2e []time.Duration
		roomOpts := []roomio.Option{roomio.WithLogger(jlog)}
		if flags.identity != "" {
			roomOpts = append(roomOpts, roomio.WithParticipantIdentity(flags.identity))
		}
		return &roomio.Spec{
			Agent: a,
			Options: []session.Option{
				session.WithLLM(llm), session.WithSTT(sp.stt), session.WithTTS(sp.tts), session.WithVAD(sp.vad),
				session.WithLogger(jlog),
			},
			RoomOptions: roomOpts,
			OnEvent: func(e session.Event) {
				switch e := e.(type) {
				case session.ConversationItemAddedEvent:
					if m, ok := e.Item.(*session.ChatMessage); ok && m.Role == session.RoleUser {
						turns.Add(1)
						jlog.Info("user", "text", m.Content)
					} else if ok && m.Role == session.RoleAssistant {
						if m.Interrupted {
							interrupted.Add(1)
						}
						jlog.Info("agent", "text", m.Content, "interrupted", m.Interrupted)
					}
				case session.FunctionToolsExecutedEvent:
					for i, c := range e.Calls {
						out := ""
						if i < len(e.Outputs) && e.Outputs[i] != nil {
							out = e.Outputs[i].Output
						}
						jlog.Info("tool", "name", c.Name, "args", c.Arguments, "output", out)
					}
				case session.MetricsEvent:
					mu.Lock()
					e2e = append(e2e, e.Metrics.E2ELatency)
					mu.Unlock()
					jlog.Debug("turn metrics", "e2e", e.Metrics.E2ELatency, "eou", e.Metrics.EndOfUtteranceDelay,
						"llm_ttft", e.Metrics.LLMTTFT, "tts_ttfb", e.Metrics.TTSTTFB)
				case session.ErrorEvent:
					errs.Add(1)
					jlog.Warn("session error", "source", e.Source, "err", e.Err, "recoverable", e.Recoverable)
				}
			},
			OnEnd: func(reason error) {
				mu.Lock()
				var sum time.Duration
				for _, d := range e2e {
					sum += d
				}
				var mean time.Duration
				if len(e2e) > 0 {
					mean = sum / time.Duration(len(e2e))
				}
				mu.Unlock()
				why := "done"
				if reason != nil {
					why = reason.Error()
				}
				jlog.Info("job status", "duration", time.Since(start).Round(time.Second), "turns", turns.Load(),
					"interrupted", interrupted.Load(), "errors", errs.Load(), "mean_e2e", mean.Round(time.Millisecond), "ended", why)
			},
		}, nil
	}, nil
}

// voiceRun is what start and connect share: the server's credentials and
// the job setup (LLM, speech, agent). close releases the speech models and
// stops the stand-in model.
type voiceRun struct {
	url, key, secret string
	setup            roomio.SetupFunc
	close            func()
}

// prepareVoice builds a voiceRun from the flags and the environment. On
// failure it logs why and returns nil and the exit code (2 for missing
// credentials, 1 otherwise).
func prepareVoice(vf *voiceFlags, getenv func(string) string, log *slog.Logger) (*voiceRun, int) {
	url, key, secret, err := lkCredentials(getenv)
	if err != nil {
		log.Error(err.Error())
		return nil, 2
	}
	sp, err := loadSpeech(getenv, log)
	if err != nil {
		log.Error("speech", "err", err)
		return nil, 1
	}
	llm, err := voiceLLM(vf, withEnv(getenv, "LIVEKIT_URL", url), log)
	if err != nil {
		sp.close()
		log.Error("LLM", "err", err)
		return nil, 1
	}
	setup, err := jobSetup(llm, sp, vf, log)
	if err != nil {
		llm.close()
		sp.close()
		log.Error("agent", "err", err)
		return nil, 1
	}
	return &voiceRun{url: url, key: key, secret: secret, setup: setup, close: func() { llm.close(); sp.close() }}, 0
}

// voiceLLM is chatLLM, noted in the log, with every request's model
// options logged at Debug as they go on the wire. extra options are added
// to the LLM's.
func voiceLLM(flags *voiceFlags, getenv func(string) string, log *slog.Logger, extra ...inference.Option) (*agentLLM, error) {
	var note strings.Builder
	extra = append([]inference.Option{inference.WithMiddleware(logWire(log))}, extra...)
	llm, err := chatLLM(flags.model, flags.provider, flags.options, &note, getenv, extra...)
	if err != nil {
		return nil, err
	}
	if n := strings.TrimSpace(note.String()); n != "" {
		log.Warn(strings.TrimPrefix(n, "voice-agent: "))
	} else {
		log.Info("LLM: LiveKit Inference", "model", flags.model)
	}
	return llm, nil
}

// logWire is a middleware, last in inference.LLM's chain, that logs each
// request's effective options at Debug: what the body carries.
func logWire(log *slog.Logger) inference.Middleware {
	return func(next inference.Handler) inference.Handler {
		return func(ctx context.Context, r *inference.Request) (session.LLMStream, error) {
			if log.Enabled(ctx, slog.LevelDebug) {
				w := describeRequest(r)
				log.Debug("LLM request", "model", r.Model, "options", w.options, "tools", w.tools, "messages", w.messages, "stripped", r.Stripped)
			}
			return next(ctx, r)
		}
	}
}

// The local development server (livekit-server --dev, and
// scripts/livekit-dev.yaml): where the demo goes when LIVEKIT_URL is
// unset, with its well-known keys.
const (
	devURL    = "ws://127.0.0.1:7880"
	devKey    = "devkey"
	devSecret = "secret"
)

// lkCredentials reads LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET.
// start and connect need all three, as LiveKit Agents' workers need their
// server's credentials: a worker that guessed a server could take jobs
// from whatever listens there.
func lkCredentials(getenv func(string) string) (url, key, secret string, err error) {
	url, key, secret = getenv("LIVEKIT_URL"), getenv("LIVEKIT_API_KEY"), getenv("LIVEKIT_API_SECRET")
	if url == "" || key == "" || secret == "" {
		return "", "", "", fmt.Errorf("LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set")
	}
	return url, key, secret, nil
}

// withEnv is getenv with key set to value.
func withEnv(getenv func(string) string, key, value string) func(string) string {
	return func(k string) string {
		if k == key {
			return value
		}
		return getenv(k)
	}
}

// wireView is a request on its way to the wire, as the log and the demo
// show it.
type wireView struct {
	// options are the effective model options as JSON with sorted keys:
	// what the body carries besides the model, messages and tools.
	options string
	tools   []string
	// messages are the roles in order, an assistant's tool calls after
	// it: "system user assistant>current_time tool".
	messages string
}

func describeRequest(r *inference.Request) wireView {
	var v wireView
	b, err := json.Marshal(r.Options.Map())
	if err != nil {
		b = []byte(err.Error())
	}
	v.options = string(b)
	for _, t := range r.Tools {
		v.tools = append(v.tools, t.Name)
	}
	var roles []string
	if r.Chat != nil {
		for _, it := range r.Chat.Items {
			switch it := it.(type) {
			case *session.ChatMessage:
				roles = append(roles, string(it.Role))
			case *session.FunctionCall:
				if n := len(roles); n > 0 && strings.HasPrefix(roles[n-1], "assistant") {
					roles[n-1] += ">" + it.Name
				} else {
					roles = append(roles, "assistant>"+it.Name)
				}
			case *session.FunctionCallOutput:
				roles = append(roles, "tool")
			}
		}
	}
	v.messages = strings.Join(roles, " ")
	return v
}
