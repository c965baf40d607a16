#!/usr/bin/env bash
# Builds the pinned promtool (Prometheus' rule checker and rule unit-test runner) from the Go module proxy into the
# peer cache; prints its path. Prometheus 3.x is published as Go module versions v0.3xx.y.
# The tests only check and unit-test rules: `remove_all_sd` (Prometheus' own build tag) leaves out the service
# discovery plugins (AWS, Azure, GCE, Kubernetes, ... and their SDKs), keeping file and http discovery.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out="$PEERS_CACHE/promtool-$PROMETHEUS_VERSION-nosd/promtool"
if [ ! -x "$out" ]; then
  log "building promtool $PROMETHEUS_VERSION without service discovery (a few minutes, once)"
  mkdir -p "$(dirname "$out")"
  GOBIN="$(dirname "$out")" CGO_ENABLED=0 go install -trimpath -tags remove_all_sd -ldflags "-s -w" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION" >&2
fi
echo "$out"
