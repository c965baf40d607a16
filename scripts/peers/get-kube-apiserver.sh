#!/usr/bin/env bash
# Builds the pinned kube-apiserver (or, given as the argument, kubectl or one of the real cluster's pieces: kubelet,
# kube-controller-manager, kube-scheduler, kube-proxy) from the Go module proxy into the peer cache; prints its path.
# k8s.io/kubernetes maps its staging modules (k8s.io/api, k8s.io/apimachinery, ...) to local folders at v0.0.0, so it
# cannot be built directly: a throwaway wrapper module replaces each staging module with its published v0.<minor>.<patch>.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
binary="${1:-kube-apiserver}"
case "$binary" in
  kube-apiserver|kubectl|kubelet|kube-controller-manager|kube-scheduler|kube-proxy) ;;
  *) echo "get-kube-apiserver.sh: unknown binary '$binary' (kube-apiserver, kubectl, kubelet, kube-controller-manager, kube-scheduler or kube-proxy)" >&2; exit 2 ;;
esac
dir="$PEERS_CACHE/kubernetes-$KUBERNETES_VERSION"
out="$dir/$binary"
if [ ! -x "$out" ]; then
  mkdir -p "$dir/wrapper"
  exec 9>"$dir/.lock"; flock 9
  if [ ! -x "$out" ]; then
    log "building $binary $KUBERNETES_VERSION (5-15 minutes, once)"
    cd "$dir/wrapper"
    if [ ! -f go.mod ]; then
      go mod init gk-exporter/kubernetes-peer >&2 2>/dev/null
      upstream_gomod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
      [ -f "$upstream_gomod" ] || { log "could not download k8s.io/kubernetes@$KUBERNETES_VERSION"; exit 1; }
      staging_version="v0.${KUBERNETES_VERSION#v1.}"
      for module in $(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/.*#\1#p' "$upstream_gomod"); do
        go mod edit -replace="$module=$module@$staging_version"
      done
    fi
    go get -tool "k8s.io/kubernetes/cmd/$binary@$KUBERNETES_VERSION" >&2
    minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    done
    CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "k8s.io/kubernetes/cmd/$binary" >&2
    mv "$out.tmp" "$out"
  fi
fi
echo "$out"
