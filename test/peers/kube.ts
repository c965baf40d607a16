// A real Kubernetes control plane for tests: etcd and kube-apiserver on free loopback ports (no kubelet, no
// controller-manager: CRDs, admission webhooks, discovery, watches and status subresources all work without them),
// an admin token (system:masters), a kubeconfig file and the matching kubectl.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { peerPath } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, waitFor, type Started } from '../helpers/process.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubeCluster {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** Bearer token of the admin user (group system:masters). */
  readonly token: string;
  /** A kubeconfig file for the admin user, trusted CA included. */
  readonly kubeconfig: string;
  /** PEM of the CA that signed the API server's serving certificate. */
  readonly caPem: string;
  /** Scratch directory of this cluster (removed by stop()). */
  readonly dir: string;
  readonly kubectlPath: string;
  /** Runs kubectl against this cluster; never throws on a non-zero exit (look at code). */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** Like kubectl(), but throws with kubectl's stderr when it exits non-zero; returns stdout. */
  kubectlOk(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** A raw API request as the admin user; body is JSON (or a string sent as is). */
  api(method: string, apiPath: string, body?: unknown, contentType?: string): Promise<{ status: number; body: any }>;
  /** Stops kube-apiserver and starts it again on the same port and etcd (watches break; clients must recover). */
  restartApiserver(): Promise<void>;
  /** Output of etcd and kube-apiserver so far, for diagnostics. */
  logs(): string;
  stop(): Promise<void>;
}

export interface StartKubeOptions {
  /** Extra kube-apiserver flags. */
  apiserverArgs?: string[];
  /** How long to wait for /readyz (default 120 s: the first start on a busy 2-core machine is slow). */
  readyTimeoutMs?: number;
}

export async function startKube(opts: StartKubeOptions = {}): Promise<KubeCluster> {
  const etcdBin = peerPath('etcd');
  const apiserverBin = peerPath('kube-apiserver');
  const kubectlPath = peerPath('kubectl');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gk-kube-'));
  const procs: Started[] = [];
  const stop = async () => {
    for (const p of procs.reverse()) {
      const exited = p.kill('SIGTERM');
      const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    procs.length = 0;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [etcdClient, etcdPeer, securePort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcd = start(etcdBin, [
      '--name=default',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    procs.push(etcd);
    await waitFor(
      'etcd /health',
      async () => {
        if (etcd.child.exitCode !== null) throw new Error(`etcd exited: ${etcd.output().slice(-2000)}`);
        const r = await request(`${etcdUrl}/health`);
        const text = await r.body.text();
        return r.statusCode === 200 && text.includes('"true"');
      },
      60_000,
      200,
    );

    const token = randomBytes(24).toString('hex');
    await writeFile(path.join(dir, 'tokens.csv'), `${token},admin,admin,system:masters\n`, { mode: 0o600 });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = path.join(dir, 'sa.key');
    await writeFile(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
    const certDir = path.join(dir, 'certs');
    const server = `https://127.0.0.1:${securePort}`;
    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${certDir}`,
      `--secure-port=${securePort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${saKey}`,
      `--service-account-signing-key-file=${saKey}`,
      `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      // No controller-manager runs, so no namespace gets its "default" ServiceAccount: without this, Pods are refused.
      '--disable-admission-plugins=ServiceAccount',
      '--v=1',
      ...(opts.apiserverArgs ?? []),
    ];
    let apiserver = start(apiserverBin, apiserverArgs);
    procs.push(apiserver);

    // The API server writes a self-signed CA and serving certificate into cert-dir; the .crt holds the chain.
    const crtFile = path.join(certDir, 'apiserver.crt');
    const chain = await waitFor(
      'kube-apiserver serving certificate',
      async () => {
        if (apiserver.child.exitCode !== null) throw new Error(`kube-apiserver exited: ${apiserver.output().slice(-3000)}`);
        return readFile(crtFile, 'utf8').catch(() => '');
      },
      60_000,
      200,
    );
    const caPem = chain;
    const dispatcher = new Agent({ connect: { ca: caPem }, connections: 16 });
    const api: KubeCluster['api'] = async (method, apiPath, body, contentType) => {
      const r = await request(`${server}${apiPath}`, {
        method: method as any,
        dispatcher,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': contentType ?? 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await r.body.text();
      let parsed: any = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* plain text (e.g. /readyz) */
      }
      return { status: r.statusCode, body: parsed };
    };
    const apiserverReady = () =>
      waitFor(
        'kube-apiserver /readyz',
        async () => {
          if (apiserver.child.exitCode !== null) throw new Error(`kube-apiserver exited: ${apiserver.output().slice(-3000)}`);
          const r = await api('GET', '/readyz');
          return r.status === 200;
        },
        opts.readyTimeoutMs ?? 120_000,
        250,
      );
    await apiserverReady();
    const restartApiserver = async () => {
      const old = apiserver;
      await old.kill('SIGTERM');
      procs.splice(procs.indexOf(old), 1);
      apiserver = start(apiserverBin, apiserverArgs);
      procs.push(apiserver);
      await apiserverReady();
    };

    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: test',
        '  cluster:',
        `    server: ${server}`,
        `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
        'users:',
        '- name: admin',
        '  user:',
        `    token: ${token}`,
        'contexts:',
        '- name: test',
        '  context: {cluster: test, user: admin}',
        'current-context: test',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );

    const kubectl: KubeCluster['kubectl'] = (args, o = {}) =>
      new Promise((resolve) => {
        const child = execFile(
          kubectlPath,
          ['--kubeconfig', kubeconfig, ...args],
          { timeout: o.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUBECONFIG: kubeconfig } },
          (err, stdout, stderr) => {
            const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
            resolve({ code, stdout, stderr });
          },
        );
        if (o.input !== undefined) child.stdin!.end(o.input);
        else child.stdin!.end();
      });
    const kubectlOk: KubeCluster['kubectlOk'] = async (args, o) => {
      const r = await kubectl(args, o);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
      return r.stdout;
    };
    return {
      server,
      token,
      kubeconfig,
      caPem,
      dir,
      kubectlPath,
      kubectl,
      kubectlOk,
      api,
      restartApiserver,
      logs: () => procs.map((p) => p.output()).join('\n----\n'),
      stop: async () => {
        await dispatcher.close().catch(() => undefined);
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
