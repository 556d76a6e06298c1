package audio

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any of them leaves a goroutine
// running, as every package of this module checks.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
