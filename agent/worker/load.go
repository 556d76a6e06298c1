package worker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The default load is the CPU the worker's container uses, as LiveKit
// Agents measures it (utils/hw/cpu.py and worker.py's default load
// function): a sample every half second of the CPU time used against the
// CPUs the container may use (its cgroup quota), averaged over the last
// five samples, 2.5 s. A sample of a second or less on a busy machine swings
// between idle and saturated: a worker reporting that flapped between full
// and available, and livekit-server gave it no job whenever the sample it
// last saw was at or above 0.7.
const (
	cpuSampleInterval = 500 * time.Millisecond
	cpuSamples        = 5
	// cpuSettle is how long after a job starts the average shows all of
	// its cost: a whole window of samples taken after it started.
	cpuSettle = cpuSampleInterval * (cpuSamples + 1)
)

// The files the CPU use is read from, as LiveKit Agents reads them: the
// cgroup v2 files at the cgroup root (the container's own cgroup under a
// cgroup namespace), else the cgroup v1 cpu and cpuacct controllers, else
// the machine's /proc/stat.
const (
	cgroup2Stat    = "/sys/fs/cgroup/cpu.stat"
	cgroup2Max     = "/sys/fs/cgroup/cpu.max"
	cgroup1Usage   = "/sys/fs/cgroup/cpuacct/cpuacct.usage"
	cgroup1Quota   = "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"
	cgroup1Period  = "/sys/fs/cgroup/cpu/cpu.cfs_period_us"
	procStat       = "/proc/stat"
	procStatTickHz = 100 // USER_HZ: /proc/stat counts in 10 ms ticks
)

// cpuSource reads a counter of CPU time used and the capacity it is read
// against; a sample is the share of capacity used between two reads.
type cpuSource struct {
	name string
	// cpus is how many CPUs the container may use (its quota), or the
	// machine's where there is no quota.
	cpus float64
	// read returns CPU seconds used and capacity in CPU seconds, both
	// counted from any fixed origin; now is the time of the read.
	read func(now time.Time) (used, capacity float64, err error)
}

// detectCPUSource picks where the CPU use is read, in LiveKit Agents' order:
// cgroup v2, cgroup v1, then the whole machine. It reads a file system
// rooted at root ("" for the real one), so tests can give their own.
func detectCPUSource(root string, numCPU int) cpuSource {
	if _, err := os.Stat(root + cgroup2Stat); err == nil {
		cpus := float64(numCPU)
		if b, err := os.ReadFile(root + cgroup2Max); err == nil {
			if q, ok := parseCPUMax(b); ok {
				cpus = q
			}
		}
		return cpuSource{name: "cgroup v2", cpus: cpus, read: func(now time.Time) (float64, float64, error) {
			b, err := os.ReadFile(root + cgroup2Stat)
			if err != nil {
				return 0, 0, err
			}
			usec, err := parseCPUStatUsage(b)
			if err != nil {
				return 0, 0, err
			}
			return float64(usec) / 1e6, wallSeconds(now) * cpus, nil
		}}
	}
	if _, err := os.Stat(root + cgroup1Usage); err == nil {
		cpus := float64(numCPU)
		quota, qerr := readInt(root + cgroup1Quota)
		period, perr := readInt(root + cgroup1Period)
		if qerr == nil && perr == nil && quota > 0 && period > 0 {
			cpus = float64(quota) / float64(period)
		}
		return cpuSource{name: "cgroup v1", cpus: cpus, read: func(now time.Time) (float64, float64, error) {
			ns, err := readInt(root + cgroup1Usage)
			if err != nil {
				return 0, 0, err
			}
			return float64(ns) / 1e9, wallSeconds(now) * cpus, nil
		}}
	}
	return cpuSource{name: "/proc/stat", cpus: float64(numCPU), read: func(time.Time) (float64, float64, error) {
		f, err := os.Open(root + procStat)
		if err != nil {
			return 0, 0, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		if !sc.Scan() {
			return 0, 0, errors.New("worker: /proc/stat: empty")
		}
		total, idle, ok := parseCPULine(sc.Text())
		if !ok {
			return 0, 0, errors.New("worker: /proc/stat: no aggregate cpu line")
		}
		return float64(total-idle) / procStatTickHz, float64(total) / procStatTickHz, nil
	}}
}

// wallSeconds is t on a monotonic scale, in seconds (only differences are
// used).
var processStart = time.Now()

func wallSeconds(t time.Time) float64 { return t.Sub(processStart).Seconds() }

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
}

// parseCPUMax reads cgroup v2's cpu.max, "QUOTA PERIOD" in microseconds or
// "max PERIOD", as a number of CPUs; ok is false for "max" or a malformed
// file.
func parseCPUMax(b []byte) (cpus float64, ok bool) {
	f := strings.Fields(string(b))
	if len(f) == 0 || f[0] == "max" {
		return 0, false
	}
	quota, err := strconv.ParseFloat(f[0], 64)
	if err != nil || !(quota > 0) || math.IsInf(quota, 0) {
		return 0, false
	}
	period := 100000.0
	if len(f) > 1 {
		p, err := strconv.ParseFloat(f[1], 64)
		if err != nil || !(p > 0) || math.IsInf(p, 0) {
			return 0, false
		}
		period = p
	}
	cpus = quota / period
	if !(cpus > 0) || math.IsInf(cpus, 0) {
		return 0, false
	}
	return cpus, true
}

// parseCPUStatUsage reads usage_usec from cgroup v2's cpu.stat.
func parseCPUStatUsage(b []byte) (uint64, error) {
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "usage_usec" {
			return strconv.ParseUint(f[1], 10, 64)
		}
	}
	return 0, errors.New("worker: cpu.stat: no usage_usec")
}

// parseCPULine sums the aggregate "cpu" line of /proc/stat: user nice
// system idle iowait irq softirq steal (guest time is already counted in
// user); idle is idle plus iowait.
func parseCPULine(line string) (total, idle uint64, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, false
	}
	for i, f := range fields[1:] {
		if i >= 8 {
			break
		}
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil || total+v < total {
			return 0, 0, false
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return total, idle, true
}

// cpuLoad is the moving average of CPU samples. run takes the samples;
// load may be called from any goroutine.
type cpuLoad struct {
	src cpuSource

	mu          sync.Mutex
	samples     [cpuSamples]float64
	n, next     int
	used, capac float64 // the last read
	have        bool
}

func newCPULoad(src cpuSource) *cpuLoad { return &cpuLoad{src: src} }

// load returns the average of the samples taken so far (up to the last
// five), 0 before the first.
func (c *cpuLoad) load() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		return 0
	}
	var sum float64
	for i := range c.n {
		sum += c.samples[i]
	}
	return sum / float64(c.n)
}

// sample reads the counters and adds the share used since the last read.
// It returns the read error, if any (the sample is then skipped).
func (c *cpuLoad) sample(now time.Time) error {
	used, capac, err := c.src.read(now)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	prevUsed, prevCap, had := c.used, c.capac, c.have
	c.used, c.capac, c.have = used, capac, true
	if !had || capac <= prevCap || used < prevUsed {
		return nil
	}
	s := (used - prevUsed) / (capac - prevCap)
	s = min(max(s, 0), 1)
	c.samples[c.next] = s
	c.next = (c.next + 1) % cpuSamples
	c.n = min(c.n+1, cpuSamples)
	return nil
}

// run samples every cpuSampleInterval until ctx ends; errors go to
// onError (the worker logs the first).
func (c *cpuLoad) run(ctx context.Context, onError func(error)) {
	if err := c.sample(time.Now()); err != nil {
		onError(err)
	}
	t := time.NewTicker(cpuSampleInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if err := c.sample(now); err != nil {
				onError(err)
			}
		}
	}
}

// jobCostGuess is the load one job is assumed to add before any job's cost
// has been measured, as LiveKit Agents' AgentServer assumes: the threshold
// shared by as many jobs as the worker would keep processes warm for, one
// a CPU (its num_idle_processes in production).
func jobCostGuess(threshold, cpus float64) float64 {
	n := math.Ceil(cpus)
	if n < 1 || math.IsNaN(n) || math.IsInf(n, 0) {
		n = 1
	}
	return threshold / n
}

// defaultCPUSource is the source of this machine, found once.
var defaultCPUSource = sync.OnceValue(func() cpuSource { return detectCPUSource("", runtime.NumCPU()) })
