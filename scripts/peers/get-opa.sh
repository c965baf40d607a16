#!/usr/bin/env bash
# Builds the pinned opa CLI from the Go module proxy into the peer cache; prints its path.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out="$PEERS_CACHE/opa-$OPA_VERSION/opa"
if [ ! -x "$out" ]; then
  log "building opa $OPA_VERSION (a few minutes, once)"
  mkdir -p "$(dirname "$out")"
  GOBIN="$(dirname "$out")" CGO_ENABLED=0 go install -trimpath "github.com/open-policy-agent/opa@$OPA_VERSION" >&2
fi
echo "$out"
