# Sourced by scripts/test.sh and scripts/run.sh: installs what the project
# needs, each step only when it is missing. Caches go under the directory
# given to setup_all, never inside the repo.

# Pinned versions of the tools the checks and the tests use.
LIVEKIT_SERVER_VERSION=v1.13.5 # later versions depend on forks that cannot be fetched
STATICCHECK_VERSION=v0.8.2

setup_apt() {
  local missing=()
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_go_tool() { # name module@version
  local bin=$1 mod=$2 cache=$3
  local stamp="$cache/bin/.$bin.version"
  if [ -x "$cache/bin/$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$mod" ]; then return 0; fi
  echo "== go install $mod"
  GOBIN="$cache/bin" go install "$mod"
  echo "$mod" >"$stamp"
}

setup_all() {
  local cache=$1
  mkdir -p "$cache/bin"
  setup_apt curl git ca-certificates
  setup_go_tool staticcheck "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" "$cache"
  if [ ! -x "$cache/bin/livekit-server" ] || [ "$(cat "$cache/bin/.livekit-server.version" 2>/dev/null)" != "$LIVEKIT_SERVER_VERSION" ]; then
    echo "== go install livekit-server $LIVEKIT_SERVER_VERSION (about 2.5 minutes cold)"
    GOBIN="$cache/bin" go install "github.com/livekit/livekit-server/cmd/server@$LIVEKIT_SERVER_VERSION"
    mv "$cache/bin/server" "$cache/bin/livekit-server"
    echo "$LIVEKIT_SERVER_VERSION" >"$cache/bin/.livekit-server.version"
  fi
  setup_local_speech "$cache"
  setup_room_io
  setup_browser "$cache"
  setup_cluster
}

# The cluster test (examples/voice-agent TestClusterDispatch): Debian's
# redis-server, which the test starts itself on 127.0.0.1:6391.
setup_cluster() {
  setup_apt redis-server
}

# agent/roomio: Opus and soxr over cgo through server-sdk-go's pkg/media.
# libopusfile-dev is installed rather than using the nolibopusfile build
# tag, so a plain `go build ./...` works.
setup_room_io() {
  setup_apt libopus-dev libopusfile-dev libsoxr-dev pkg-config gcc libc6-dev
}

# The local speech stack (plugins/flite, plugins/pocketsphinx, plugins/silero):
# Debian packages for the cgo engines, and the ONNX Runtime library from npm
# into $cache/silero. Exports ONNXRUNTIME_LIB for plugins/silero, which also
# finds it there without; the Silero model is embedded in plugins/silero.
ONNXRUNTIME_NPM_PACKAGE=onnxruntime-node@1.30.0

setup_local_speech() {
  local cache=$1 dir="$1/silero"
  setup_apt flite flite1-dev pocketsphinx pocketsphinx-en-us libpocketsphinx-dev pkg-config gcc libc6-dev
  mkdir -p "$dir"
  local lib="$dir/libonnxruntime.so.1"
  if [ ! -s "$lib" ] || [ "$(cat "$dir/.version" 2>/dev/null)" != "$ONNXRUNTIME_NPM_PACKAGE" ]; then
    command -v npm >/dev/null 2>&1 || setup_apt npm
    echo "== npm pack $ONNXRUNTIME_NPM_PACKAGE"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$ONNXRUNTIME_NPM_PACKAGE" >/dev/null) || { rm -rf "$tmp"; return 1; }
    tar -xzf "$tmp"/onnxruntime-node-*.tgz -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
    mv "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$lib"
    rm -rf "$tmp"
    echo "$ONNXRUNTIME_NPM_PACKAGE" >"$dir/.version"
  fi
  export ONNXRUNTIME_LIB="$lib"
}

# The web front-end (examples/voice-agent web) and its browser test:
# Debian's chromium, and from npm into $cache/browser (never the repo) the
# pinned livekit-client the page loads and puppeteer-core, which drives
# chromium from the test (its own browser downloads cannot be fetched
# here; puppeteer-core fetches none). Exports LIVEKIT_CLIENT_JS (the
# livekit-client bundle the web command serves) and LKGO_NODE_MODULES
# (where the test's node script finds puppeteer-core).
LIVEKIT_CLIENT_NPM_PACKAGE=livekit-client@2.23.0
PUPPETEER_NPM_PACKAGE=puppeteer-core@24.43.1 # 25.x needs node 22; Debian 12 has 18

setup_browser() {
  local cache=$1 dir="$1/browser"
  setup_apt chromium fonts-dejavu-core
  command -v npm >/dev/null 2>&1 || setup_apt npm
  local want="$LIVEKIT_CLIENT_NPM_PACKAGE $PUPPETEER_NPM_PACKAGE"
  if [ ! -s "$dir/node_modules/livekit-client/dist/livekit-client.umd.js" ] || [ ! -d "$dir/node_modules/puppeteer-core" ] ||
    [ "$(cat "$dir/.version" 2>/dev/null)" != "$want" ]; then
    echo "== npm install $want"
    rm -rf "$dir"
    mkdir -p "$dir"
    echo '{"name":"lkgo-browser","private":true}' >"$dir/package.json"
    (cd "$dir" && npm install --silent --no-audit --no-fund --ignore-scripts --save-exact "$LIVEKIT_CLIENT_NPM_PACKAGE" "$PUPPETEER_NPM_PACKAGE" >/dev/null) || return 1
    echo "$want" >"$dir/.version"
  fi
  export LIVEKIT_CLIENT_JS="$dir/node_modules/livekit-client/dist/livekit-client.umd.js" LKGO_NODE_MODULES="$dir/node_modules"
}

# Run rather than sourced (`bash scripts/setup.sh`), it installs everything
# into the cache: the command plugins/silero names when ONNX Runtime is
# missing.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  setup_all "${LKGO_CACHE:-$HOME/.cache/livekit-go-agents}"
  echo "installed into ${LKGO_CACHE:-$HOME/.cache/livekit-go-agents}"
fi
