#!/usr/bin/env bash
# Builds the real one-node cluster's sandbox image (PAUSE_IMAGE in versions.env) without Docker or a registry: a static
# Go binary (scripts/peers/pause/main.go) packed as a `docker save` archive (manifest.json, config, one layer) that
# `ctr images import` reads. Cached by the source's hash; prints the archive's path.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
src="$PEERS_DIR/pause/main.go"
hash="$(sha256sum "$src" | cut -c1-12)"
dir="$PEERS_CACHE/pause-$hash"
out="$dir/pause.tar"
if [ ! -f "$out" ]; then
  mkdir -p "$dir"
  exec 9>"$dir/.lock"; flock 9
  if [ ! -f "$out" ]; then
    log "building the pause image $PAUSE_IMAGE"
    work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/module" "$work/rootfs" "$work/archive"
    cp "$src" "$work/module/main.go"
    (cd "$work/module" && go mod init gk-exporter/pause >&2 2>/dev/null &&
      CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/rootfs/pause" . >&2)
    # A layer's diff id is the sha256 of its uncompressed tar; fixed owner and times keep it reproducible.
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='1970-01-01' -C "$work/rootfs" -cf "$work/archive/layer.tar" pause
    layer_sha="$(sha256sum "$work/archive/layer.tar" | cut -d' ' -f1)"
    mkdir -p "$work/archive/$layer_sha"; mv "$work/archive/layer.tar" "$work/archive/$layer_sha/layer.tar"
    printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
      "$layer_sha" >"$work/archive/config.json"
    config_sha="$(sha256sum "$work/archive/config.json" | cut -d' ' -f1)"
    mv "$work/archive/config.json" "$work/archive/$config_sha.json"
    printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$config_sha" "$PAUSE_IMAGE" "$layer_sha" \
      >"$work/archive/manifest.json"
    tar --owner=0 --group=0 --numeric-owner -C "$work/archive" -cf "$out.tmp" manifest.json "$config_sha.json" "$layer_sha"
    mv "$out.tmp" "$out"
  fi
fi
echo "$out"
