#!/usr/bin/env bash
# Installs the Debian packages the real one-node cluster (test/peers/cluster.ts) runs on: containerd and runc (the
# container runtime), the CNI plugins (bridge, host-local, loopback, portmap), iptables and conntrack (kube-proxy).
# Skipped when already installed; the packages' services are not started (the cluster runs its own containerd).
# Prints the folder of the CNI plugins.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
apt_install containerd runc containernetworking-plugins iptables conntrack
for tool in containerd containerd-shim-runc-v2 ctr runc iptables conntrack; do
  command -v "$tool" >/dev/null || { log "get-cluster-packages.sh: $tool is missing after installing the packages"; exit 1; }
done
[ -x /usr/lib/cni/bridge ] || { log "get-cluster-packages.sh: /usr/lib/cni/bridge is missing (containernetworking-plugins)"; exit 1; }
echo /usr/lib/cni
