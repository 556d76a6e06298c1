package roomio

import (
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
)

// Only a user who left for good ends the room at once; any other drop is
// waited out (LiveKit Agents' DEFAULT_CLOSE_ON_DISCONNECT_REASONS).
func TestCloseReasons(t *testing.T) {
	for r := range livekit.DisconnectReason_name {
		reason := livekit.DisconnectReason(r)
		want := reason == livekit.DisconnectReason_CLIENT_INITIATED || reason == livekit.DisconnectReason_ROOM_DELETED ||
			reason == livekit.DisconnectReason_USER_REJECTED
		if got := closeReason(reason); got != want {
			t.Errorf("closeReason(%s) = %v, want %v", reason, got, want)
		}
	}
}

func TestUserReconnectTimeoutOption(t *testing.T) {
	var o options
	if err := WithUserReconnectTimeout(-time.Second)(&o); err == nil {
		t.Error("a negative timeout was accepted")
	}
	if err := WithUserReconnectTimeout(0)(&o); err != nil || o.userAway != 0 {
		t.Errorf("0: %v, %v", err, o.userAway)
	}
}
