// The real one-node cluster itself (test/peers/cluster.ts): a pod of the locally built pause image runs, a Service
// reaches it through kube-proxy, the host reaches both only through the relay, and teardown leaves nothing behind.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { request } from 'undici';
import { peerPath } from '../helpers/peers.js';
import { waitFor } from '../helpers/process.js';
import { pauseImage, startCluster, type RealCluster } from '../peers/cluster.js';


const echoManifest = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      automountServiceAccountToken: false
      containers:
        - name: echo
          image: ${pauseImage}
          imagePullPolicy: Never
          args: ["-http=:8080"]
          ports: [{containerPort: 8080}]
          readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
          securityContext: {runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  selector: {app: echo}
  ports: [{port: 80, targetPort: 8080}]
`;

function hostIptablesChains(): string {
  try {
    return execFileSync('iptables-save', { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.startsWith(':KUBE-'))
      .join('\n');
  } catch {
    return '';
  }
}

t.test('a real one-node cluster runs pods, serves a Service, and goes without a trace', async (t) => {
  peerPath('cluster-packages');
  const chainsBefore = hostIptablesChains();
  const hostPaths = ['/var/lib/kubelet', '/var/lib/cni', '/var/log/pods', '/run/containerd', '/etc/cni/net.d'];
  const hostPathsBefore = hostPaths.filter((p) => existsSync(p));
  let cluster: RealCluster | undefined = await startCluster();
  t.teardown(async () => {
    await cluster?.stop();
  });
  t.comment(`cluster started in ${cluster.startMs} ms`);
  const nodes = JSON.parse(await cluster.kubectlOk(['get', 'nodes', '-o', 'json']));
  t.same(nodes.items.map((n: { metadata: { name: string } }) => n.metadata.name), ['gk-node'], 'one node, registered by the kubelet');

  await cluster.kubectlOk(['apply', '-f', '-'], { input: echoManifest });
  await cluster.kubectlOk(['rollout', 'status', 'deployment/echo', '--timeout=180s'], { timeoutMs: 200_000 });
  const pods = JSON.parse(await cluster.kubectlOk(['get', 'pods', '-l', 'app=echo', '-o', 'json']));
  t.equal(pods.items.length, 2, 'two replicas');
  for (const p of pods.items) {
    t.equal(p.status.phase, 'Running', `${p.metadata.name} Running`);
    t.match(p.status.podIP, /^10\.244\.0\.\d+$/, `${p.metadata.name} has an address on the pod bridge`);
  }

  // The Service's ClusterIP is reachable from the host only through the relay; kube-proxy spreads connections.
  const svc = JSON.parse(await cluster.kubectlOk(['get', 'service', 'echo', '-o', 'json']));
  const forward = await cluster.forward(`${svc.spec.clusterIP}:80`);
  const seen = new Set<string>();
  await waitFor('both replicas answering through the Service', async () => {
    const r = await request(`http://127.0.0.1:${forward.port}/`, { reset: true });
    const text = await r.body.text();
    const m = /^pong from (\S+)/.exec(text);
    if (m) seen.add(m[1]!);
    return seen.size === 2;
  }, 120_000, 50);
  t.same([...seen].sort(), pods.items.map((p: { metadata: { name: string } }) => p.metadata.name).sort(), 'each replica answered through the ClusterIP');
  const podIp = pods.items[0].status.podIP as string;
  const direct = await cluster.forward(`${podIp}:8080`);
  const r = await request(`http://127.0.0.1:${direct.port}/`);
  t.equal(await r.body.text(), `pong from ${pods.items[0].metadata.name}\n`, 'a pod IP is reachable through the relay too');

  const links = (await cluster.sh('ip -o link show')).split('\n').filter(Boolean).map((l) => l.split(':')[1]!.trim().split('@')[0]!);
  t.same(links.filter((l) => l !== 'lo' && l !== 'cni0' && !l.startsWith('veth')), [], `inside the namespace only lo, the pod bridge and the pods' veths: ${links.join(' ')}`);
  t.notMatch(await cluster.sh('ip route show'), /^default/m, 'no default route: nothing leaves the namespace');

  const logs = await cluster.kubectl(['logs', pods.items[0].metadata.name]);
  t.equal(logs.code, 0, `kubectl logs goes through the API server to the kubelet: ${logs.stderr}`);

  const { dir } = cluster;
  const cgroupRoots = () => readdirSync('/sys/fs/cgroup').filter((h) => existsSync(`/sys/fs/cgroup/${h}/${'gk-cluster-' + dir.slice('/tmp/gk-cluster-'.length).toLowerCase()}`));
  t.not(cgroupRoots().length, 0, 'the cluster has cgroups of its own while it runs');
  const stopping = cluster;
  cluster = undefined;
  const { stopMs, phases } = await stopping.stop();
  t.comment(`cluster stopped in ${stopMs} ms ${JSON.stringify(phases)}`);
  t.notOk(existsSync(dir), 'its folder is removed');
  t.same(cgroupRoots(), [], 'no cgroup is left');
  t.notMatch(readFileSync('/proc/self/mountinfo', 'utf8'), dir, 'no mount of it is visible on the host');
  t.equal(hostIptablesChains(), chainsBefore, "the host's iptables did not change (kube-proxy's rules lived in the namespace)");
  t.same(hostPaths.filter((p) => existsSync(p)), hostPathsBefore, 'the kubelet, containerd and CNI wrote nothing in the host /var/lib, /var/log, /run or /etc');
});
