package worker

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
)

// cpuSampler measures the machine's CPU use between two calls from
// /proc/stat. Where that file cannot be read (not Linux) it reports 0, so the
// load threshold never marks the worker full: give WithLoad or WithMaxJobs
// there.
type cpuSampler struct {
	mu          sync.Mutex
	total, idle uint64
	ok          bool
}

func newCPUSampler() *cpuSampler {
	c := &cpuSampler{}
	c.total, c.idle, c.ok = readProcStat()
	return c
}

// load returns the fraction of CPU time spent busy since the previous call.
func (c *cpuSampler) load() float64 {
	total, idle, ok := readProcStat()
	if !ok {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	prevTotal, prevIdle, prevOK := c.total, c.idle, c.ok
	c.total, c.idle, c.ok = total, idle, true
	if !prevOK || total <= prevTotal || idle < prevIdle {
		return 0
	}
	dt, di := float64(total-prevTotal), float64(idle-prevIdle)
	if di > dt {
		return 0
	}
	return 1 - di/dt
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
