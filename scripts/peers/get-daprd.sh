#!/usr/bin/env bash
# Builds the pinned daprd (with the stable components) from the Go module proxy into the peer cache; prints its path.
# `go install github.com/dapr/dapr/cmd/daprd@...` refuses modules with `replace` lines, so a throwaway wrapper module
# copies dapr's replace directives and builds daprd as a tool of that module.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out="$PEERS_CACHE/daprd-$DAPR_VERSION/daprd"
if [ ! -x "$out" ]; then
  mkdir -p "$PEERS_CACHE/locks"; exec 9>"$PEERS_CACHE/locks/daprd.lock"; flock 9
fi
if [ ! -x "$out" ]; then
  log "building daprd $DAPR_VERSION (10-20 minutes and a few GB of module cache, once)"
  apt_install jq
  wrapper="$PEERS_CACHE/daprd-$DAPR_VERSION/wrapper"
  rm -rf "$wrapper" && mkdir -p "$wrapper"
  cd "$wrapper"
  go mod init daprd-wrapper >&2
  dapr_gomod="$(go mod download -json "github.com/dapr/dapr@$DAPR_VERSION" | jq -r .GoMod)"
  go_line="$(go mod edit -json "$dapr_gomod" | jq -r .Go)"
  go mod edit -go="$go_line"
  # Copy every replace directive of dapr's go.mod (block or single-line form) into the wrapper.
  go mod edit -json "$dapr_gomod" | jq -r '.Replace // [] | .[] |
      (.Old.Path + (if .Old.Version then "@" + .Old.Version else "" end)) + "=" +
      (.New.Path + (if .New.Version then "@" + .New.Version else "" end))' |
    while read -r rule; do go mod edit -replace="$rule"; done
  go get -tool "github.com/dapr/dapr/cmd/daprd@$DAPR_VERSION" >&2
  CGO_ENABLED=0 go build -tags stablecomponents -ldflags "-X github.com/dapr/dapr/pkg/buildinfo.version=${DAPR_VERSION#v}" \
    -o "$out.tmp" github.com/dapr/dapr/cmd/daprd >&2
  mv "$out.tmp" "$out"
fi
echo "$out"
