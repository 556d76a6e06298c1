#!/usr/bin/env bash
# The README's run command: installs what the voice agent needs to build
# (the cgo speech and Opus libraries, see scripts/setup.sh), then runs
# examples/voice-agent with the given arguments.
#
# With no arguments it runs the demo on this machine: a local
# livekit-server (127.0.0.1 only, scripts/livekit-dev.yaml; started only if
# none answers on 127.0.0.1:7880, and stopped again on exit), the agent,
# and a simulated user that asks questions aloud in a room.
#
# `web [flags]` starts the same server and the agent, and serves a page on
# http://127.0.0.1:8080 (-addr) to talk to the agent from a browser.
#
# Caches live outside the repo, in $LKGO_CACHE (default ~/.cache/livekit-go-agents).
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${LKGO_CACHE:-$HOME/.cache/livekit-go-agents}
export PATH="$cache/bin:$PATH"

# shellcheck source=scripts/setup.sh
. scripts/setup.sh
setup_all "$cache" >&2

if [ $# -gt 0 ] && [ "$1" != web ]; then
  exec go run ./examples/voice-agent "$@"
fi

# The demo and web: a LiveKit server on loopback unless one already
# answers. They default to it (ws://127.0.0.1:7880, devkey/secret).
lk_pid=
stop_server() {
  if [ -n "$lk_pid" ]; then
    kill "$lk_pid" 2>/dev/null || true
    wait "$lk_pid" 2>/dev/null || true
  fi
}
trap stop_server EXIT
if [ "${LIVEKIT_URL:-ws://127.0.0.1:7880}" = ws://127.0.0.1:7880 ] && ! curl -fsS -o /dev/null http://127.0.0.1:7880/ 2>/dev/null; then
  lk_log="$cache/livekit-server-run.log"
  echo "== starting livekit-server on 127.0.0.1:7880 (log: $lk_log)" >&2
  livekit-server --config scripts/livekit-dev.yaml >"$lk_log" 2>&1 &
  lk_pid=$!
  for _ in $(seq 1 150); do
    if curl -fsS -o /dev/null http://127.0.0.1:7880/ 2>/dev/null; then break; fi
    if ! kill -0 "$lk_pid" 2>/dev/null; then echo "livekit-server exited:" >&2; cat "$lk_log" >&2; exit 1; fi
    sleep 0.2
  done
  curl -fsS -o /dev/null http://127.0.0.1:7880/ || { echo "livekit-server did not answer on 127.0.0.1:7880" >&2; cat "$lk_log" >&2; exit 1; }
fi
# Not exec: the server started above is stopped when the demo ends.
if [ $# -gt 0 ]; then
  go run ./examples/voice-agent "$@" # web, until Ctrl-C
else
  go run ./examples/voice-agent demo
fi
