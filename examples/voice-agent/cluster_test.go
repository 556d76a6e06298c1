package main

// Scale-out on LiveKit's own cluster: two livekit-server nodes sharing one
// Redis, one `voice-agent start` process registered with each. Dispatch is
// the servers' job; this proves the worker is right for it.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

// The cluster's fixed loopback ports: apart from the CI server's 7880-7882
// that runs beside it. The keys are scripts/livekit-dev.yaml's.
const (
	clusterRedisAddr = "127.0.0.1:6391"
	clusterKey       = devKey
	clusterSecret    = devSecret
)

// devServerConfig is the repository's configuration of a loopback
// livekit-server, which scripts/test.sh and scripts/run.sh start; tests
// that run servers of their own start it with other ports
// (livekit-server's flags override the file).
const devServerConfig = "../../scripts/livekit-dev.yaml"

// startRedis runs Debian's redis-server on clusterRedisAddr, in memory.
func startRedis(t *testing.T) *proc {
	t.Helper()
	bin := needTool(t, "redis-server", "scripts/setup.sh setup_cluster")
	_, port, _ := net.SplitHostPort(clusterRedisAddr)
	p := startProc(t, "redis", os.Environ(), bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--protected-mode", "yes")
	if !waitFor(10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", clusterRedisAddr, time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := io.WriteString(c, "PING\r\n"); err != nil {
			return false
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		return strings.HasPrefix(line, "+PONG")
	}) {
		t.Fatalf("redis-server did not answer on %s:\n%s", clusterRedisAddr, p.out.String())
	}
	return p
}

// clusterNode is one livekit-server of the cluster.
type clusterNode struct {
	name string
	url  string
	proc *proc
}

// startNode runs a livekit-server node as scripts/livekit-dev.yaml
// configures one (loopback only, the dev keys) on ports of its own, sharing
// the cluster's Redis. Nodes on one host need distinct HTTP and RTC ports;
// node_ip may be the same.
func startNode(t *testing.T, name string, port, rtcUDP int) *clusterNode {
	t.Helper()
	bin := needTool(t, "livekit-server", "scripts/setup.sh")
	n := &clusterNode{name: name, url: fmt.Sprintf("ws://127.0.0.1:%d", port)}
	n.proc = startProc(t, "livekit-server "+name, os.Environ(), bin, "--config", devServerConfig,
		"--port", fmt.Sprint(port), "--udp-port", fmt.Sprint(rtcUDP),
		"--redis.address", clusterRedisAddr, "--logging.level", "info")
	if !waitFor(30*time.Second, func() bool {
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}) {
		t.Fatalf("livekit-server %s did not answer:\n%s", name, tail(n.proc.out.String(), 4000))
	}
	return n
}

// startWorkerProc runs `voice-agent start` registered with the node at url.
func startWorkerProc(t *testing.T, bin, name, url string, args ...string) *proc {
	t.Helper()
	env := append(os.Environ(), "LIVEKIT_URL="+url, "LIVEKIT_API_KEY="+clusterKey, "LIVEKIT_API_SECRET="+clusterSecret,
		// No gateway: the local responder answers (no user speaks here).
		"LIVEKIT_INFERENCE_URL=", "LIVEKIT_INFERENCE_API_KEY=", "LIVEKIT_INFERENCE_API_SECRET=")
	p := startProc(t, "worker "+name, env, bin, append([]string{"start"}, args...)...)
	p.waitLog(t, "worker: registered", 90*time.Second)
	return p
}

// agentsIn lists the agent participants of room.
func agentsIn(ctx context.Context, rooms *lksdk.RoomServiceClient, room string) ([]*livekit.ParticipantInfo, error) {
	res, err := rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
	if err != nil {
		return nil, err
	}
	var agents []*livekit.ParticipantInfo
	for _, p := range res.GetParticipants() {
		if p.GetKind() == livekit.ParticipantInfo_AGENT {
			agents = append(agents, p)
		}
	}
	return agents, nil
}

// servedBy returns the name of the worker whose log shows it started the
// job of room, or "".
func servedBy(room string, workers map[string]*proc) string {
	re := regexp.MustCompile(`"worker: job started".*job\.room=` + regexp.QuoteMeta(room) + `\b`)
	for name, p := range workers {
		if re.MatchString(p.out.String()) {
			return name
		}
	}
	return ""
}

// Two livekit-server nodes sharing Redis, a `voice-agent start` worker on
// each: a room created through either node gets exactly one agent, from
// either worker, and both workers take rooms; once one worker is killed,
// new rooms created through both nodes are all served by the other.
//
// The workers run with -max-jobs (load = jobs/max): the test is about
// dispatch, and on a CI machine busy with the rest of the suite a CPU load
// would make them full and the servers offer them nothing (the load is
// tested in agent/worker).
func TestClusterDispatch(t *testing.T) {
	needTool(t, "redis-server", "scripts/setup.sh setup_cluster")
	needTool(t, "livekit-server", "scripts/setup.sh")
	liveSpeech(t)
	bin := voiceAgentBinary(t)
	closeIdleHTTP(t)

	startRedis(t)
	nodes := []*clusterNode{startNode(t, "A", 7930, 7932), startNode(t, "B", 7940, 7942)}
	clients := map[string]*lksdk.RoomServiceClient{}
	for _, n := range nodes {
		clients[n.name] = lksdk.NewRoomServiceClient(n.url, clusterKey, clusterSecret)
	}
	workers := map[string]*proc{
		"w1": startWorkerProc(t, bin, "w1", nodes[0].url, "-max-jobs", "50", "-http-addr", "127.0.0.1:7935", "-log-level", "info"),
		"w2": startWorkerProc(t, bin, "w2", nodes[1].url, "-max-jobs", "50", "-http-addr", "127.0.0.1:7945", "-log-level", "info"),
	}
	nodeID := regexp.MustCompile(`"worker: registered".* node_id=(\S+)`)
	id1, id2 := nodeID.FindStringSubmatch(workers["w1"].out.String()), nodeID.FindStringSubmatch(workers["w2"].out.String())
	if id1 == nil || id2 == nil || id1[1] == id2[1] {
		t.Fatalf("workers registered with nodes %v and %v, want two different nodes", id1, id2)
	}
	// livekit-server answers a registration a moment before it adds the
	// worker to what dispatch reads.
	time.Sleep(time.Second)

	var created []string
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, room := range created {
			_, _ = clients["A"].DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: room})
		}
	})
	perNode := map[string]int{}
	perWorker := map[string]int{}
	cross := map[string]int{} // "node->worker"
	suffix := randomSuffix()
	// room creates a room through node, waits for its agent, checks there
	// is exactly one, and returns the worker that serves it.
	room := func(phase, node string, i int) string {
		t.Helper()
		name := fmt.Sprintf("cluster-%s-%s-%d-%s", phase, node, i, suffix)
		rooms := clients[node]
		if _, err := rooms.CreateRoom(t.Context(), &livekit.CreateRoomRequest{Name: name}); err != nil {
			t.Fatalf("CreateRoom %s through node %s: %v", name, node, err)
		}
		created = append(created, name)
		var agents []*livekit.ParticipantInfo
		if !waitFor(45*time.Second, func() bool {
			var err error
			agents, err = agentsIn(t.Context(), rooms, name)
			return err == nil && len(agents) > 0
		}) {
			t.Fatalf("room %s (through node %s) got no agent in 45 s\nw1:\n%s\nw2:\n%s", name, node,
				tail(workers["w1"].out.String(), 3000), tail(workers["w2"].out.String(), 3000))
		}
		// A second dispatch would show within moments of the first.
		time.Sleep(time.Second)
		agents, err := agentsIn(t.Context(), rooms, name)
		if err != nil {
			t.Fatal(err)
		}
		if len(agents) != 1 {
			t.Errorf("room %s has %d agents, want exactly 1", name, len(agents))
		}
		var w string
		waitFor(10*time.Second, func() bool { w = servedBy(name, workers); return w != "" })
		if w == "" {
			t.Errorf("room %s: no worker logged its job", name)
		}
		perNode[node]++
		perWorker[w]++
		cross[node+"->"+w]++
		return w
	}

	// Both nodes, alternately, until both workers have served rooms (at
	// least 4 rooms a node; the servers pick by load, so it takes few).
	for i := 0; i < 16; i++ {
		room("both", []string{"A", "B"}[i%2], i)
		if i >= 7 && perWorker["w1"] > 0 && perWorker["w2"] > 0 {
			break
		}
	}
	if perWorker["w1"] == 0 || perWorker["w2"] == 0 {
		t.Errorf("agents per worker %v: want both workers to serve rooms", perWorker)
	}
	t.Logf("both workers up: rooms per node %v, agents per worker %v, node->worker %v", perNode, perWorker, cross)

	// Kill w1 (registered with node A): every new room, through either
	// node, is w2's.
	workers["w1"].stop(syscall.SIGKILL)
	killed := workers["w1"]
	delete(workers, "w1")
	after := map[string]int{}
	for i := range 6 {
		node := []string{"A", "B"}[i%2]
		w := room("after-kill", node, i)
		after[node+"->"+w]++
		if w != "w2" {
			t.Errorf("room through node %s after w1 was killed served by %q, want w2", node, w)
		}
	}
	workers["w1"] = killed
	t.Logf("after w1 was killed: node->worker %v", after)
	t.Logf("dispatch counts: rooms per node %v, agents per worker %v", perNode, perWorker)

	// w2 drains on SIGTERM once its rooms are gone, and exits 0.
	for _, r := range created {
		_, _ = clients["B"].DeleteRoom(t.Context(), &livekit.DeleteRoomRequest{Room: r})
	}
	created = nil
	workers["w2"].stop(syscall.SIGTERM)
	if err := workers["w2"].err; err != nil {
		t.Errorf("w2 after SIGTERM: %v\n%s", err, tail(workers["w2"].out.String(), 3000))
	}
}
