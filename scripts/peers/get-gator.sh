#!/usr/bin/env bash
# Builds the pinned gator (Gatekeeper's CLI, whose `gator bench` the CEL/Rego evaluation bench runs beside ours) from
# the Go module proxy into the peer cache; prints its path.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dir="$PEERS_CACHE/gator-$GATEKEEPER_VERSION"
out="$dir/gator"
if [ ! -x "$out" ]; then
  mkdir -p "$dir"
  exec 9>"$dir/.lock"; flock 9
  if [ ! -x "$out" ]; then
    log "building gator $GATEKEEPER_VERSION (a few minutes, once)"
    GOFLAGS="-mod=mod -buildvcs=false" GOBIN="$dir" CGO_ENABLED=0 go install -trimpath \
      -ldflags "-s -w -X github.com/open-policy-agent/gatekeeper/v3/pkg/version.Version=$GATEKEEPER_VERSION" \
      "github.com/open-policy-agent/gatekeeper/v3/cmd/gator@$GATEKEEPER_VERSION" >&2
  fi
fi
echo "$out"
