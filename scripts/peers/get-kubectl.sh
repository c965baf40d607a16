#!/usr/bin/env bash
# Builds the kubectl matching the pinned kube-apiserver (same wrapper module, see get-kube-apiserver.sh); prints its path.
exec bash "$(dirname "${BASH_SOURCE[0]}")/get-kube-apiserver.sh" kubectl
