// A real Dapr sidecar (daprd, self-hosted, no placement/scheduler) on free loopback ports, for tests and benchmarks.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/ports.js';
import { peerPath } from '../helpers/peers.js';
import { start, waitFor, type Started } from '../helpers/process.js';

export interface Daprd {
  readonly appId: string;
  /** "http://127.0.0.1:<port>": the Dapr HTTP API. */
  readonly url: string;
  readonly httpPort: number;
  /** SIGKILL, then start again on the same ports (resolves when ready). */
  restart(opts?: { downMs?: number; signal?: NodeJS.Signals }): Promise<void>;
  /** Stops it (SIGTERM). */
  halt(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again after halt(). */
  resume(): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}

export interface DaprdOptions {
  appId: string;
  /** Component YAML documents, written to the resources folder. */
  components: string[];
  /** Port of the app this sidecar delivers to (subscriber). */
  appPort?: number;
  apiToken?: string;
  /** Max request body (daprd --max-body-size), e.g. "16Mi". */
  maxBodySize?: string;
}

/**
 * A pubsub.redis component named `name`. A message a subscriber did not acknowledge is redelivered after
 * processingTimeout, checked every redeliverInterval: short here (Dapr's defaults are 60 s each) so a test on a busy
 * machine sees redeliveries within its deadlines.
 */
export function redisPubsub(name: string, redisAddress: string, extraMetadata: Record<string, string> = {}): string {
  const meta = { redisHost: redisAddress, redisPassword: '', processingTimeout: '15s', redeliverInterval: '3s', ...extraMetadata };
  return [
    'apiVersion: dapr.io/v1alpha1',
    'kind: Component',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  type: pubsub.redis',
    '  version: v1',
    '  metadata:',
    ...Object.entries(meta).flatMap(([k, v]) => [`    - name: ${k}`, `      value: ${JSON.stringify(v)}`]),
  ].join('\n');
}

export async function startDaprd(opts: DaprdOptions): Promise<Daprd> {
  const bin = peerPath('daprd');
  const dir = mkdtempSync(path.join(tmpdir(), `daprd-${opts.appId}-`));
  opts.components.forEach((c, i) => writeFileSync(path.join(dir, `component-${i}.yaml`), c));
  const [httpPort, grpcPort, internalPort, publicPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const args = [
    '--app-id', opts.appId,
    '--mode', 'standalone',
    '--resources-path', dir,
    '--dapr-http-port', String(httpPort),
    '--dapr-grpc-port', String(grpcPort),
    '--dapr-internal-grpc-port', String(internalPort),
    '--dapr-public-port', String(publicPort),
    '--dapr-public-listen-address', '127.0.0.1',
    '--dapr-listen-addresses', '127.0.0.1',
    '--enable-metrics=false',
    '--placement-host-address', '',
    '--log-level', 'warn',
    '--max-body-size', opts.maxBodySize ?? '16Mi',
    ...(opts.appPort ? ['--app-port', String(opts.appPort), '--app-protocol', 'http'] : []),
  ];
  const env = { ...process.env, ...(opts.apiToken ? { DAPR_API_TOKEN: opts.apiToken } : {}) };
  const url = `http://127.0.0.1:${httpPort}`;
  let proc: Started | undefined;
  let log = '';

  async function launch(): Promise<void> {
    proc = start(bin, args, { env });
    const p = proc;
    await waitFor(
      `daprd ${opts.appId} on ${httpPort}`,
      async () => {
        if (p.child.exitCode !== null) throw new Error(`daprd exited: ${p.output().slice(-3000)}`);
        const res = await fetch(`${url}/v1.0/healthz`);
        return res.status === 204;
      },
      60_000,
      200,
    );
  }
  async function halt(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!proc) return;
    const p = proc;
    proc = undefined;
    await p.kill(signal);
    log += p.output();
  }
  await launch();
  return {
    appId: opts.appId,
    url,
    httpPort,
    async restart(o = {}) {
      await halt(o.signal ?? 'SIGKILL');
      await new Promise((r) => setTimeout(r, o.downMs ?? 1000));
      await launch();
    },
    halt,
    resume: launch,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => log + (proc?.output() ?? ''),
  };
}
