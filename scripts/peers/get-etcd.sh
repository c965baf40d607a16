#!/usr/bin/env bash
# Builds the pinned etcd server from the Go module proxy into the peer cache; prints its path.
# etcd's own go.mod files `replace` its sibling modules with local folders, so `go install` refuses them: a throwaway
# wrapper module requires the server module instead (its requirements name published versions) and builds it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dir="$PEERS_CACHE/etcd-$ETCD_VERSION"
out="$dir/etcd"
if [ ! -x "$out" ]; then
  mkdir -p "$dir/wrapper"
  exec 9>"$dir/.lock"; flock 9
  if [ ! -x "$out" ]; then
    log "building etcd $ETCD_VERSION (a few minutes, once)"
    cd "$dir/wrapper"
    [ -f go.mod ] || go mod init gk-exporter/etcd-peer >&2 2>/dev/null
    go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
    CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$out.tmp" go.etcd.io/etcd/server/v3 >&2
    mv "$out.tmp" "$out"
  fi
fi
echo "$out"
