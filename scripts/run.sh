#!/usr/bin/env bash
# The README's run command: installs what the voice agent needs to build
# (the cgo speech and Opus libraries, see scripts/setup.sh), then runs
# examples/voice-agent with the given arguments (default: chat).
#
# Caches live outside the repo, in $LKGO_CACHE (default ~/.cache/livekit-go-agents).
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${LKGO_CACHE:-$HOME/.cache/livekit-go-agents}
export PATH="$cache/bin:$PATH"

# shellcheck source=scripts/setup.sh
. scripts/setup.sh
setup_all "$cache" >&2

[ $# -gt 0 ] || set -- chat
exec go run ./examples/voice-agent "$@"
