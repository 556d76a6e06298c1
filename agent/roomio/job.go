package roomio

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/livekit-go/agents/agent/worker"
	"github.com/livekit-go/agents/session"
)

// Spec is what one job runs: the agent, the session's options and the
// room's.
type Spec struct {
	// Agent is the first agent of the session; required.
	Agent *session.Agent
	// Options configure the session (LLM, STT, TTS, VAD, timings). The
	// room needs the session's events, so an event handler set here is
	// replaced: use OnEvent.
	Options []session.Option
	// OnEvent, if set, receives every session event after the room did.
	OnEvent func(session.Event)
	// RoomOptions configure [Connect] (user identity, sample rates, logger).
	RoomOptions []Option
	// OnStart, if set, runs once the session started (for a greeting, say).
	OnStart func(ctx context.Context, s *session.Session, r *Room) error
	// OnEnd, if set, is told why the job ended: [ErrUserLeft],
	// [ErrRoomClosed], [ErrDisconnected], the job context's cause, or the
	// session's error.
	OnEnd func(reason error)
}

// SetupFunc builds the Spec of a job; it runs before the agent joins.
type SetupFunc func(ctx context.Context, job *worker.Job) (*Spec, error)

// EntryPoint returns a worker entry point that runs every job with
// [RunJob].
func EntryPoint(setup SetupFunc) worker.EntryPoint {
	return func(ctx context.Context, job *worker.Job) error { return RunJob(ctx, job, setup) }
}

// RunJob runs one job: it builds the Spec, joins the room with the job's
// token, waits for the user, starts the session over the room's I/O with
// the job's ids on its context (session.WithJobInfo, which plugins send
// along), and returns when the job's context ends, the user leaves or the
// session closes. It returns nil for those ordinary ends, and an error when
// setup, joining or the session failed or the connection was lost.
func RunJob(ctx context.Context, job *worker.Job, setup SetupFunc) (err error) {
	if job == nil || setup == nil {
		return errors.New("roomio: RunJob needs a job and a setup function")
	}
	agentID := job.Info.GetAgentName()
	if agentID == "" {
		agentID = job.Participant.Identity
	}
	ctx = session.WithJobInfo(ctx, session.JobInfo{RoomID: job.Info.GetRoom().GetSid(), JobID: job.ID(), AgentID: agentID})
	spec, err := setup(ctx, job)
	if err != nil {
		return fmt.Errorf("roomio: job setup: %w", err)
	}
	if spec == nil || spec.Agent == nil {
		return errors.New("roomio: job setup returned no agent")
	}
	var reason error
	defer func() {
		if spec.OnEnd != nil {
			if reason == nil {
				reason = err
			}
			spec.OnEnd(reason)
		}
	}()

	room, err := Connect(ctx, job.URL, job.Token, spec.RoomOptions...)
	if err != nil {
		return err
	}
	defer room.Close()
	if _, err := room.WaitForUser(ctx); err != nil {
		reason = err
		if ctx.Err() != nil {
			reason = context.Cause(ctx)
			return nil
		}
		return roomEnd(room.Err())
	}

	var (
		mu       sync.Mutex
		closeEvt *session.CloseEvent
	)
	onEvent := func(e session.Event) {
		room.HandleEvent(e)
		if c, ok := e.(session.CloseEvent); ok {
			mu.Lock()
			closeEvt = &c
			mu.Unlock()
		}
		if spec.OnEvent != nil {
			spec.OnEvent(e)
		}
	}
	s, err := session.New(append(slices.Clone(spec.Options), session.WithEventHandler(onEvent))...)
	if err != nil {
		return err
	}
	if err := s.Start(ctx, spec.Agent, room.IO()); err != nil {
		return err
	}
	if spec.OnStart != nil {
		if err := spec.OnStart(ctx, s, room); err != nil {
			_ = s.Close()
			return fmt.Errorf("roomio: OnStart: %w", err)
		}
	}
	select {
	case <-s.Done():
	case <-room.Done():
	case <-ctx.Done():
	}
	if err := room.Err(); errors.Is(err, ErrUserLeft) {
		_ = s.CloseWith(session.CloseParticipantDisconnected, err)
	} else {
		_ = s.Close()
	}
	switch {
	case room.Err() != nil:
		reason = room.Err()
		return roomEnd(reason)
	case ctx.Err() != nil:
		reason = context.Cause(ctx)
		return nil
	}
	mu.Lock()
	defer mu.Unlock()
	if closeEvt != nil && closeEvt.Reason == session.CloseError {
		reason = closeEvt.Err
		return fmt.Errorf("roomio: session: %w", closeEvt.Err)
	}
	if closeEvt != nil {
		reason = fmt.Errorf("roomio: session closed: %s", closeEvt.Reason)
	}
	return nil
}

// roomEnd is the job's error for a room that ended: none when the user
// left.
func roomEnd(err error) error {
	if err == nil || errors.Is(err, ErrUserLeft) || errors.Is(err, ErrRoomClosed) || errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}
