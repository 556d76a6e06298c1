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
}
