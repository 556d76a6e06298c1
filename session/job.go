package session

import "context"

// JobInfo names the LiveKit job a piece of work runs for. Plugins that talk
// to LiveKit services send it along (the inference gateway takes it as
// headers).
type JobInfo struct {
	RoomID  string
	JobID   string
	AgentID string
}

type jobInfoKey struct{}

// WithJobInfo returns a context that carries info.
func WithJobInfo(ctx context.Context, info JobInfo) context.Context {
	return context.WithValue(ctx, jobInfoKey{}, info)
}

// JobInfoFrom returns the job info ctx carries, if any.
func JobInfoFrom(ctx context.Context) (JobInfo, bool) {
	info, ok := ctx.Value(jobInfoKey{}).(JobInfo)
	return info, ok
}
