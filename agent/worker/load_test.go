package worker

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestParseCPULine(t *testing.T) {
	total, idle, ok := parseCPULine("cpu  10 1 5 80 4 0 0 0 3 0")
	if !ok || total != 100 || idle != 84 {
		t.Errorf("parseCPULine = %d, %d, %v; want 100, 84, true", total, idle, ok)
	}
	if _, _, ok := parseCPULine("cpu0 1 2 3 4"); ok {
		t.Error("per-core line accepted")
	}
}

func TestParseCPUMax(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"max 100000\n", 0, false},
		{"150000 100000\n", 1.5, true},
		{"50000\n", 0.5, true},
		{"", 0, false},
		{"x 100000", 0, false},
		{"100000 0", 0, false},
		{"-5 100000", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseCPUMax([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseCPUMax(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseCPUStatUsage(t *testing.T) {
	got, err := parseCPUStatUsage([]byte("usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n"))
	if err != nil || got != 1234567 {
		t.Errorf("parseCPUStatUsage = %d, %v; want 1234567", got, err)
	}
	if _, err := parseCPUStatUsage([]byte("user_usec 1\n")); err == nil {
		t.Error("cpu.stat without usage_usec: nil error")
	}
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The CPU use is read against the container's quota, not the machine's
// CPUs: a container allowed half a CPU that uses 0.4 CPU-seconds a second
// is 80 % loaded, on a machine of any size. Where cgroup v2 is absent,
// cgroup v1's controllers; where neither is, the machine's /proc/stat.
func TestCPULoadReadAgainstContainerQuota(t *testing.T) {
	t0 := time.Now()
	tests := []struct {
		name     string
		files    func(used time.Duration) map[string]string
		wantName string
		wantCPUs float64
	}{
		{"cgroup v2 quota", func(used time.Duration) map[string]string {
			return map[string]string{
				cgroup2Stat: fmt.Sprintf("usage_usec %d\nuser_usec 0\n", used.Microseconds()),
				cgroup2Max:  "50000 100000\n",
			}
		}, "cgroup v2", 0.5},
		{"cgroup v1 quota", func(used time.Duration) map[string]string {
			return map[string]string{
				cgroup1Usage:  fmt.Sprint(used.Nanoseconds()),
				cgroup1Quota:  "50000",
				cgroup1Period: "100000",
			}
		}, "cgroup v1", 0.5},
		{"cgroup v2 without quota", func(used time.Duration) map[string]string {
			return map[string]string{
				cgroup2Stat: fmt.Sprintf("usage_usec %d\n", used.Microseconds()),
				cgroup2Max:  "max 100000\n",
			}
		}, "cgroup v2", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tt.files(10*time.Second))
			src := detectCPUSource(root, 8)
			if src.name != tt.wantName || src.cpus != tt.wantCPUs {
				t.Fatalf("source %s with %v CPUs, want %s with %v", src.name, src.cpus, tt.wantName, tt.wantCPUs)
			}
			c := newCPULoad(src)
			used := 10 * time.Second
			for i := range 6 {
				if err := c.sample(t0.Add(time.Duration(i) * cpuSampleInterval)); err != nil {
					t.Fatal(err)
				}
				// 0.4 CPU-seconds per second of wall time.
				used += time.Duration(0.4 * float64(cpuSampleInterval))
				writeFiles(t, root, tt.files(used))
			}
			want := min(0.4/tt.wantCPUs, 1)
			if got := c.load(); math.Abs(got-want) > 1e-3 {
				t.Errorf("load %v, want %v (0.4 CPU over %v CPUs)", got, want, tt.wantCPUs)
			}
		})
	}
	t.Run("/proc/stat", func(t *testing.T) {
		root := t.TempDir()
		writeFiles(t, root, map[string]string{procStat: "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n"})
		src := detectCPUSource(root, 8)
		c := newCPULoad(src)
		if err := c.sample(t0); err != nil {
			t.Fatal(err)
		}
		// 100 ticks: 30 busy, 70 idle.
		writeFiles(t, root, map[string]string{procStat: "cpu  115 0 115 770 100 0 0 0 0 0\n"})
		if err := c.sample(t0.Add(cpuSampleInterval)); err != nil {
			t.Fatal(err)
		}
		if got := c.load(); src.name != "/proc/stat" || math.Abs(got-0.3) > 1e-9 {
			t.Errorf("%s load %v, want /proc/stat 0.3", src.name, got)
		}
	})
}

// fakeCPU is a CPU whose use the test sets: busy is the share of 2 CPUs
// used from now on.
type fakeCPU struct {
	mu   sync.Mutex
	at   time.Time
	used float64
	busy float64
}

func (f *fakeCPU) set(busy float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance(time.Now())
	f.busy = busy
}

func (f *fakeCPU) advance(now time.Time) {
	if !f.at.IsZero() {
		f.used += now.Sub(f.at).Seconds() * 2 * f.busy
	}
	f.at = now
}

func (f *fakeCPU) source() cpuSource {
	return cpuSource{name: "fake", cpus: 2, read: func(now time.Time) (float64, float64, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.advance(now)
		return f.used, wallSeconds(now) * 2, nil
	}}
}

// On a machine at 30 %, a one-second burst at 100 % is not a full worker:
// the load is averaged over 2.5 s, so the burst reads at most 0.58 where a
// one-second window read 1.0 and the worker flapped to full (and
// livekit-server, seeing 1.0 >= 0.7, gave it no job). A lasting 80 % does
// read as full.
func TestCPULoadIsAveragedOverTwoAndAHalfSeconds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeCPU{busy: 0.3}
		c := newCPULoad(f.source())
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { // exits when ctx is cancelled
			defer close(done)
			c.run(ctx, func(err error) { t.Error(err) })
		}()
		peak := 0.0
		watch := func(d time.Duration) {
			for end := time.Now().Add(d); time.Now().Before(end); {
				time.Sleep(100 * time.Millisecond)
				peak = max(peak, c.load())
			}
		}
		watch(5 * time.Second)
		if l := c.load(); math.Abs(l-0.3) > 1e-6 {
			t.Errorf("steady load %v, want 0.3", l)
		}
		f.set(1)
		watch(time.Second)
		f.set(0.3)
		watch(5 * time.Second)
		if peak >= DefaultLoadThreshold || peak < 0.55 {
			t.Errorf("a 1 s burst to 100%% on a 30%% machine peaked at load %.3f, want about 0.58, below %v", peak, DefaultLoadThreshold)
		}
		f.set(0.8)
		watch(3 * time.Second)
		if l := c.load(); math.Abs(l-0.8) > 1e-6 {
			t.Errorf("lasting load %v, want 0.8", l)
		}
		cancel()
		<-done
	})
}

func TestJobCostGuess(t *testing.T) {
	tests := []struct{ threshold, cpus, want float64 }{
		{0.7, 2, 0.35},
		{0.7, 0.5, 0.7},
		{0.7, 16, 0.04375}, // no cap at four: AgentServer warms a process a CPU
		{0.8, 1.5, 0.4},
	}
	for _, tt := range tests {
		if got := jobCostGuess(tt.threshold, tt.cpus); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("jobCostGuess(%v, %v) = %v, want %v", tt.threshold, tt.cpus, got, tt.want)
		}
	}
}

func FuzzCPUFiles(f *testing.F) {
	for _, s := range []string{"max 100000\n", "150000 100000", "usage_usec 12\n", "cpu  1 2 3 4 5 6 7 8 9 10", "1e400 1", "NaN 1", "5 -Inf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if cpus, ok := parseCPUMax([]byte(s)); ok && (cpus <= 0 || math.IsInf(cpus, 0) || math.IsNaN(cpus)) {
			t.Errorf("parseCPUMax(%q) = %v, ok", s, cpus)
		}
		_, _ = parseCPUStatUsage([]byte(s))
		if total, idle, ok := parseCPULine(s); ok && idle > total {
			t.Errorf("parseCPULine(%q): idle %d > total %d", s, idle, total)
		}
	})
}
