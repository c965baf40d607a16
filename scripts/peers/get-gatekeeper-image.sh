#!/usr/bin/env bash
# Builds Gatekeeper's own manager (GATEKEEPER_VERSION, from the Go module proxy, as get-gator.sh builds gator) and packs
# it as an image (GATEKEEPER_UPSTREAM_IMAGE_REPOSITORY:GATEKEEPER_VERSION, /manager, non-root) for the real cluster
# tests, which install it with Gatekeeper's own chart from the same module. Prints the archive's path; with the
# argument `chart`, the folder of Gatekeeper's Helm chart in the module cache.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ "${1:-}" = chart ]; then
  module_dir="$(go mod download -json "github.com/open-policy-agent/gatekeeper/v3@$GATEKEEPER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [ -d "$module_dir/charts/gatekeeper" ] || { log "no charts/gatekeeper in the gatekeeper module at $module_dir"; exit 1; }
  echo "$module_dir/charts/gatekeeper"
  exit 0
fi
dir="$PEERS_CACHE/gatekeeper-manager-$GATEKEEPER_VERSION"
out="$dir/gatekeeper.tar"
if [ ! -f "$out" ]; then
  mkdir -p "$dir/rootfs"
  exec 9>"$dir/.lock"; flock 9
  if [ ! -f "$out" ]; then
    log "building Gatekeeper's manager $GATEKEEPER_VERSION (a few minutes, once)"
    GOFLAGS="-mod=mod -buildvcs=false" GOBIN="$dir/rootfs" CGO_ENABLED=0 go install -trimpath \
      -ldflags "-s -w -X github.com/open-policy-agent/gatekeeper/v3/pkg/version.Version=$GATEKEEPER_VERSION" \
      "github.com/open-policy-agent/gatekeeper/v3@$GATEKEEPER_VERSION" >&2
    mv "$dir/rootfs/gatekeeper" "$dir/rootfs/manager"
    pack_docker_archive "$dir/rootfs" "$GATEKEEPER_UPSTREAM_IMAGE_REPOSITORY:$GATEKEEPER_VERSION" "$out" '["/manager"]' '65532:65532'
  fi
fi
echo "$out"
