package roomio_test

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The SDK logs every ICE state change; the tests check outcomes.
	lksdk.SetLogger(protologger.GetDiscardLogger())
	if os.Getenv(helperUserEnv) != "" {
		os.Exit(runHelperUser())
	}
	code := m.Run()
	// The SDK's API clients share http.DefaultTransport: its idle
	// keep-alive connections are not goroutines of ours.
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
