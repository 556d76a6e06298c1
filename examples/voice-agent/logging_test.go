package main

import (
	"bytes"
	"encoding/json"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/livekit/protocol/auth"
	protologger "github.com/livekit/protocol/logger"
	"github.com/livekit/protocol/logger/pionlogger"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

type logLine struct {
	Level, Msg, Logger string
	Error              string
}

// jsonLines parses every line of a JSON log, failing on one that is not
// JSON: one stream, one format.
func jsonLines(t *testing.T, out string) []logLine {
	t.Helper()
	var lines []logLine
	for l := range strings.Lines(out) {
		var ll logLine
		if err := json.Unmarshal([]byte(l), &ll); err != nil {
			t.Fatalf("a log line is not JSON: %q (%v)", l, err)
		}
		lines = append(lines, ll)
	}
	return lines
}

// What server-sdk-go, livekit/protocol and pion log comes out through the
// program's handler, at the level it was logged at: pion's Trace and Debug
// as DEBUG, Warn as WARN (the logr adapter would make it INFO), Error as
// ERROR; and below -log-level, not at all.
func TestSDKLogsFollowTheProgramsLevelAndFormat(t *testing.T) {
	var buf bytes.Buffer
	if _, err := openLog(&buf, "debug", "json"); err != nil {
		t.Fatal(err)
	}
	// server-sdk-go builds pion's loggers exactly so from its own logger;
	// protocol's package logger is the one agent/roomio hands its tracks.
	ice := pionlogger.NewLoggerFactory(protologger.GetLogger()).NewLogger("ice")
	ice.Trace("trace line")
	ice.Debugf("debug line %d", 1)
	ice.Info("info line")
	ice.Warn("warn line")
	ice.Error("error line")
	protologger.GetLogger().Warnw("sdk warning", errString("boom"))
	log.Print("standard log line")
	got := jsonLines(t, buf.String())
	want := []logLine{
		{Level: "DEBUG", Msg: "trace line", Logger: "livekit.pion.ice"},
		{Level: "DEBUG", Msg: "debug line 1", Logger: "livekit.pion.ice"},
		{Level: "INFO", Msg: "info line", Logger: "livekit.pion.ice"},
		{Level: "WARN", Msg: "warn line", Logger: "livekit.pion.ice"},
		{Level: "ERROR", Msg: "error line", Logger: "livekit.pion.ice"},
		{Level: "WARN", Msg: "sdk warning", Logger: "livekit", Error: "boom"},
		{Level: "INFO", Msg: "standard log line"},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("log lines (-got +want):\n%s", diff)
	}

	buf.Reset()
	if _, err := openLog(&buf, "info", "text"); err != nil {
		t.Fatal(err)
	}
	ice = pionlogger.NewLoggerFactory(protologger.GetLogger()).NewLogger("ice")
	ice.Debug("hidden")
	ice.Warn("shown")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, `level=WARN msg=shown logger=livekit.pion.ice`) {
		t.Errorf("at info, text:\n%s\nwant the warning as a text line and no debug line", out)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestLogFlagsAreChecked(t *testing.T) {
	for _, args := range [][]string{{"connect", "-room", "r", "-log-format", "xml"}, {"start", "-log-level", "loud"}} {
		var out, errOut bytes.Buffer
		if code := run(t.Context(), args, nil, &out, &errOut, envOf(nil)); code != 2 || !strings.Contains(errOut.String(), args[len(args)-2]) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming the flag", args, code, errOut.String())
		}
	}
}

// A real connection's debug lines from server-sdk-go and pion come out as
// JSON through the program's handler with -log-format json: none of the
// SDK's own `"level"=0` lines in between.
func TestLiveSDKDebugLinesAreJSON(t *testing.T) {
	url, key, secret := liveServer(t)
	var buf syncBuffer
	if _, err := openLog(&buf, "debug", "json"); err != nil {
		t.Fatal(err)
	}
	tok, err := auth.NewAccessToken(key, secret).SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: "log-test-" + randomSuffix()}).
		SetIdentity("log-test").SetValidFor(time.Minute).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	room := lksdk.NewRoom(lksdk.NewRoomCallback())
	if err := room.JoinWithToken(url, tok); err != nil {
		t.Fatal(err)
	}
	room.Disconnect()
	var sdk, pion int
	for _, l := range jsonLines(t, buf.String()) {
		if l.Level == "DEBUG" && l.Logger == "lksdk" {
			sdk++
		}
		if l.Level == "DEBUG" && strings.HasPrefix(l.Logger, "lksdk.pion.") {
			pion++
		}
	}
	if sdk == 0 || pion == 0 {
		t.Errorf("debug lines from server-sdk-go %d, from pion %d; want both, as JSON:\n%s", sdk, pion, buf.String())
	}
	t.Logf("%d server-sdk-go and %d pion debug lines, all JSON", sdk, pion)
}
