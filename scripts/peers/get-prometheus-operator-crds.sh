#!/usr/bin/env bash
# Gets the Prometheus Operator's CRDs (ServiceMonitor, PrometheusRule, ...) at the pinned version from its Go module, so
# a test API server can validate the chart's monitoring objects; prints the folder holding the CRD manifests.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out="$PEERS_CACHE/prometheus-operator-crds-$PROMETHEUS_OPERATOR_VERSION"
if [ ! -f "$out/monitoring.coreos.com_servicemonitors.yaml" ]; then
  log "fetching the Prometheus Operator $PROMETHEUS_OPERATOR_VERSION module for its CRDs"
  dir="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$dir/example/prometheus-operator-crd" ] || { log "no CRD folder in $dir"; exit 1; }
  mkdir -p "$out.tmp"
  cp "$dir"/example/prometheus-operator-crd/monitoring.coreos.com_*.yaml "$out.tmp/"
  chmod -R u+w "$out.tmp"
  rm -rf "$out" && mv "$out.tmp" "$out"
fi
echo "$out"
