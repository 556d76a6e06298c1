package inference

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// stream must release its connection and timers. (Tests close their
// servers and their transports' idle connections, so no net/http goroutine
// needs to be ignored.)
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
