package inference

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// stream must release its connection and timers.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// net/http keeps idle keep-alive connections' reader/writer
		// goroutines until the transport closes them; tests close their
		// servers, which ends those goroutines shortly after.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}
