#!/usr/bin/env bash
# The project's test command: installs what the tests need, starts the
# servers they use (on 127.0.0.1 only), runs the checks and the tests, and
# stops the servers again. Safe to run on a fresh Debian machine as root.
#
# Caches live outside the repo, in $LKGO_CACHE (default ~/.cache/livekit-go-agents).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cache=${LKGO_CACHE:-$HOME/.cache/livekit-go-agents}
mkdir -p "$cache/bin"
export PATH="$cache/bin:$PATH"

# shellcheck source=scripts/setup.sh
. scripts/setup.sh
setup_all "$cache"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "not gofmt-clean: $unformatted"; exit 1; fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
staticcheck ./...
echo "== core builds without cgo"
CGO_ENABLED=0 go build ./session/... ./audio/... ./agent ./agent/worker/... ./agent/telemetry/... ./plugins/inference/...

# A LiveKit server for the end-to-end tests, on loopback, stopped on exit.
lk_log="$cache/livekit-server.log"
livekit-server --config scripts/livekit-dev.yaml >"$lk_log" 2>&1 &
lk_pid=$!
trap 'kill "$lk_pid" 2>/dev/null || true; wait "$lk_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null http://127.0.0.1:7880/ 2>/dev/null; then break; fi
  if ! kill -0 "$lk_pid" 2>/dev/null; then echo "livekit-server exited:"; cat "$lk_log"; exit 1; fi
  sleep 0.2
done
curl -fsS -o /dev/null http://127.0.0.1:7880/ || { echo "livekit-server did not answer"; cat "$lk_log"; exit 1; }
export LIVEKIT_TEST_URL=ws://127.0.0.1:7880 LIVEKIT_TEST_API_KEY=devkey LIVEKIT_TEST_API_SECRET=secret

echo "== go test -race"
go test -race -count=1 -timeout 30m ./... 2>&1 | tee "$cache/test.log"
