package worker

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cpuSampler measures the machine's CPU use over windows of at least
// minCPUWindow, from /proc/stat. Where that file cannot be read (not Linux)
// it reports 0, so the load threshold never marks the worker full: give
// WithLoad or WithMaxJobs there.
type cpuSampler struct {
	mu          sync.Mutex
	now         func() time.Time
	at          time.Time // when total and idle were read
	total, idle uint64
	ok          bool
	last        float64 // the load of the last whole window
}

// minCPUWindow is the shortest window a load is computed over. /proc/stat
// counts in 10 ms ticks, so a window of a few ticks (the worker reports its
// status right after registering, moments after the sampler was made) reads
// as 0 or 1 at random: a worker that reported itself full then got no
// dispatch. Until a whole window has passed, the previous load (at first 0)
// stands.
const minCPUWindow = time.Second

func newCPUSampler() *cpuSampler {
	c := &cpuSampler{now: time.Now}
	c.at = c.now()
	c.total, c.idle, c.ok = readProcStat()
	return c
}

// load returns the fraction of CPU time spent busy over the last window.
func (c *cpuSampler) load() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.ok && now.Sub(c.at) < minCPUWindow {
		return c.last
	}
	total, idle, ok := readProcStat()
	if !ok {
		return 0
	}
	prevTotal, prevIdle, prevOK := c.total, c.idle, c.ok
	c.at, c.total, c.idle, c.ok = now, total, idle, true
	if !prevOK || total <= prevTotal || idle < prevIdle {
		return c.last
	}
	dt, di := float64(total-prevTotal), float64(idle-prevIdle)
	if di > dt {
		return c.last
	}
	c.last = 1 - di/dt
	return c.last
}

// readProcStat sums the aggregate "cpu" line: user nice system idle iowait
// irq softirq steal (guest time is already counted in user).
func readProcStat() (total, idle uint64, ok bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0, false
	}
	return parseCPULine(sc.Text())
}

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
		if err != nil {
			return 0, 0, false
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return total, idle, true
}
