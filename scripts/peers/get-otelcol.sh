#!/usr/bin/env bash
# Builds a minimal OpenTelemetry Collector (the otlp receiver and the contrib file exporter only) from the Go module
# proxy with the collector's own builder (ocb) into the peer cache; prints its path. The otlp sink's tests run it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dir="$PEERS_CACHE/otelcol-$OTELCOL_VERSION"
out="$dir/otelcol-gk"
if [ ! -x "$out" ]; then
  mkdir -p "$PEERS_CACHE/locks"; exec 9>"$PEERS_CACHE/locks/otelcol.lock"; flock 9
fi
if [ ! -x "$out" ]; then
  log "building otelcol $OTELCOL_VERSION (several minutes, once)"
  mkdir -p "$dir"
  GOBIN="$dir" CGO_ENABLED=0 go install -trimpath "go.opentelemetry.io/collector/cmd/builder@$OTELCOL_VERSION" >&2
  cat >"$dir/manifest.yaml" <<MANIFEST
dist:
  name: otelcol-gk
  description: gk-exporter test collector (otlp receiver, file exporter)
  output_path: $dir/build
  version: ${OTELCOL_VERSION#v}
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver $OTELCOL_VERSION
exporters:
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter $OTELCOL_VERSION
MANIFEST
  # The builder's own `go mod tidy` also resolves the test imports of fileexporter, one of which the proxy does not
  # serve: generate the sources only (with --skip-get-modules the builder writes no go.mod either), write the go.mod its
  # template would (the components and the core otelcol module at the same version), then tidy with -e (test-only gaps
  # do not matter to the build) and build.
  rm -rf "$dir/build"
  "$dir/builder" --config "$dir/manifest.yaml" --skip-get-modules --skip-compilation >&2
  (cd "$dir/build" && go mod init otelcol-gk >&2 2>/dev/null &&
    go mod edit -require="go.opentelemetry.io/collector/receiver/otlpreceiver@$OTELCOL_VERSION" \
      -require="github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter@$OTELCOL_VERSION" \
      -require="go.opentelemetry.io/collector/otelcol@$OTELCOL_VERSION" &&
    go mod tidy -e >&2 && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp" . >&2)
  mv "$out.tmp" "$out"
  rm -rf "$dir/build"
fi
echo "$out"
