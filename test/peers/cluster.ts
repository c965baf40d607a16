// A real one-node Kubernetes cluster for tests: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
// kube-proxy, containerd + runc and bridge CNI, all inside a network and mount namespace of their own
// (cluster-namespace.ts). The host reaches it only through loopback relays (cluster-relay.ts): the API server's TLS
// goes end to end, so kubectl and helm use a plain kubeconfig. Images are imported, never pulled. See
// ../shared/notes/real-cluster.md and the README's "Real cluster tests".
import { acquireClusterLock } from './cluster-lock.js';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { peerPath } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/process.js';
import { cniConfig, containerdConfig, kubeletConfig, kubeProxyConfig, type NodeLayout } from './cluster-config.js';
import { ClusterNamespace, reapStaleClusters } from './cluster-namespace.js';
import { kubeconfigText, makeClusterPki } from './cluster-pki.js';
import { forwardFromHost, type HostForward } from './cluster-relay.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const NODE_NAME = 'gk-node';
const NODE_IP = '10.255.0.1';
const SERVICE_CIDR = '10.96.0.0/24';
const API_SERVICE_IP = '10.96.0.1';
const POD_CIDR = '10.244.0.0/24';
const CLUSTER_CIDR = '10.244.0.0/16';
const API_PORT = 6443;
/** The sandbox image (scripts/peers/get-pause-image.sh), imported at start; test pods may run it too (`-http=:PORT`). */
export const pauseImage = readFileSync(path.join(here, '../../scripts/peers/versions.env'), 'utf8').match(/^PAUSE_IMAGE=(.+)$/m)![1]!.trim();

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RealCluster {
  /** https://127.0.0.1:<port>: the API server through the relay. */
  readonly server: string;
  /** Admin kubeconfig (system:masters) for kubectl and helm on the host. */
  readonly kubeconfig: string;
  readonly caPem: string;
  readonly token: string;
  /** The node's address inside the namespace: pods reach services started there (e.g. Kafka) on it. */
  readonly nodeIp: string;
  readonly dir: string;
  /** Measured: from the first process started to the node Ready with a default ServiceAccount. */
  readonly startMs: number;
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** Like kubectl() but throws with stderr on a non-zero exit; returns stdout. */
  kubectlOk(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** A raw API request as the admin. */
  api(method: string, apiPath: string, body?: unknown, contentType?: string): Promise<{ status: number; body: any }>;
  /** Imports a `docker save` archive into containerd's k8s.io namespace (ctr inside the namespace). */
  importImage(archive: string): Promise<void>;
  /** A host loopback port that reaches `target` (host:port as seen inside the namespace, e.g. a pod IP). */
  forward(target: string, port?: number): Promise<HostForward>;
  /** cmd and args that run `cmd` inside the cluster's namespaces (for peers started beside the cluster). */
  wrap(cmd: string, args: string[]): [string, string[]];
  /** Runs a shell script inside the namespaces. */
  sh(script: string, timeoutMs?: number): Promise<string>;
  /** The last bytes a component logged (etcd, kube-apiserver, kubelet, containerd, ...). */
  logTail(component: string, bytes?: number): string;
  /** Stops everything; throws when a process or cgroup is left. Resolves with the teardown time and its phases. */
  stop(): Promise<{ stopMs: number; phases: Record<string, number> }>;
}

interface Component {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

export async function startCluster(opts: { readyTimeoutMs?: number } = {}): Promise<RealCluster> {
  if (process.getuid?.() !== 0) throw new Error('the real cluster needs root (namespaces, mounts, cgroups, iptables): run the cluster tests as root');
  peerPath('cluster-packages');
  const releaseLock = await acquireClusterLock();
  for (const dir of await reapStaleClusters()) console.error(`cleaned up ${dir}, a cluster whose test process died without a teardown`);
  const bins = {
    etcd: peerPath('etcd'),
    apiserver: peerPath('kube-apiserver'),
    controllerManager: peerPath('kube-controller-manager'),
    scheduler: peerPath('kube-scheduler'),
    kubelet: peerPath('kubelet'),
    proxy: peerPath('kube-proxy'),
    kubectl: peerPath('kubectl'),
  };
  const pauseArchive = peerPath('pause-image');

  const t0 = Date.now();
  const dir = mkdtempSync('/tmp/gk-cluster-');
  const id = path.basename(dir).slice('gk-cluster-'.length).toLowerCase();
  for (const sub of ['pki', 'logs', 'etcd', 'containerd', 'cni/net.d', 'kubelet', 'config']) mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o700 });
  const layout: NodeLayout = {
    dir,
    nodeName: NODE_NAME,
    nodeIp: NODE_IP,
    podCidr: POD_CIDR,
    clusterCidr: CLUSTER_CIDR,
    serviceCidr: SERVICE_CIDR,
    cgroupRoot: `/gk-cluster-${id}`,
    containerdSocket: path.join(dir, 'containerd/containerd.sock'),
    pauseImage,
    caCert: path.join(dir, 'pki/ca.crt'),
  };
  const ns = new ClusterNamespace({ dir, nodeIp: NODE_IP, serviceCidr: SERVICE_CIDR, cgroupRoot: layout.cgroupRoot });
  const components: Component[] = [];
  const forwards: HostForward[] = [];
  const onExit = () => ns.killAllSync();
  process.on('exit', onExit);
  let dispatcher: Agent | undefined;

  const launch = (name: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): Component => {
    const log = openSync(path.join(dir, 'logs', `${name}.log`), 'a', 0o600);
    const [c, a] = ns.wrap(cmd, args);
    const child = spawn(c, a, { stdio: ['ignore', log, log], env: env ?? process.env });
    closeSync(log);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const comp = { name, child, exited };
    components.push(comp);
    return comp;
  };
  const logTail = (name: string, bytes = 4000) => {
    try {
      const text = readFileSync(path.join(dir, 'logs', `${name}.log`), 'utf8');
      return text.slice(-bytes);
    } catch {
      return '';
    }
  };
  const alive = (c: Component) => {
    if (c.child.exitCode !== null || c.child.signalCode !== null) throw new Error(`${c.name} exited (${c.child.exitCode ?? c.child.signalCode}): ${logTail(c.name)}`);
  };

  const stop = async (): Promise<{ stopMs: number; phases: Record<string, number> }> => {
    const s0 = Date.now();
    const phases: Record<string, number> = {};
    let p0 = s0;
    const phase = (name: string) => {
      phases[name] = Date.now() - p0;
      p0 = Date.now();
    };
    for (const f of forwards.splice(0)) await f.close();
    await dispatcher?.close().catch(() => undefined);
    const byName = (n: string) => components.filter((c) => c.name === n);
    // The kubelet first, so it does not restart the containers being killed.
    await terminate(byName('kubelet'));
    phase('kubelet');
    await ns.killContainers();
    phase('containers');
    // kube-apiserver drains its watches for seconds on SIGTERM; its state is thrown away anyway.
    await terminate(byName('kube-apiserver'), 'SIGKILL');
    await terminate(components.filter((c) => c.name !== 'kubelet' && c.name !== 'kube-apiserver'));
    phase('components');
    const left = await ns.destroy();
    phase('namespace');
    process.off('exit', onExit);
    releaseLock();
    if (left.processes.length || left.cgroups.length) {
      throw new Error(`cluster teardown left processes ${left.processes.join(', ') || 'none'} and cgroups ${left.cgroups.join(', ') || 'none'} (folder ${dir} kept)`);
    }
    rmSync(dir, { recursive: true, force: true });
    phase('folder');
    return { stopMs: Date.now() - s0, phases };
  };

  try {
    const pki = makeClusterPki(path.join(dir, 'pki'), { nodeName: NODE_NAME, nodeIp: NODE_IP, apiServiceIp: API_SERVICE_IP });
    await ns.create();
    const relaySocket = path.join(dir, 'relay.sock');
    const relay = launch('relay', process.execPath, ['--import', import.meta.resolve('tsx'), path.join(here, 'cluster-relay.ts'), relaySocket]);

    launch('etcd', bins.etcd, [
      '--name=gk-node',
      `--data-dir=${path.join(dir, 'etcd')}`,
      '--listen-client-urls=http://127.0.0.1:2379',
      '--advertise-client-urls=http://127.0.0.1:2379',
      '--listen-peer-urls=http://127.0.0.1:2380',
      '--initial-advertise-peer-urls=http://127.0.0.1:2380',
      '--initial-cluster=gk-node=http://127.0.0.1:2380',
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    writeFileSync(path.join(dir, 'containerd/config.toml'), containerdConfig(layout));
    writeFileSync(path.join(dir, 'cni/net.d/10-gk-cluster.conflist'), cniConfig(layout));
    const containerd = launch('containerd', 'containerd', ['--config', path.join(dir, 'containerd/config.toml')]);
    const apiserver = launch('kube-apiserver', bins.apiserver, [
      '--etcd-servers=http://127.0.0.1:2379',
      `--bind-address=0.0.0.0`,
      `--advertise-address=${NODE_IP}`,
      `--secure-port=${API_PORT}`,
      `--tls-cert-file=${pki.apiserverCert}`,
      `--tls-private-key-file=${pki.apiserverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--token-auth-file=${pki.tokenFile}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      '--allow-privileged=true',
      `--kubelet-client-certificate=${pki.kubeletClientCert}`,
      `--kubelet-client-key=${pki.kubeletClientKey}`,
      // Else `kubectl logs` tries the node's name in DNS, which does not exist here.
      '--kubelet-preferred-address-types=InternalIP',
      '--v=1',
    ]);

    await waitFor('the cluster relay', () => {
      alive(relay);
      return logTail('relay').includes('relay ready');
    }, 60_000, 100);
    const apiForward = await forwardFromHost(relaySocket, await freePort(), `${NODE_IP}:${API_PORT}`);
    forwards.push(apiForward);
    const server = `https://127.0.0.1:${apiForward.port}`;
    dispatcher = new Agent({ connect: { ca: pki.caPem }, connections: 8 });
    const api: RealCluster['api'] = async (method, apiPath, body, contentType) => {
      const r = await request(`${server}${apiPath}`, {
        method: method as 'GET',
        dispatcher,
        headers: {
          authorization: `Bearer ${pki.tokens.admin}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': contentType ?? 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await r.body.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* plain text (e.g. /readyz) */
      }
      return { status: r.statusCode, body: parsed as any };
    };
    await waitFor('kube-apiserver /readyz', async () => {
      alive(apiserver);
      return (await api('GET', '/readyz')).status === 200;
    }, opts.readyTimeoutMs ?? 180_000, 250);

    const inside = `https://${NODE_IP}:${API_PORT}`;
    const kubeconfigs = {
      controllerManager: path.join(dir, 'config/controller-manager.kubeconfig'),
      scheduler: path.join(dir, 'config/scheduler.kubeconfig'),
      kubelet: path.join(dir, 'config/kubelet.kubeconfig'),
      proxy: path.join(dir, 'config/proxy.kubeconfig'),
      admin: path.join(dir, 'kubeconfig'),
    };
    writeFileSync(kubeconfigs.controllerManager, kubeconfigText(inside, pki.caPem, 'system:kube-controller-manager', pki.tokens.controllerManager), { mode: 0o600 });
    writeFileSync(kubeconfigs.scheduler, kubeconfigText(inside, pki.caPem, 'system:kube-scheduler', pki.tokens.scheduler), { mode: 0o600 });
    writeFileSync(kubeconfigs.kubelet, kubeconfigText(inside, pki.caPem, `system:node:${NODE_NAME}`, pki.tokens.node), { mode: 0o600 });
    writeFileSync(kubeconfigs.proxy, kubeconfigText(inside, pki.caPem, 'system:kube-proxy', pki.tokens.proxy), { mode: 0o600 });
    writeFileSync(kubeconfigs.admin, kubeconfigText(server, pki.caPem, 'admin', pki.tokens.admin), { mode: 0o600 });
    writeFileSync(path.join(dir, 'kubelet/config.yaml'), kubeletConfig(layout));
    writeFileSync(path.join(dir, 'kubelet/resolv.conf'), 'options ndots:1\n');
    writeFileSync(path.join(dir, 'config/kube-proxy.yaml'), kubeProxyConfig(layout, kubeconfigs.proxy));

    launch('kube-controller-manager', bins.controllerManager, [
      `--kubeconfig=${kubeconfigs.controllerManager}`,
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      '--use-service-account-credentials=true',
      '--leader-elect=false',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--secure-port=0',
      '--v=1',
    ]);
    launch('kube-scheduler', bins.scheduler, [`--kubeconfig=${kubeconfigs.scheduler}`, '--leader-elect=false', '--secure-port=0', '--v=1']);

    await waitFor('containerd', () => {
      alive(containerd);
      return existsSync(layout.containerdSocket);
    }, 60_000, 100);
    const ctr = (args: string[], timeoutMs = 300_000) => {
      const [c, a] = ns.wrap('ctr', ['--address', layout.containerdSocket, '--namespace', 'k8s.io', ...args]);
      return execRun(c, a, timeoutMs);
    };
    const importImage = async (archive: string) => {
      const r = await ctr(['images', 'import', '--no-unpack=false', archive]);
      if (r.code !== 0) throw new Error(`ctr images import ${archive} failed (${r.code}): ${r.stderr.trim()}`);
    };
    await importImage(pauseArchive);

    launch('kubelet', bins.kubelet, [
      `--config=${path.join(dir, 'kubelet/config.yaml')}`,
      `--kubeconfig=${kubeconfigs.kubelet}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${NODE_IP}`,
      '--v=1',
    ]);
    launch('kube-proxy', bins.proxy, [`--config=${path.join(dir, 'config/kube-proxy.yaml')}`, '--v=1']);

    const kubectl: RealCluster['kubectl'] = (args, o = {}) =>
      execRun(bins.kubectl, ['--kubeconfig', kubeconfigs.admin, ...args], o.timeoutMs ?? 120_000, o.input);
    const kubectlOk: RealCluster['kubectlOk'] = async (args, o) => {
      const r = await kubectl(args, o);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
      return r.stdout;
    };
    await waitFor('the node Ready', async () => {
      for (const c of components) alive(c);
      const r = await api('GET', `/api/v1/nodes/${NODE_NAME}`);
      return r.status === 200 && r.body?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
    }, opts.readyTimeoutMs ?? 180_000, 250);
    await waitFor('the default ServiceAccount', async () => (await api('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200, 120_000, 250);
    const startMs = Date.now() - t0;

    return {
      server,
      kubeconfig: kubeconfigs.admin,
      caPem: pki.caPem,
      token: pki.tokens.admin,
      nodeIp: NODE_IP,
      dir,
      startMs,
      kubectl,
      kubectlOk,
      api,
      importImage,
      async forward(target, port) {
        const f = await forwardFromHost(relaySocket, port ?? (await freePort()), target);
        forwards.push(f);
        return f;
      },
      wrap: (cmd, args) => ns.wrap(cmd, args),
      sh: (script, timeoutMs) => ns.sh(script, timeoutMs),
      logTail,
      stop,
    };
  } catch (e) {
    const diag = ['kube-apiserver', 'kubelet', 'containerd'].map((n) => `--- ${n}\n${logTail(n, 2000)}`).join('\n');
    await stop().catch((err) => console.error(String(err)));
    throw new Error(`${(e as Error).message}\n${diag}`);
  }
}

/** `signal` (default SIGTERM), then SIGKILL after 5 s for those still running; resolves when all exited. */
async function terminate(list: Component[], signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  await Promise.all(
    list.map(async (c) => {
      if (c.child.exitCode !== null || c.child.signalCode !== null) return;
      c.child.kill(signal);
      const t = setTimeout(() => c.child.kill('SIGKILL'), 5_000);
      await c.exited;
      clearTimeout(t);
    }),
  );
}

function execRun(cmd: string, args: string[], timeoutMs: number, input?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}
