// Package worker is the agent worker of LiveKit dispatch: it registers with a
// LiveKit server (or cluster) and runs the jobs the server assigns to it.
//
// Many worker processes, on many machines, may register with one server under
// the same agent name; the server spreads rooms over them, weighted by the
// load each reports. A Worker:
//
//   - connects to the server's /agent websocket with a token carrying the
//     agent grant and registers (job type, agent name, version);
//   - answers offers (availability requests): it declines when draining, at
//     WithMaxJobs, when its load is at or above the threshold, or when the
//     RequestFunc says no, and otherwise accepts with the participant
//     identity, name, metadata and attributes the agent will join with; a
//     decline for want of capacity is logged at warn;
//   - on assignment runs the EntryPoint on its own goroutine with a Job that
//     carries the job, the server URL and the token to join the room with,
//     reporting the job running, then succeeded or failed (a panic fails the
//     job, not the worker);
//   - cancels a job's context when the server terminates the job;
//   - reports its load and status every few seconds, at once when accepting
//     or ending a job changes them, and full at or above the threshold (0.7
//     by default, as in LiveKit Agents). The load is by default the CPU its
//     container uses against its quota, averaged over 2.5 s (load.go); each
//     accepted job counts until its cost can show in that measure (with a
//     load function of the user's, until it starts), so a burst of offers
//     cannot all be accepted on one low reading (status.go);
//   - pings the server and reconnects, with exponential backoff and jitter,
//     when the connection drops or the server falls silent; running jobs go
//     on meanwhile, and the statuses they could not report are sent after
//     the next registration;
//   - drains on Drain: reports itself full, takes no new jobs, lets the
//     running ones finish, cancels those still running when Drain's context
//     ends, then stops. RunAndDrain runs until a context ends (a SIGTERM)
//     and drains then;
//   - serves Handler, with WithHTTPAddr, while it runs: GET / is 200 while
//     registered and taking jobs and 503 otherwise (http.go); GET /metrics
//     is its Prometheus registry, its own per worker (metrics.go), with
//     what WithCollectors adds.
//
// DirectJob makes a Job for a named room without dispatch (the token signed
// locally), so the same entry point serves a development "connect" mode.
//
// The worker does not join rooms itself: the entry point does, with
// Job.URL and Job.Token (the agent package joins with server-sdk-go). The
// package imports neither agent nor session.
//
// Messages are the protobuf livekit.WorkerMessage and livekit.ServerMessage
// of github.com/livekit/protocol, in binary websocket frames.
package worker
