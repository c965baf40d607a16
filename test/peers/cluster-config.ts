// Configuration files of the real one-node cluster's node pieces (containerd, CNI, kubelet, kube-proxy), with the
// settings ../shared/notes/real-cluster.md found to work on this machine; each unusual one says why.

export interface NodeLayout {
  dir: string;
  nodeName: string;
  nodeIp: string;
  podCidr: string;
  clusterCidr: string;
  serviceCidr: string;
  cgroupRoot: string;
  containerdSocket: string;
  pauseImage: string;
  caCert: string;
}

export function containerdConfig(l: NodeLayout): string {
  return `version = 2
root = "${l.dir}/containerd/root"
state = "${l.dir}/containerd/state"
plugin_dir = ""
[grpc]
  address = "${l.containerdSocket}"
[ttrpc]
  address = "${l.dir}/containerd/ttrpc.sock"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${l.dir}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  # Imported images only: nothing is ever pulled (there is no route out of the namespace).
  sandbox_image = "${l.pauseImage}"
  # Without it every sandbox fails with "can't get final child's PID from pipe: EOF": no CAP_SYS_RESOURCE here.
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${l.dir}/cni/net.d"
`;
}

export function cniConfig(l: NodeLayout): string {
  return JSON.stringify({
    cniVersion: '0.4.0',
    name: 'gk-cluster',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipMasq: false,
        // A pod reaching a Service that routes back to itself.
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: l.podCidr }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: `${l.dir}/cni/ipam` },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
}

export function kubeletConfig(l: NodeLayout): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${l.nodeIp}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
containerRuntimeEndpoint: unix://${l.containerdSocket}
cgroupDriver: cgroupfs
cgroupRoot: ${l.cgroupRoot}
failSwapOn: false
failCgroupV1: false
# No cluster DNS: pods get a resolv.conf without nameservers, nothing to reach outside the namespace.
resolvConf: ${l.dir}/kubelet/resolv.conf
clusterDomain: cluster.local
# Imported images cannot be pulled again: never collect them; evict only when really out of room.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "1%"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${l.caCert}}
authorization:
  mode: Webhook
serializeImagePulls: false
maxPods: 60
podPidsLimit: 4096
`;
}

export function kubeProxyConfig(l: NodeLayout, kubeconfig: string): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: ${kubeconfig}
mode: iptables
hostnameOverride: ${l.nodeName}
clusterCIDR: ${l.clusterCidr}
bindAddress: ${l.nodeIp}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack:
  # 0: leave the (machine-wide) conntrack table size alone.
  maxPerCore: 0
  min: 0
`;
}
