// Test helpers for the exporter as a real process: start the built binary, talk the socket protocol, read metrics,
// run a real HTTP receiver.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { bins } from '../../../test/helpers/peers.js';
import { freePort } from '../../../test/helpers/ports.js';
import { start, waitFor, type Started } from '../../../test/helpers/process.js';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A short temporary directory (tap's fixture paths are too long for a Unix socket's 107 bytes), removed at teardown. */
export function shortDir(t: Teardown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exp-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface RunningProc {
  proc: Started;
  dir: string;
  socket: string;
  queuePath: string;
  cfgFile: string;
  metricsUrl: string;
}

/** Writes cfg (JSON) into dir and starts `exporter run --config`; resolves once the socket accepts connections. */
export async function startExporter(
  t: Teardown,
  dir: string,
  cfg: Record<string, unknown>,
  opts: { env?: NodeJS.ProcessEnv; args?: string[]; waitReady?: boolean } = {},
): Promise<RunningProc> {
  const port = await freePort();
  const full = {
    socket: path.join(dir, 'exporter.sock'),
    queue: { path: path.join(dir, 'queue.db') },
    metrics: { address: `127.0.0.1:${port}` },
    ...cfg,
  } as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const cfgFile = path.join(dir, 'exporter.json');
  fs.writeFileSync(cfgFile, JSON.stringify(full, null, 2));
  const proc = start(process.execPath, [bins.exporter, 'run', '--config', cfgFile, ...(opts.args ?? [])], {
    env: { ...process.env, ...opts.env },
  });
  t.teardown(() => proc.kill('SIGKILL'));
  const r: RunningProc = { proc, dir, socket: full.socket, queuePath: full.queue.path, cfgFile, metricsUrl: `http://127.0.0.1:${port}` };
  if (opts.waitReady !== false) {
    await waitFor(
      `exporter listening on ${full.socket}; output: ${proc.output()}`,
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`exporter exited ${proc.child.exitCode}: ${proc.output()}`);
        return (await fetch(`${r.metricsUrl}/readyz`)).ok;
      },
      30_000,
      50,
    );
  }
  return r;
}

/** Runs the exporter CLI to completion (status, dead-letters, a config that must be refused...). */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | string; out: string }> {
  const p = start(process.execPath, [bins.exporter, ...args], { env: { ...process.env, ...env } });
  const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, out: p.output() };
}

/** A protocol client: writes lines, collects `{"ack":N}` and `{"error":...}` lines. */
export class Client {
  readonly socket: net.Socket;
  acked = 0;
  readonly errors: { error: string; reason?: string; line: number }[] = [];
  closed = false;
  private buf = '';
  private readonly connected: Promise<void>;

  constructor(file: string) {
    this.socket = net.connect(file);
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const msg = JSON.parse(line) as { ack?: number; error?: string; line?: number; reason?: string };
        if (typeof msg.ack === 'number') {
          if (msg.ack < this.acked) throw new Error(`ack went backwards: ${msg.ack} < ${this.acked}`);
          this.acked = msg.ack;
        } else this.errors.push(msg as { error: string; line: number });
      }
    });
  }

  static async connect(file: string): Promise<Client> {
    const c = new Client(file);
    await c.connected;
    return c;
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (e) => (e ? reject(e) : resolve())));
  }

  async waitAck(n: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(`ack ${n} (have ${this.acked})`, () => this.acked >= n, timeoutMs, 20);
  }

  /** Half-closes (the exporter still acks what it read), then waits for the exporter to close. */
  async endAndWait(timeoutMs = 30_000): Promise<void> {
    this.socket.end();
    await waitFor('exporter closing the connection', () => this.closed, timeoutMs, 20);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export function record(decisionId: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ decisionId, eventType: 'admission_decision', timestamp: '2026-11-24T10:00:00Z', ...extra });
}

/** Reads one metric sample from the exporter's /metrics (0 when absent). */
export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',').filter(Boolean).sort();
    if (want.every((w) => have.includes(w))) return Number(m[3]);
  }
  return 0;
}

export function readNdjson(file: string): Record<string, unknown>[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export type ReceiverMode = 'ok' | 'down503' | 'reject400';

/** A real HTTP receiver for the HTTP sink: records every accepted ndjson record; its answer can be switched. */
export class Receiver {
  readonly records: Record<string, unknown>[] = [];
  mode: ReceiverMode = 'ok';
  /** Delay before answering, to make a slow sink. */
  delayMs = 0;
  requests = 0;
  /** Lines received, answered or not (records holds only accepted ones). */
  linesReceived = 0;
  /** While true, requests wait unanswered (a stalled sink) until release(). */
  hold = false;
  /** A request holding a record this accepts is refused whole with refuseStatus (a receiver validating each record). */
  refuse: ((record: Record<string, unknown>) => boolean) | undefined;
  refuseStatus = 400;
  /** Sent as Retry-After with every 503 of down503 (e.g. "100000" seconds, or an HTTP-date). */
  retryAfter: string | undefined;
  /** Requests refused by `refuse`. */
  refused = 0;
  private held: (() => void)[] = [];
  private server!: http.Server;
  url = '';

  static async start(t: Teardown, mode: ReceiverMode = 'ok', port?: number): Promise<Receiver> {
    const r = new Receiver();
    r.mode = mode;
    r.server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        r.requests++;
        const body = Buffer.concat(parts).toString();
        r.linesReceived += body.split('\n').filter((l) => l).length;
        const answer = () => {
          if (r.mode === 'down503') return res.writeHead(503, r.retryAfter ? { 'retry-after': r.retryAfter } : {}).end('down');
          if (r.mode === 'reject400') return res.writeHead(400).end('bad request');
          const got = body.split('\n').filter((l) => l).map((l) => JSON.parse(l) as Record<string, unknown>);
          const bad = r.refuse ? got.find(r.refuse) : undefined;
          if (bad) {
            r.refused++;
            return res.writeHead(r.refuseStatus).end(`record ${String(bad['decisionId'])} is invalid`);
          }
          r.records.push(...got);
          res.writeHead(200).end();
        };
        if (r.hold) r.held.push(answer);
        else if (r.delayMs) setTimeout(answer, r.delayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve) => r.server.listen(port ?? 0, '127.0.0.1', resolve));
    r.url = `http://127.0.0.1:${(r.server.address() as net.AddressInfo).port}/ingest`;
    t.teardown(() => r.close());
    return r;
  }

  release(): void {
    this.hold = false;
    for (const a of this.held.splice(0)) a();
  }

  ids(): string[] {
    return this.records.map((r) => r['decisionId'] as string);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Fast retries for tests, so a recovering sink is noticed within a second. */
export const quickRetry = { initial: '50ms', multiplier: 2, max: '500ms', jitter: 0.1, maxAttempts: 3 };
