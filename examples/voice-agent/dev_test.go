package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

// loadMachine keeps every CPU of the machine busy until the test ends, at
// the lowest priority: the machine reads as fully busy (to /proc/stat and
// the cgroup counters alike) while the test and the rest of the suite
// still get the CPU they ask for.
func loadMachine(t *testing.T) {
	t.Helper()
	for i := range runtime.NumCPU() {
		startProc(t, fmt.Sprintf("busy loop %d", i), os.Environ(), "nice", "-n", "19", "sh", "-c", "while :; do :; done")
	}
}

// machineBusy measures the share of the machine's CPU time spent busy over d.
func machineBusy(d time.Duration) float64 {
	read := func() (busy, total float64) {
		f, err := os.Open("/proc/stat")
		if err != nil {
			return 0, 0
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Scan()
		fields := strings.Fields(sc.Text())
		for i, s := range fields[1:min(len(fields), 9)] {
			var v float64
			fmt.Sscan(s, &v)
			total += v
			if i != 3 && i != 4 { // idle, iowait
				busy += v
			}
		}
		return busy, total
	}
	b0, t0 := read()
	time.Sleep(d)
	b1, t1 := read()
	if t1 <= t0 {
		return 0
	}
	return (b1 - b0) / (t1 - t0)
}

// On a loaded machine a burst of 30 rooms all get an agent from `dev`.
// `start` reads the CPU: on this machine its load is at or above 0.7, it is
// full, and livekit-server, which offers no job to a worker reporting 0.7
// or more whatever its threshold, leaves the rooms without an agent (0 of
// 30 before dev existed). dev reports its load by jobs, never by CPU, and
// takes every job.
func TestLiveDevBurstOnLoadedMachineAllGetAnAgent(t *testing.T) {
	url, key, secret := liveServer(t)
	closeIdleHTTP(t)
	loadMachine(t)
	busy := machineBusy(time.Second)
	if busy < 0.8 {
		t.Logf("the machine reads only %.0f%% busy under the busy loops", busy*100)
	}
	name := "voice-agent-dev-" + randomSuffix()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := &syncBuffer{}
	code := make(chan int, 1)
	go func() { // exits when ctx is cancelled: dev stops its jobs at once
		code <- run(ctx, []string{"dev", "-agent-name", name, "-log-level", "info", "-http-addr", ""}, nil, logs, logs, envOf(map[string]string{
			"LIVEKIT_URL": url, "LIVEKIT_API_KEY": key, "LIVEKIT_API_SECRET": secret,
		}))
	}()
	exited := false
	defer func() {
		if !exited {
			cancel()
			<-code
		}
	}()
	if !waitFor(60*time.Second, func() bool { return strings.Contains(logs.String(), "worker: registered") }) {
		t.Fatalf("dev did not register; log:\n%s", logs.String())
	}
	time.Sleep(time.Second) // livekit-server adds a worker to dispatch a moment after answering its registration

	const n = 30
	rooms := lksdk.NewRoomServiceClient(url, key, secret)
	names := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		names[i] = fmt.Sprintf("%s-%02d", name, i)
		wg.Go(func() {
			if _, err := rooms.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: names[i], Agents: []*livekit.RoomAgentDispatch{{AgentName: name}}}); err != nil {
				t.Errorf("CreateRoom %s: %v", names[i], err)
			}
		})
	}
	wg.Wait()
	defer func() {
		c, cl := context.WithTimeout(context.Background(), 20*time.Second)
		defer cl()
		for _, r := range names {
			_, _ = rooms.DeleteRoom(c, &livekit.DeleteRoomRequest{Room: r})
		}
	}()

	agents := make([]int, n)
	served := func() int {
		k := 0
		for i, r := range names {
			if agents[i] == 0 {
				a, err := agentsIn(ctx, rooms, r)
				if err == nil {
					agents[i] = len(a)
				}
			}
			if agents[i] > 0 {
				k++
			}
		}
		return k
	}
	start := time.Now()
	waitFor(90*time.Second, func() bool { return served() == n })
	time.Sleep(time.Second)
	for i, r := range names { // a second agent would show by now
		if a, err := agentsIn(ctx, rooms, r); err == nil {
			agents[i] = len(a)
		}
	}
	got, doubles := 0, 0
	for _, a := range agents {
		if a > 0 {
			got++
		}
		if a > 1 {
			doubles++
		}
	}
	t.Logf("dev on a machine %.0f%% busy: %d of %d rooms got an agent within %v", busy*100, got, n, time.Since(start).Round(100*time.Millisecond))
	if got != n || doubles != 0 {
		t.Errorf("%d of %d rooms got an agent, %d got more than one; want all %d exactly one\nlog:\n%s", got, n, doubles, n, tail(logs.String(), 6000))
	}

	cancel()
	select {
	case c := <-code:
		exited = true
		if c != 0 {
			t.Errorf("dev exit code %d after SIGINT; log:\n%s", c, tail(logs.String(), 4000))
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("dev did not stop after SIGINT; log:\n%s", tail(logs.String(), 4000))
	}
}

// A second worker on the machine meets the first's health and metrics
// address: the error says which flag moves it.
func TestHTTPAddrTakenNamesTheFlag(t *testing.T) {
	liveSpeech(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out syncBuffer
	code := run(t.Context(), []string{"dev", "-http-addr", l.Addr().String()}, nil, &out, &out, envOf(map[string]string{
		"LIVEKIT_URL": "ws://127.0.0.1:9", "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s",
	}))
	if code != 1 || !strings.Contains(out.String(), "-http-addr") || !strings.Contains(out.String(), "address already in use") {
		t.Errorf("exit %d, output:\n%s\nwant 1 and a line naming -http-addr", code, out.String())
	}
}

// dev has no drain and no load threshold to set (it stops at once and takes
// every job); it checks its flags and credentials like start.
func TestDevAndStartFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want int
		says string
	}{
		{[]string{"dev", "-drain-timeout", "1s"}, 2, "flag provided but not defined: -drain-timeout"},
		{[]string{"dev", "-load-threshold", "0.9"}, 2, "flag provided but not defined: -load-threshold"},
		{[]string{"dev", "-log-level", "loud"}, 2, "-log-level"},
		{[]string{"start", "-http-addr"}, 2, "flag needs an argument: -http-addr"},
		{[]string{"dev"}, 2, "LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set"},
	} {
		var out syncBuffer
		code := run(t.Context(), tt.args, nil, &out, &out, envOf(nil))
		if code != tt.want || !strings.Contains(out.String(), tt.says) {
			t.Errorf("voice-agent %v: exit %d, output %q; want %d saying %q", tt.args, code, out.String(), tt.want, tt.says)
		}
	}
}
