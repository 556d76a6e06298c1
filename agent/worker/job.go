package worker

import (
	"errors"
	"log/slog"

	"github.com/livekit/protocol/livekit"
)

// Job is one assignment from the server: the room to join and the
// credentials to join it with.
type Job struct {
	// Info is the job as the server describes it: id, room, the participant
	// for publisher/participant jobs, dispatch metadata and attributes.
	Info *livekit.Job
	// URL of the LiveKit server to join; the server may name another node
	// than the one the worker is registered with.
	URL string
	// Token to join the room as the agent participant, kind AGENT, with the
	// identity, name, metadata and attributes given when the job was
	// accepted. It is a secret: Job's LogValue leaves it out.
	Token string
	// Participant is what the worker accepted the job with.
	Participant Acceptance
	// WorkerID is the id the server gave the worker that took the job.
	WorkerID string
}

// ID returns the job id.
func (j *Job) ID() string { return j.Info.GetId() }

// RoomName returns the name of the job's room.
func (j *Job) RoomName() string { return j.Info.GetRoom().GetName() }

// LogValue describes the job for logs, without the token.
func (j *Job) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", j.ID()),
		slog.String("room", j.RoomName()),
		slog.String("agent_name", j.Info.GetAgentName()),
		slog.String("identity", j.Participant.Identity),
		slog.String("url", j.URL),
	)
}

// Causes of a job's context being cancelled, for context.Cause.
var (
	// ErrJobTerminated: the server asked for the job to end (the room
	// closed, the dispatch was deleted, the agent was removed).
	ErrJobTerminated = errors.New("worker: job terminated by the server")
	// ErrDrainTimeout: Drain's context ended before the job did.
	ErrDrainTimeout = errors.New("worker: drain timed out")
	// ErrStopped: the context given to Run ended.
	ErrStopped = errors.New("worker: stopped")
)
