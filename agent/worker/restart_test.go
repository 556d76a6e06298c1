package worker

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
)

// privateServer is a livekit-server of the test's own, configured as
// scripts/livekit-dev.yaml configures the one scripts/test.sh starts, on
// free loopback ports, that the test may kill and start again.
type privateServer struct {
	bin  string
	args []string
	port int
	cmd  *exec.Cmd
}

// devServerConfig is the repository's configuration of a loopback
// livekit-server; livekit-server's flags override its ports.
const devServerConfig = "../../scripts/livekit-dev.yaml"

func newPrivateServer(t *testing.T) *privateServer {
	t.Helper()
	bin, err := exec.LookPath("livekit-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("livekit-server not on PATH (scripts/test.sh puts it there)")
		}
		t.Skip("livekit-server not on PATH")
	}
	ports := freePorts(t)
	p := &privateServer{bin: bin, port: ports[0], args: []string{"--config", devServerConfig,
		"--port", fmt.Sprint(ports[0]), "--udp-port", fmt.Sprint(ports[1])}}
	t.Cleanup(p.stop)
	return p
}

// freePorts returns a free TCP port for HTTP and a free UDP port for media
// (the configuration has no RTC-over-TCP port: livekit-server would bind it
// on every interface).
func freePorts(t *testing.T) [2]int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	return [2]int{l.Addr().(*net.TCPAddr).Port, u.LocalAddr().(*net.UDPAddr).Port}
}

func (p *privateServer) url() string { return fmt.Sprintf("ws://127.0.0.1:%d", p.port) }

func (p *privateServer) start(t *testing.T) {
	t.Helper()
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with the test binary, cleanup or not
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", p.port))
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("private livekit-server did not answer")
}

// stop kills the server, as a crash would.
func (p *privateServer) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

func TestLiveReconnectAfterServerRestart(t *testing.T) {
	testServer(t) // live tests only
	p := newPrivateServer(t)
	p.start(t)
	s := newLiveServer(p.url(), "devkey", "secret")
	name := uniqueName("go-restart")
	w := startLiveWorker(t, s, joinAndHold, WithAgentName(name), WithReconnectBackoff(50*time.Millisecond, time.Second))
	first := w.ID()

	room := uniqueName("before-restart")
	s.createRoom(t, room, &livekit.RoomAgentDispatch{AgentName: name})
	s.agentIn(t, room)

	p.stop()
	p.start(t)
	deadline := time.Now().Add(waitLimit)
	for id := w.ID(); id == "" || id == first; id = w.ID() {
		if time.Now().After(deadline) {
			t.Fatal("worker did not register with the restarted server")
		}
		time.Sleep(20 * time.Millisecond)
	}
	room2 := uniqueName("after-restart")
	s.createRoom(t, room2, &livekit.RoomAgentDispatch{AgentName: name})
	s.agentIn(t, room2)
}
