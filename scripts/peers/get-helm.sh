#!/usr/bin/env bash
# Builds the pinned helm CLI from the Go module proxy into the peer cache; prints its path.
# The ldflags set the Kubernetes version helm assumes for lint/template (the default is 1.20, too old for
# policy/v1 and friends) and helm's own version string (otherwise "v3.x-unreleased" style).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out="$PEERS_CACHE/helm-$HELM_VERSION-k8s1.$HELM_K8S_MINOR/helm"
if [ ! -x "$out" ]; then
  log "building helm $HELM_VERSION for Kubernetes 1.$HELM_K8S_MINOR (a few minutes, once)"
  mkdir -p "$(dirname "$out")"
  ldflags="-s -w"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$HELM_K8S_MINOR"
  done
  ldflags+=" -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  GOBIN="$(dirname "$out")" CGO_ENABLED=0 go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
fi
echo "$out"
