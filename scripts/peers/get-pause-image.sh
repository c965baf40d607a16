#!/usr/bin/env bash
# Builds the real one-node cluster's sandbox image (PAUSE_IMAGE in versions.env) without Docker or a registry: a static
# Go binary (scripts/peers/pause/main.go) packed as a `docker save` archive that `ctr images import` reads.
# Cached by the source's hash; prints the archive's path.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
src="$PEERS_DIR/pause/main.go"
hash="$(cat "$src" "$PEERS_DIR/lib.sh" | sha256sum | cut -c1-12)"
dir="$PEERS_CACHE/pause-$hash"
out="$dir/pause.tar"
if [ ! -f "$out" ]; then
  mkdir -p "$dir"
  exec 9>"$dir/.lock"; flock 9
  if [ ! -f "$out" ]; then
    log "building the pause image $PAUSE_IMAGE"
    work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/module" "$work/rootfs"
    cp "$src" "$work/module/main.go"
    (cd "$work/module" && go mod init gk-exporter/pause >&2 2>/dev/null &&
      CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/rootfs/pause" . >&2)
    pack_docker_archive "$work/rootfs" "$PAUSE_IMAGE" "$out" '["/pause"]' '65535:65535'
  fi
fi
echo "$out"
