#!/usr/bin/env bash
# Fetches OPA's own builtin test cases (the YAML under v1/test/cases/testdata/v1 of the opa Go module, pinned to
# OPA_VERSION) from the Go module proxy into the peer cache, with the list of builtins OPA's wasm target implements
# natively (every other builtin is the host's) and the cases OPA's own wasm test skips. Prints the folder holding
# cases/, wasm-native-builtins.txt and wasm-exceptions.yaml.
# Nothing of it is committed: the test suite reads it from the cache.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out="$PEERS_CACHE/opa-testcases-$OPA_VERSION"
if [ ! -f "$out/.complete" ] || [ ! -f "$out/wasm-exceptions.yaml" ]; then
  mkdir -p "$PEERS_CACHE/locks"; exec 9>"$PEERS_CACHE/locks/opa-testcases.lock"; flock 9
fi
if [ ! -f "$out/.complete" ] || [ ! -f "$out/wasm-exceptions.yaml" ]; then
  log "fetching the opa $OPA_VERSION module's test cases from the Go module proxy (once)"
  modcache="$(mktemp -d "$PEERS_CACHE/opa-testcases-modcache.XXXXXX")"
  trap 'GOMODCACHE="$modcache" go clean -modcache >/dev/null 2>&1; rm -rf "$modcache"' EXIT
  mod="$(GOMODCACHE="$modcache" GOFLAGS=-modcacherw go mod download -json "github.com/open-policy-agent/opa@$OPA_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$mod/v1/test/cases/testdata/v1" ] || { log "no v1/test/cases/testdata/v1 in the opa module ($mod)"; exit 1; }
  rm -rf "$out"
  mkdir -p "$out/cases"
  cp -R "$mod/v1/test/cases/testdata/v1/." "$out/cases/"
  # the cases OPA's own wasm end-to-end test skips, with its reasons (limits of the wasm target, not of the host)
  cp "$mod/internal/wasm/sdk/test/e2e/exceptions.yaml" "$out/wasm-exceptions.yaml"
  # The wasm compiler's builtinsFunctions map (ast.<Var>.Name: "opa_…") names the natively implemented builtins by
  # their Go variable; ast/builtins.go gives each variable's builtin name.
  awk '/^var [A-Za-z0-9_]+ = &Builtin\{/ {v = $2} v && /^\tName: *"/ {match($0, /"[^"]+"/); print v, substr($0, RSTART + 1, RLENGTH - 2); v = ""}' \
    "$mod/v1/ast/builtins.go" >"$out/ast-names.tmp"
  awk '/^var builtinsFunctions = map/ {on = 1; next} on && /^}/ {on = 0} on' "$mod/internal/compiler/wasm/wasm.go" \
    | sed -n 's/^[[:space:]]*ast\.\([A-Za-z0-9_]*\)\.Name:.*/\1/p' >"$out/native-vars.tmp"
  awk 'NR == FNR {name[$1] = $2; next} !($1 in name) {print "unknown builtin variable " $1 > "/dev/stderr"; exit 1} {print name[$1]}' \
    "$out/ast-names.tmp" "$out/native-vars.tmp" | sort >"$out/wasm-native-builtins.txt"
  rm -f "$out"/*.tmp
  [ -s "$out/wasm-native-builtins.txt" ] || { log "found no natively implemented wasm builtins"; exit 1; }
  touch "$out/.complete"
fi
echo "$out"
