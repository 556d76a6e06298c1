package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"github.com/prometheus/client_golang/prometheus"
)

// EntryPoint runs one job. It is called on its own goroutine once the server
// has assigned the job to this worker; the job ends when it returns. A nil
// error reports the job as succeeded, an error or a panic as failed. ctx is
// cancelled when the server terminates the job, when a drain times out, or
// when the worker stops; the cause (context.Cause) says which.
type EntryPoint func(ctx context.Context, job *Job) error

// Acceptance is how a worker joins the room of a job it accepts: the server
// signs the job's token with these values.
type Acceptance struct {
	// Identity of the agent participant; "agent-<job id>" when empty.
	Identity   string
	Name       string
	Metadata   string
	Attributes map[string]string
}

// RequestFunc decides whether this worker takes a job the server offers.
// Returning an error declines the job (the server then asks another worker);
// return ErrRejected to decline without a warning in the log. It runs before
// the job is assigned, so it should answer quickly: the server waits about
// ten seconds for the answer.
type RequestFunc func(ctx context.Context, job *livekit.Job) (Acceptance, error)

// ErrRejected is returned by a RequestFunc to decline a job on purpose.
var ErrRejected = errors.New("worker: job rejected")

// Option configures a Worker.
type Option func(*config) error

type config struct {
	agentName         string
	namespace         *string
	version           string
	jobType           livekit.JobType
	permissions       *livekit.ParticipantPermission
	request           RequestFunc
	load              func() float64
	loadThreshold     float64
	maxJobs           int
	statusInterval    time.Duration
	pingInterval      time.Duration
	pingTimeout       time.Duration
	registerTimeout   time.Duration
	assignmentTimeout time.Duration
	backoffMin        time.Duration
	backoffMax        time.Duration
	maxRetries        int
	logger            *slog.Logger
	dialer            *websocket.Dialer
	httpAddr          string
	collectors        []prometheus.Collector
}

// Defaults. The load threshold and status interval follow LiveKit Agents.
const (
	DefaultLoadThreshold     = 0.7
	DefaultStatusInterval    = 2500 * time.Millisecond
	DefaultPingInterval      = 10 * time.Second
	DefaultPingTimeout       = 30 * time.Second
	DefaultRegisterTimeout   = 10 * time.Second
	DefaultAssignmentTimeout = 7500 * time.Millisecond
	DefaultBackoffMin        = 500 * time.Millisecond
	DefaultBackoffMax        = 15 * time.Second
)

func defaultConfig() config {
	return config{
		jobType:           livekit.JobType_JT_ROOM,
		loadThreshold:     DefaultLoadThreshold,
		statusInterval:    DefaultStatusInterval,
		pingInterval:      DefaultPingInterval,
		pingTimeout:       DefaultPingTimeout,
		registerTimeout:   DefaultRegisterTimeout,
		assignmentTimeout: DefaultAssignmentTimeout,
		backoffMin:        DefaultBackoffMin,
		backoffMax:        DefaultBackoffMax,
	}
}

// WithAgentName registers the worker under a name for explicit dispatch
// (AgentDispatchService, or the agents listed in a room's configuration or a
// participant's token). A named worker gets no automatic dispatch: only
// workers with the empty name are sent a job for every new room.
func WithAgentName(name string) Option {
	return func(c *config) error { c.agentName = name; return nil }
}

// WithNamespace sets the registration namespace (deprecated by LiveKit,
// kept for servers that still route on it).
func WithNamespace(ns string) Option {
	return func(c *config) error { c.namespace = &ns; return nil }
}

// WithVersion sets the version string the worker registers with.
func WithVersion(v string) Option {
	return func(c *config) error { c.version = v; return nil }
}

// WithJobType sets which jobs the worker takes: JT_ROOM (default, one job
// per room), JT_PUBLISHER or JT_PARTICIPANT (one per participant).
func WithJobType(t livekit.JobType) Option {
	return func(c *config) error {
		if _, ok := livekit.JobType_name[int32(t)]; !ok {
			return fmt.Errorf("worker: job type: unknown value %d", t)
		}
		c.jobType = t
		return nil
	}
}

// WithPermissions sets the permissions of the agent participant in every
// job's token. Nil (the default) lets the server choose: subscribe, publish,
// publish data, update own metadata.
func WithPermissions(p *livekit.ParticipantPermission) Option {
	return func(c *config) error { c.permissions = p; return nil }
}

// WithRequestFunc sets who decides on job offers. The default accepts every
// job while the worker has room for it, as "agent-<job id>".
func WithRequestFunc(f RequestFunc) Option {
	return func(c *config) error { c.request = f; return nil }
}

// WithLoad sets the load function, called every status interval and before
// each offer is answered; it should return a value in [0, 1] that shows a
// job from the moment the job starts (as LiveKit Agents expects of its
// load_fnc): the worker reserves capacity for an accepted job only until it
// starts. The default is jobs/max when WithMaxJobs is set, and otherwise
// the CPU the worker's container uses against its CPU quota (cgroup v2 or
// v1, else the machine's /proc/stat), sampled every 0.5 s and averaged over
// 2.5 s, as LiveKit Agents measures it; that average takes a job in over
// 3 s, and the reservation shrinks with it (see WithLoadThreshold).
func WithLoad(f func() float64) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("worker: load: nil function")
		}
		c.load = f
		return nil
	}
}

// WithLoadThreshold sets the load at or above which the worker reports itself
// full and declines offers (default 0.7). Until a job's cost shows in the
// measured load, the job counts as the measured cost of the running jobs
// (or, before any, the threshold over the CPUs, as LiveKit Agents guesses
// it), so a burst of offers cannot all be accepted on one low measure: a
// cold worker on 2 CPUs takes 2 jobs of a burst. Use math.Inf(1) to never
// be full by load (a development worker).
//
// livekit-server offers no job to a worker whose reported load is at or
// above its own target load (ServerTargetLoad, 0.7 by default), whatever
// the worker's threshold or status: a threshold above 0.7 only changes the
// status the worker reports, and the worker logs a warning when it reports
// itself available at or above 0.7.
func WithLoadThreshold(t float64) Option {
	return func(c *config) error {
		if math.IsNaN(t) || t <= 0 {
			return fmt.Errorf("worker: load threshold: must be > 0, got %v", t)
		}
		c.loadThreshold = t
		return nil
	}
}

// WithMaxJobs caps the number of jobs running at once (0, the default, means
// no cap). With the default load function the load is then jobs/max, so the
// load threshold applies to it too: with max 10 and threshold 0.7 the worker
// reports itself full at 7 jobs.
func WithMaxJobs(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("worker: max jobs: must be >= 0, got %d", n)
		}
		c.maxJobs = n
		return nil
	}
}

// WithStatusInterval sets how often the worker reports its load and status.
func WithStatusInterval(d time.Duration) Option {
	return positiveDuration("status interval", d, func(c *config) { c.statusInterval = d })
}

// WithPing sets how often the worker pings the server and how long it waits
// without hearing anything from the server before it drops the connection
// and reconnects.
func WithPing(interval, timeout time.Duration) Option {
	return func(c *config) error {
		if interval <= 0 || timeout <= 0 {
			return fmt.Errorf("worker: ping: interval and timeout must be > 0, got %v and %v", interval, timeout)
		}
		if timeout <= interval {
			return fmt.Errorf("worker: ping: timeout %v must exceed interval %v", timeout, interval)
		}
		c.pingInterval, c.pingTimeout = interval, timeout
		return nil
	}
}

// WithRegisterTimeout bounds the wait for the server's answer to registration.
func WithRegisterTimeout(d time.Duration) Option {
	return positiveDuration("register timeout", d, func(c *config) { c.registerTimeout = d })
}

// WithAssignmentTimeout bounds the wait for an assignment after accepting an
// offer; the server's own limit is about ten seconds.
func WithAssignmentTimeout(d time.Duration) Option {
	return positiveDuration("assignment timeout", d, func(c *config) { c.assignmentTimeout = d })
}

// WithReconnectBackoff sets the first and the largest wait between connection
// attempts. Waits double from min up to max, with jitter.
func WithReconnectBackoff(min, max time.Duration) Option {
	return func(c *config) error {
		if min <= 0 || max < min {
			return fmt.Errorf("worker: reconnect backoff: need 0 < min <= max, got %v and %v", min, max)
		}
		c.backoffMin, c.backoffMax = min, max
		return nil
	}
}

// WithMaxRetries makes Run give up after n failed connection attempts in a
// row (0, the default, retries until the context ends). A connection lost
// sooner than the backoff maximum after registering counts as failed.
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("worker: max retries: must be >= 0, got %d", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { c.logger = l; return nil }
}

// WithHTTPAddr makes Run serve Handler (the health check at / and the
// metrics at /metrics) on addr, host:port, for as long as it runs; port 0
// picks a free port (see HTTPAddr). Empty, the default, serves nothing.
func WithHTTPAddr(addr string) Option {
	return func(c *config) error { c.httpAddr = addr; return nil }
}

// WithCollectors adds Prometheus collectors to the worker's registry, so
// that /metrics serves them with the worker's own metrics: the sessions'
// (agent/telemetry's SessionMetrics), or the program's. Each worker has a
// registry of its own, with the Go runtime and process collectors; the
// global registry is never used.
func WithCollectors(cs ...prometheus.Collector) Option {
	return func(c *config) error {
		for _, col := range cs {
			if col == nil {
				return errors.New("worker: collectors: nil collector")
			}
		}
		c.collectors = append(c.collectors, cs...)
		return nil
	}
}

// WithDialer sets the websocket dialer (proxy, TLS configuration, net dialer).
func WithDialer(d *websocket.Dialer) Option {
	return func(c *config) error { c.dialer = d; return nil }
}

func positiveDuration(name string, d time.Duration, set func(*config)) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("worker: %s: must be > 0, got %v", name, d)
		}
		set(c)
		return nil
	}
}
