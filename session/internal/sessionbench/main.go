// Command sessionbench runs many text-mode sessions in one process with
// instant fake models and prints turns per second and memory per idle
// session.
//
//	go run ./session/internal/sessionbench -sessions 1000 -turns 10 [-voice]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

func main() {
	sessions := flag.Int("sessions", 1000, "concurrent sessions")
	turns := flag.Int("turns", 10, "user turns per session")
	voice := flag.Bool("voice", false, "voice sessions (VAD, STT, TTS and audio fakes, no endpointing delay) instead of text")
	flag.Parse()
	if err := run(*sessions, *turns, *voice); err != nil {
		fmt.Fprintln(os.Stderr, "sessionbench:", err)
		os.Exit(1)
	}
}

type rig struct {
	s       *session.Session
	in      *sessiontest.TextInput
	stt     *sessiontest.STT
	vad     *sessiontest.VAD
	replies chan struct{}
}

// turn plays one user turn.
func (r *rig) turn(text string) {
	if r.vad == nil {
		r.in.Send(text)
		return
	}
	r.vad.StartOfSpeech()
	r.stt.Final(text)
	r.vad.EndOfSpeech()
}

func run(n, turns int, voice bool) error {
	before := memInUse()
	goroutinesBefore := runtime.NumGoroutine()
	llm := instantLLM{words: strings.SplitAfter("Sure, I can help with that. What city are you in?", " ")}
	rigs := make([]*rig, n)
	for i := range rigs {
		r := &rig{in: sessiontest.NewTextInput(), replies: make(chan struct{}, 1)}
		opts := []session.Option{
			session.WithLLM(llm),
			session.WithEventHandler(func(e session.Event) {
				if _, ok := e.(session.MetricsEvent); ok {
					r.replies <- struct{}{}
				}
			}),
		}
		io := session.IO{Text: r.in, TextOut: discardText{}}
		if voice {
			r.stt, r.vad = sessiontest.NewSTT(), sessiontest.NewVAD()
			opts = append(opts, session.WithSTT(r.stt), session.WithVAD(r.vad), session.WithTTS(&sessiontest.TTS{}),
				session.WithMinEndpointingDelay(0))
			io = session.IO{Audio: sessiontest.NewAudioInput(), AudioOut: &sessiontest.DiscardAudioOutput{}, TextOut: discardText{}}
		}
		s, err := session.New(opts...)
		if err != nil {
			return err
		}
		if err := s.Start(context.Background(), &session.Agent{Instructions: "You are a helpful voice assistant."}, io); err != nil {
			return err
		}
		r.s = s
		rigs[i] = r
	}
	idle := memInUse()
	perSession := float64(idle-before) / float64(n)
	goroutines := float64(runtime.NumGoroutine()-goroutinesBefore) / float64(n)

	start := time.Now()
	var wg sync.WaitGroup
	for _, r := range rigs {
		wg.Add(1)
		go func() { // exits after its session's turns
			defer wg.Done()
			for range turns {
				r.turn("What's the weather like?")
				<-r.replies
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	afterTurns := memInUse()
	for _, r := range rigs {
		_ = r.s.Close()
	}
	total := n * turns
	mode := "text"
	if voice {
		mode = "voice"
	}
	fmt.Printf("%s sessions: %d, turns each: %d, GOMAXPROCS: %d\n", mode, n, turns, runtime.GOMAXPROCS(0))
	fmt.Printf("turns/s: %.0f (%d turns in %v)\n", float64(total)/elapsed.Seconds(), total, elapsed.Round(time.Millisecond))
	fmt.Printf("memory per idle session: %.1f KiB (%.1f goroutines each)\n", perSession/1024, goroutines)
	fmt.Printf("memory per session after %d turns: %.1f KiB\n", turns, float64(afterTurns-before)/float64(n)/1024)
	if perSession >= 1<<20 {
		return fmt.Errorf("memory per idle session %.0f B is over the 1 MiB floor", perSession)
	}
	return nil
}

// memInUse is the heap and stack memory in use after a full collection.
func memInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// instantLLM answers every request with the same words at once and, unlike
// sessiontest.LLM, keeps no record of requests, so memory figures are the
// session's own.
type instantLLM struct{ words []string }

func (l instantLLM) Chat(ctx context.Context, _ session.ChatRequest) (session.LLMStream, error) {
	return &instantStream{ctx: ctx, words: l.words}, nil
}

type instantStream struct {
	ctx   context.Context
	words []string
}

func (s *instantStream) Recv() (session.ChatChunk, error) {
	if err := s.ctx.Err(); err != nil {
		return session.ChatChunk{}, err
	}
	if len(s.words) == 0 {
		return session.ChatChunk{}, io.EOF
	}
	w := s.words[0]
	s.words = s.words[1:]
	return session.ChatChunk{Content: w}, nil
}

func (s *instantStream) Close() error { return nil }

type discardText struct{}

func (discardText) CaptureText(context.Context, string) error { return nil }
func (discardText) Flush()                                    {}
