#!/usr/bin/env bash
# Builds the pinned daprd from the Go module proxy into the peer cache, registering only the components the tests and
# benchmarks use (DAPR_COMPONENTS in versions.env); prints its path.
# `-tags stablecomponents` would compile every stable component and its cloud SDKs (~850 s from an empty build cache)
# for one pubsub.redis. dapr's cmd/daprd is three small packages (main, app, options) over one package of component
# registrations, one file per component: a throwaway wrapper module (it copies dapr's replace directives, since `go
# install` refuses a module with `replace` lines) holds a copy of cmd/daprd with only the wanted registration files.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out="$PEERS_CACHE/daprd-$DAPR_VERSION-$DAPR_COMPONENTS_ID/daprd"
if [ ! -x "$out" ]; then
  mkdir -p "$PEERS_CACHE/locks"; exec 9>"$PEERS_CACHE/locks/daprd.lock"; flock 9
fi
if [ ! -x "$out" ]; then
  log "building daprd $DAPR_VERSION with $DAPR_COMPONENTS (a few minutes, once)"
  apt_install jq
  wrapper="$(dirname "$out")/wrapper"
  rm -rf "$wrapper" && mkdir -p "$wrapper"
  cd "$wrapper"
  go mod init daprd-wrapper >&2
  dapr_download="$(go mod download -json "github.com/dapr/dapr@$DAPR_VERSION")"
  dapr_gomod="$(jq -r .GoMod <<<"$dapr_download")"
  dapr_dir="$(jq -r .Dir <<<"$dapr_download")"
  go mod edit -go="$(go mod edit -json "$dapr_gomod" | jq -r .Go)"
  # Copy every replace directive of dapr's go.mod (block or single-line form) into the wrapper.
  go mod edit -json "$dapr_gomod" | jq -r '.Replace // [] | .[] |
      (.Old.Path + (if .Old.Version then "@" + .Old.Version else "" end)) + "=" +
      (.New.Path + (if .New.Version then "@" + .New.Version else "" end))' |
    while read -r rule; do go mod edit -replace="$rule"; done
  go mod edit -require="github.com/dapr/dapr@$DAPR_VERSION"

  mkdir -p daprd/app daprd/options daprd/components
  cp "$dapr_dir/cmd/daprd/main.go" daprd/
  cp "$dapr_dir/cmd/daprd/app/app.go" daprd/app/
  cp "$dapr_dir/cmd/daprd/options/options.go" daprd/options/
  for component in $DAPR_COMPONENTS; do
    src="$dapr_dir/cmd/daprd/components/$component.go"
    [ -f "$src" ] || { log "dapr $DAPR_VERSION has no cmd/daprd/components/$component.go"; exit 1; }
    # Without its build-tag line: the file is wanted whatever the tags.
    grep -v '^//go:build' "$src" >"daprd/components/$component.go"
  done
  chmod -R u+w daprd
  sed -i 's#"github.com/dapr/dapr/cmd/daprd/#"daprd-wrapper/daprd/#' daprd/main.go daprd/app/app.go
  if grep -rq 'github.com/dapr/dapr/cmd/daprd' daprd; then log "cmd/daprd imports more of itself than main, app and options"; exit 1; fi
  # -mod=mod records in go.sum only what the build imports (`go mod tidy` would also fetch the test dependencies).
  CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "-X github.com/dapr/dapr/pkg/buildinfo.version=${DAPR_VERSION#v}" \
    -o "$out.tmp" ./daprd >&2
  mv "$out.tmp" "$out"
fi
echo "$out"
