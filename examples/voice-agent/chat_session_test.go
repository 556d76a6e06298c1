package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestChatSessionAnswersEachLine(t *testing.T) {
	var out, errOut bytes.Buffer
	code := runChatSession(t.Context(), localResponder{}, "be brief", strings.NewReader("hello\n\nhow are you\n"), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit code %d, stderr: %s", code, errOut.String())
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"I heard you say: hello.", "I heard you say: how are you."}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
	}
}
