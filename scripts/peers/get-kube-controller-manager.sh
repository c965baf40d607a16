#!/usr/bin/env bash
# Builds the kube-controller-manager matching the pinned kube-apiserver (same wrapper module, see get-kube-apiserver.sh) for the real
# one-node cluster (test/peers/cluster.ts); prints its path.
exec bash "$(dirname "${BASH_SOURCE[0]}")/get-kube-apiserver.sh" kube-controller-manager
