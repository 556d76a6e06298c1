package roomio_test

// End-to-end tests against a real livekit-server (scripts/test.sh starts one
// and sets LIVEKIT_TEST_URL, LIVEKIT_TEST_API_KEY, LIVEKIT_TEST_API_SECRET).
// A second participant (the module's internal/simuser) plays the user: it
// publishes a tone as its voice and reads what the agent sends. Speech models are the
// deterministic ones of internal/tonespeech; the LLM is the real inference
// plugin against a loopback Chat Completions server.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/livekit-go/agents/agent"
	"github.com/livekit-go/agents/agent/roomio"
	"github.com/livekit-go/agents/agent/roomio/internal/tonespeech"
	"github.com/livekit-go/agents/agent/worker"
	"github.com/livekit-go/agents/internal/simuser"
	"github.com/livekit-go/agents/plugins/inference"
	"github.com/livekit-go/agents/session"
)

// waitLimit bounds every wait on the server; a healthy loopback run needs a
// fraction of it.
const waitLimit = 30 * time.Second

type liveServer struct {
	url, key, secret string
	rooms            *lksdk.RoomServiceClient
}

func testServer(t *testing.T) *liveServer {
	t.Helper()
	url := os.Getenv("LIVEKIT_TEST_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("LIVEKIT_TEST_URL is not set: CI must run the end-to-end tests (scripts/test.sh)")
		}
		t.Skip("LIVEKIT_TEST_URL not set; scripts/test.sh starts a server and sets it")
	}
	key, secret := os.Getenv("LIVEKIT_TEST_API_KEY"), os.Getenv("LIVEKIT_TEST_API_SECRET")
	return &liveServer{url: url, key: key, secret: secret, rooms: lksdk.NewRoomServiceClient(url, key, secret)}
}

func uniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func (s *liveServer) createRoom(t *testing.T, name, agentName string) {
	t.Helper()
	req := &livekit.CreateRoomRequest{Name: name, Agents: []*livekit.RoomAgentDispatch{{AgentName: agentName}}}
	if _, err := s.rooms.CreateRoom(t.Context(), req); err != nil {
		t.Fatalf("CreateRoom %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = s.rooms.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: name})
	})
}

// chatServer is a loopback Chat Completions server that streams reply, a
// word a chunk, to every request.
func chatServer(t *testing.T, reply string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
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
		fmt.Fprint(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// events collects a job's session events for the test.
type events struct {
	mu   sync.Mutex
	all  []session.Event
	room *roomio.Room // of the last job started
	end  chan error   // why each job ended
}

func (e *events) setRoom(r *roomio.Room) {
	e.mu.Lock()
	e.room = r
	e.mu.Unlock()
}

// stats returns the room's counters, if a job started.
func (e *events) stats() roomio.Stats {
	e.mu.Lock()
	r := e.room
	e.mu.Unlock()
	if r == nil {
		return roomio.Stats{}
	}
	return r.Stats()
}

func newEvents() *events { return &events{end: make(chan error, 4)} }

func (e *events) add(ev session.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

// closeEvent returns the session's CloseEvent, if it came.
func (e *events) closeEvent() *session.CloseEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.all {
		if c, ok := ev.(session.CloseEvent); ok {
			return &c
		}
	}
	return nil
}

func (e *events) assistantMessages() []*session.ChatMessage {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*session.ChatMessage
	for _, ev := range e.all {
		if c, ok := ev.(session.ConversationItemAddedEvent); ok {
			if m, ok := c.Item.(*session.ChatMessage); ok && m.Role == session.RoleAssistant {
				out = append(out, m)
			}
		}
	}
	return out
}

// startWorker runs a worker for agentName whose jobs use the tone speech
// stack and the inference plugin against llmURL. It stops with the test.
func startWorker(t *testing.T, s *liveServer, agentName, llmURL string, ev *events, opts ...session.Option) {
	t.Helper()
	setup := func(ctx context.Context, job *worker.Job) (*roomio.Spec, error) {
		llm, err := inference.NewLLM("openai/gpt-4.1-mini", inference.WithBaseURL(llmURL), inference.WithCredentials("key", "secret"))
		if err != nil {
			return nil, err
		}
		return &roomio.Spec{
			Agent: &agent.Agent{Instructions: "You are a test agent."},
			Options: append([]session.Option{
				session.WithLLM(llm),
				session.WithSTT(&tonespeech.STT{Text: "what time is it"}),
				session.WithTTS(&tonespeech.TTS{}),
				session.WithVAD(&tonespeech.VAD{}),
			}, opts...),
			OnEvent: ev.add,
			OnStart: func(_ context.Context, _ *session.Session, r *roomio.Room) error { ev.setRoom(r); return nil },
			OnEnd:   func(reason error) { ev.end <- reason },
		}, nil
	}
	w, err := worker.New(s.url, s.key, s.secret, roomio.EntryPoint(setup),
		worker.WithAgentName(agentName), worker.WithMaxJobs(4), worker.WithLoadThreshold(1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }() // exits when ctx is cancelled at cleanup
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("worker: %v", err)
		}
	})
	// A room created before the worker registered is not dispatched to it.
	deadline := time.Now().Add(waitLimit)
	for w.ID() == "" {
		if time.Now().After(deadline) {
			t.Fatal("worker did not register")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// joinUser joins room as identity: the user of these tests, whose runs of
// the agent's (tone) sound are heard with simuser.Sliding and end after
// simuser.ToneQuietGap, the measure of the README's figures.
func joinUser(ctx context.Context, url, key, secret, room, identity string, opts ...simuser.Option) (*simuser.User, error) {
	return simuser.JoinWithKey(ctx, url, key, secret, room, identity, append([]simuser.Option{simuser.WithOnsets(simuser.Sliding, simuser.ToneQuietGap)}, opts...)...)
}

// agentOf waits until the user sees an agent participant with an audio
// track and lk.agent.state set.
func agentOf(t *testing.T, ctx context.Context, u *simuser.User) *lksdk.RemoteParticipant {
	t.Helper()
	var found *lksdk.RemoteParticipant
	err := u.WaitFor(ctx, "the agent with its audio track", func() bool {
		for _, p := range u.Room.GetRemoteParticipants() {
			if p.Kind() == lksdk.ParticipantAgent && p.Attributes()[roomio.AttributeAgentState] != "" &&
				p.GetTrackPublication(livekit.TrackSource_MICROPHONE) != nil {
				found = p
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// A dispatched job joins as AGENT, publishes audio and its state, and a
// full turn goes through: the user's speech is answered in audio and on
// lk.transcription, for both sides.
func TestLiveTurn(t *testing.T) {
	s := testServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*waitLimit)
	defer cancel()
	name := uniqueName("roomio-turn")
	ev := newEvents()
	startWorker(t, s, name, chatServer(t, "It is noon.").URL, ev)
	s.createRoom(t, name, name)
	u, err := joinUser(ctx, s.url, s.key, s.secret, name, "user")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()

	a := agentOf(t, ctx, u)
	if err := u.WaitFor(ctx, "agent listening", func() bool {
		return a.Attributes()[roomio.AttributeAgentState] == "listening"
	}); err != nil {
		t.Fatal(err)
	}
	u.Speak(tonespeech.Tone(time.Second, simuser.Rate))
	if err := u.WaitFor(ctx, "agent audio", func() bool { return len(u.SoundRuns()) > 0 }); err != nil {
		t.Fatal(err)
	}
	if err := u.WaitFor(ctx, "agent transcript", func() bool {
		_, err := u.FinalTranscript("It is noon.")
		return err == nil
	}); err != nil {
		_, why := u.FinalTranscript("It is noon.")
		t.Fatalf("%v: %v", err, why)
	}
	agentT, _ := u.FinalTranscript("It is noon.")
	if agentT.From != a.Identity() || agentT.Attributes[roomio.AttributeTranscribedTrackID] != a.GetTrackPublication(livekit.TrackSource_MICROPHONE).SID() {
		t.Errorf("agent transcript from %s attrs %v, want from %s for its audio track", agentT.From, agentT.Attributes, a.Identity())
	}
	if agentT.Attributes[roomio.AttributeSegmentID] == "" {
		t.Errorf("agent transcript has no segment id: %v", agentT.Attributes)
	}
	userT, err := u.FinalTranscript("what time is it")
	if err != nil {
		t.Fatal(err)
	}
	userTrack := u.Room.LocalParticipant.GetTrackPublication(livekit.TrackSource_MICROPHONE).SID()
	if got := userT.Attributes[roomio.AttributeTranscribedTrackID]; got != userTrack {
		t.Errorf("user transcript track %q, want the user's microphone %q", got, userTrack)
	}
	if err := u.WaitFor(ctx, "agent listening again", func() bool {
		return a.Attributes()[roomio.AttributeAgentState] == "listening" && len(ev.assistantMessages()) == 1
	}); err != nil {
		t.Fatal(err)
	}
	if m := ev.assistantMessages()[0]; m.Content != "It is noon." || m.Interrupted {
		t.Errorf("history: %+v, want the whole reply, not interrupted", m)
	}

	// A typed message on lk.chat is a turn too, answered in voice. (Once
	// the first answer's sound ended at the user: the state reaches the
	// room before the last 100 ms of audio have played.)
	if err := u.WaitFor(ctx, "the answer's end", func() bool { return !u.Sounding() }); err != nil {
		t.Fatal(err)
	}
	heard := len(u.SoundRuns())
	u.Room.LocalParticipant.SendText("hello there", lksdk.StreamTextOptions{Topic: roomio.TopicChat})
	if err := u.WaitFor(ctx, "the reply to a chat message", func() bool {
		return len(ev.assistantMessages()) == 2 && len(u.SoundRuns()) > heard
	}); err != nil {
		ev.mu.Lock()
		for _, e := range ev.all {
			t.Logf("%T %+v", e, e)
		}
		ev.mu.Unlock()
		t.Fatalf("%v (heard %d runs of agent audio, %d before the message)", err, len(u.SoundRuns()), heard)
	}

	// The user leaving ends the job, with that reason.
	u.Close()
	select {
	case reason := <-ev.end:
		if !errors.Is(reason, roomio.ErrUserLeft) {
			t.Errorf("job ended with %v, want ErrUserLeft", reason)
		}
	case <-ctx.Done():
		t.Fatal("the job did not end when the user left")
	}
	if c := ev.closeEvent(); c == nil || c.Reason != session.CloseParticipantDisconnected || !errors.Is(c.Err, roomio.ErrUserLeft) {
		t.Errorf("session close event = %+v, want participant_disconnected with ErrUserLeft", c)
	}
}

// Barge-in: the user talks over a long reply; the agent's audio stops and
// history keeps only what was played.
func TestLiveBargeIn(t *testing.T) {
	s := testServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*waitLimit)
	defer cancel()
	name := uniqueName("roomio-barge")
	ev := newEvents()
	long := "This is a long answer that goes on and on so that the user has plenty of time to talk over it before it ends."
	startWorker(t, s, name, chatServer(t, long).URL, ev, session.WithFalseInterruptionTimeout(time.Second))
	s.createRoom(t, name, name)
	u, err := joinUser(ctx, s.url, s.key, s.secret, name, "user")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	a := agentOf(t, ctx, u)
	if err := u.WaitFor(ctx, "agent listening", func() bool {
		return a.Attributes()[roomio.AttributeAgentState] == "listening"
	}); err != nil {
		t.Fatal(err)
	}
	u.Speak(tonespeech.Tone(time.Second, simuser.Rate))
	if err := u.WaitFor(ctx, "agent audio", func() bool { return u.Sounding() }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // let a second of the reply play
	u.Speak(tonespeech.Tone(time.Second, simuser.Rate))
	if err := u.WaitFor(ctx, "agent audio to stop", func() bool { return !u.Sounding() }); err != nil {
		t.Fatal(err)
	}
	if err := u.WaitFor(ctx, "the interrupted reply in history", func() bool { return len(ev.assistantMessages()) > 0 }); err != nil {
		t.Fatal(err)
	}
	m := ev.assistantMessages()[0]
	if !m.Interrupted || m.Content == "" || len(m.Content) >= len(long) || !strings.HasPrefix(long, m.Content) {
		t.Errorf("history: %+v, want an interrupted prefix of the reply", m)
	}
	t.Logf("heard before the interruption: %q", m.Content)
	if t.Failed() {
		ev.mu.Lock()
		for _, e := range ev.all {
			t.Logf("%T %+v", e, e)
		}
		ev.mu.Unlock()
	}
}

// A dropped signal connection is resumed: the job goes on, the next turn
// is answered in audio and its transcripts arrive. (A full restart, where
// the SDK reports every participant gone meanwhile, is not simulated here:
// SimulateLeaveRequestFullReconnect triggered no reconnection on
// livekit-server v1.13.5 in dev mode.)
func TestLiveReconnect(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*waitLimit)
	defer cancel()
	j := startDirectJob(t, ctx, "roomio-reconnect", "It is noon.")
	u, r, ev := j.user, j.room, j.ev
	turn := func(what string) {
		t.Helper()
		before := len(ev.assistantMessages())
		heard := len(u.SoundRuns())
		u.Speak(tonespeech.Tone(time.Second, simuser.Rate))
		if err := u.WaitFor(ctx, what, func() bool {
			return len(u.SoundRuns()) > heard && len(ev.assistantMessages()) > before
		}); err != nil {
			t.Fatal(err)
		}
	}
	agentOf(t, ctx, u)
	turn("a reply before any reconnection")
	r.LiveKit().Simulate(lksdk.SimulateSignalReconnect)
	time.Sleep(2 * time.Second) // the resume is quick on loopback
	n0 := len(u.Transcripts())
	turn("a reply after the signal connection was resumed")
	if err := u.WaitFor(ctx, "a transcript after the resume", func() bool { return len(u.Transcripts()) > n0 }); err != nil {
		t.Error(err)
	}
	select {
	case <-r.Done():
		t.Fatalf("the room ended: %v", r.Err())
	default:
	}
	u.Close()
	if err := <-j.done; err != nil {
		t.Errorf("RunJob = %v, want nil after the user left", err)
	}
	if reason := <-ev.end; !errors.Is(reason, roomio.ErrUserLeft) {
		t.Errorf("job ended with %v, want ErrUserLeft", reason)
	}
}

// directJob is a job run with RunJob in this process (worker.DirectJob,
// no dispatch), and its user.
type directJob struct {
	s     *liveServer
	name  string
	user  *simuser.User
	room  *roomio.Room
	ev    *events
	done  chan error // RunJob's result
	rooms chan *roomio.Room
}

// startDirectJob creates a room, runs a job in it with the tone stack
// answering reply, joins the user and waits for the session to start.
// The user leaves and the room is deleted when the test ends.
func startDirectJob(t *testing.T, ctx context.Context, prefix, reply string, roomOpts ...roomio.Option) *directJob {
	t.Helper()
	j := runDirectJob(t, ctx, prefix, reply, roomOpts...)
	u, err := joinUser(ctx, j.s.url, j.s.key, j.s.secret, j.name, "user")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	j.user = u
	j.awaitSession(t, ctx)
	return j
}

// runDirectJob creates a room and runs a job in it (the session starts
// once a user joins). The room is deleted when the test ends.
func runDirectJob(t *testing.T, ctx context.Context, prefix, reply string, roomOpts ...roomio.Option) *directJob {
	t.Helper()
	s := testServer(t)
	name := uniqueName(prefix)
	if _, err := s.rooms.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: name}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cl := context.WithTimeout(context.Background(), 5*time.Second)
		defer cl()
		_, _ = s.rooms.DeleteRoom(c, &livekit.DeleteRoomRequest{Room: name})
	})
	llm := chatServer(t, reply)
	job, err := worker.DirectJob(s.url, s.key, s.secret, name, worker.Acceptance{})
	if err != nil {
		t.Fatal(err)
	}
	j := &directJob{s: s, name: name, ev: newEvents(), done: make(chan error, 1), rooms: make(chan *roomio.Room, 1)}
	go func() { // exits when the job ends: the user leaves or ctx ends
		j.done <- roomio.RunJob(ctx, job, func(ctx context.Context, job *worker.Job) (*roomio.Spec, error) {
			l, err := inference.NewLLM("openai/gpt-4.1-mini", inference.WithBaseURL(llm.URL), inference.WithCredentials("key", "secret"))
			if err != nil {
				return nil, err
			}
			return &roomio.Spec{
				Agent: &agent.Agent{Instructions: "test"},
				Options: []session.Option{session.WithLLM(l), session.WithSTT(&tonespeech.STT{Text: "what time is it"}),
					session.WithTTS(&tonespeech.TTS{}), session.WithVAD(&tonespeech.VAD{})},
				RoomOptions: roomOpts,
				OnEvent:     j.ev.add,
				OnStart:     func(_ context.Context, _ *session.Session, r *roomio.Room) error { j.rooms <- r; return nil },
				OnEnd:       func(reason error) { j.ev.end <- reason },
			}, nil
		})
	}()
	return j
}

// awaitSession waits until the job's session started.
func (j *directJob) awaitSession(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case j.room = <-j.rooms:
		j.ev.setRoom(j.room)
	case <-ctx.Done():
		t.Fatal("the job never started its session")
	}
}
