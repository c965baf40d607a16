// Exporter at webhook-like rates: C connections each writing a burst of K ~500-byte records on a schedule that adds up to
// a target rate (default 10,000 records/s in 5-record writes on one connection: what the webhook's client sends at
// ~2,000 denied reviews/s), into the file sink the webhook bench uses. The exporter's cost per record is what matters
// here, not its peak rate: small bursts mean small commits, and each commit and each delivered batch has a fixed cost.
// Prints, over the measured window (after a warm-up): exporter CPU µs per record, ingest commits/s, delivered batches/s,
// fsyncs/s per file (strace, when installed), ack latency p50/p99 (write to the ack that covers it), delivery lag.
// Run: npx tsc -b exporter && node --import tsx bench/exporter-paced.ts
// Env: RATE (records/s, default 10000), BURST (records per write, default 5), CONNECTIONS (default 1), SECONDS (measured,
// default 10), WARMUP_SECONDS (default 2), SYNC (queue.synchronous, default: the exporter's), EXPORTER_INGEST /
// EXPORTER_QUEUE / EXPORTER_SINK (JSON merged into the config's `ingest`, `queue`, and the file sink, e.g.
// '{"batchLinger":"2ms"}', '{"batch":{"linger":"100ms"}}'), EXPORTER_BIN (another build, for interleaved A/B runs),
// EXPORTER_NODE_ARGS (node options added through NODE_OPTIONS after the bin's own, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), STRACE=0 (no fsync count), ROUNDS (repeat, default 1).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchRecord } from './_records.js';
import { interpreterLine } from './_exporter-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const exporterBin = process.env['EXPORTER_BIN'] ?? path.join(root, 'exporter/dist/cli/main.js');
const RATE = Number(process.env['RATE'] ?? 10_000);
const BURST = Number(process.env['BURST'] ?? 5);
const CONNECTIONS = Number(process.env['CONNECTIONS'] ?? 1);
const SECONDS = Number(process.env['SECONDS'] ?? 10);
const WARMUP_SECONDS = Number(process.env['WARMUP_SECONDS'] ?? 2);
const ROUNDS = Number(process.env['ROUNDS'] ?? 1);
const TICK_MS = 1;

function json(name: string): Record<string, unknown> {
  const v = process.env[name];
  return v ? (JSON.parse(v) as Record<string, unknown>) : {};
}

function hasStrace(): boolean {
  if (process.env['STRACE'] === '0') return false;
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const record = (conn: number, i: number): string => benchRecord('paced', conn, i);

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** User and system CPU of a process so far, in microseconds (/proc/<pid>/stat; USER_HZ is 100 on Linux). */
function cpuMicros(pid: number): { user: number; sys: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(f[11]) * 1e6) / 100, sys: (Number(f[12]) * 1e6) / 100 };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The counters this bench reads from /metrics (sums over their labels). */
async function scrape(port: number): Promise<{ commits: number; batches: number; delivered: number; received: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sum = (name: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return {
    commits: sum('exporter_ingest_batch_records_count'),
    batches: sum('exporter_delivery_seconds_count'),
    delivered: sum('exporter_records_delivered_total'),
    received: sum('exporter_records_received_total'),
  };
}

interface Exporter {
  child: ChildProcess;
  /** The node process (under strace, strace's child). */
  pid: number;
  metricsPort: number;
  straceOut: string | undefined;
  log: () => string;
}

async function startExporter(dir: string, strace: boolean): Promise<Exporter> {
  const cfgFile = path.join(dir, 'config.json');
  const metricsPort = await freePort();
  const queue: Record<string, unknown> = { path: path.join(dir, 'queue.db'), ...json('EXPORTER_QUEUE') };
  if (process.env['SYNC']) queue['synchronous'] = process.env['SYNC'];
  const cfg = {
    socket: path.join(dir, 'exporter.sock'),
    ingest: json('EXPORTER_INGEST'),
    queue,
    sinks: [{ name: 'local', type: 'file', path: path.join(dir, 'decisions.ndjson'), ...json('EXPORTER_SINK') }],
    metrics: { address: `127.0.0.1:${metricsPort}` },
  };
  fs.writeFileSync(cfgFile, JSON.stringify(cfg));
  const { file, args } = interpreterLine(exporterBin);
  const cmd = [file, ...args, exporterBin, 'run', '--config', cfgFile, '--log-level', 'warn'];
  const straceOut = strace ? path.join(dir, 'strace.txt') : undefined;
  // --seccomp-bpf: only the traced calls stop the process, so the rest runs at full speed.
  const argv = straceOut ? ['strace', '-f', '--seccomp-bpf', '-y', '-ttt', '-e', 'trace=fsync,fdatasync', '-o', straceOut, ...cmd] : cmd;
  const env = { ...process.env, NODE_OPTIONS: [process.env['NODE_OPTIONS'], process.env['EXPORTER_NODE_ARGS']].filter(Boolean).join(' ') };
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const log = () => out;
  for (let i = 0; i < 400 && !fs.existsSync(cfg.socket); i++) {
    if (child.exitCode !== null) throw new Error(`exporter exited: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!fs.existsSync(cfg.socket)) throw new Error(`exporter did not listen: ${log()}`);
  let pid = child.pid!;
  if (straceOut) {
    const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    if (children.length !== 1) throw new Error(`strace has ${children.length} children`);
    pid = Number(children[0]);
  }
  return { child, pid, metricsPort, straceOut, log };
}

/** SIGTERM to the node process itself (strace, when it runs the exporter, does not pass it on), then waits for the child. */
async function stopExporter(ex: Exporter): Promise<void> {
  const { child } = ex;
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(ex.pid, 'SIGTERM');
  const t = setTimeout(() => process.kill(ex.pid, 'SIGKILL'), 20_000);
  await exited;
  clearTimeout(t);
}

/** fsync / fdatasync calls between two wall-clock times (seconds), per file (the queue's WAL, the sink's file, …). */
function fsyncsBetween(file: string, from: number, to: number, dir: string): Map<string, number> {
  const per = new Map<string, number>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\d+\s+(\d+\.\d+)\s+(fsync|fdatasync)\(\d+<([^>]*)>/.exec(line);
    if (!m) continue;
    const t = Number(m[1]);
    if (t < from || t >= to) continue;
    const key = `${m[2]} ${path.relative(dir, m[3]!) || m[3]}`;
    per.set(key, (per.get(key) ?? 0) + 1);
  }
  return per;
}

/** One connection: writes BURST-record chunks on schedule; records each write's ack latency once measuring. */
class PacedConnection {
  private readonly socket: net.Socket;
  private readonly sentAt: number[] = [];
  private ackedWrites = 0;
  private lines = 0;
  private buf = '';
  measuring = false;
  readonly latencies: number[] = [];
  acked = 0;

  constructor(
    socketPath: string,
    private readonly id: number,
  ) {
    this.socket = net.connect(socketPath);
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('error', (e) => {
      throw e;
    });
  }

  ready(): Promise<void> {
    return new Promise((r) => this.socket.once('connect', () => r()));
  }

  writeBurst(): void {
    let s = '';
    for (let i = 0; i < BURST; i++) s += record(this.id, this.lines++) + '\n';
    this.sentAt.push(this.measuring ? performance.now() : -1);
    this.socket.write(s);
  }

  get sent(): number {
    return this.lines;
  }

  private onData(d: Buffer): void {
    this.buf += d.toString();
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const m = /^\{"ack":(\d+)\}$/.exec(line);
      if (!m) throw new Error(`unexpected line from the exporter: ${line}`);
      this.acked = Number(m[1]);
      const now = performance.now();
      while (this.ackedWrites < this.sentAt.length && (this.ackedWrites + 1) * BURST <= this.acked) {
        const t = this.sentAt[this.ackedWrites++]!;
        if (t >= 0 && this.measuring) this.latencies.push(now - t);
      }
    }
  }

  end(): void {
    this.socket.end();
  }
}

/** Writes bursts so that the connections together send RATE records/s since `p.start`, until `until` (performance.now() ms). */
async function pace(conns: PacedConnection[], p: { start: number; bursts: number }, until: number): Promise<void> {
  const perMs = RATE / 1000 / BURST; // bursts per ms, all connections together
  while (performance.now() < until) {
    const due = Math.floor((performance.now() - p.start) * perMs) - p.bursts;
    for (let i = 0; i < due; i++) conns[p.bursts++ % conns.length]!.writeBurst();
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
}

async function round(strace: boolean): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-paced-'));
  const ex = await startExporter(dir, strace);
  try {
    const conns = Array.from({ length: CONNECTIONS }, (_, i) => new PacedConnection(path.join(dir, 'exporter.sock'), i));
    await Promise.all(conns.map((c) => c.ready()));
    const pacer = { start: performance.now(), bursts: 0 };
    await pace(conns, pacer, pacer.start + WARMUP_SECONDS * 1000);
    for (const c of conns) c.measuring = true;
    const m0 = await scrape(ex.metricsPort);
    const cpu0 = cpuMicros(ex.pid);
    const sent0 = conns.reduce((n, c) => n + c.sent, 0);
    const wall0 = Date.now() / 1000;
    const t1 = performance.now();
    await pace(conns, pacer, t1 + SECONDS * 1000);
    const secs = (performance.now() - t1) / 1000;
    const wall1 = Date.now() / 1000;
    const cpu1 = cpuMicros(ex.pid);
    const m1 = await scrape(ex.metricsPort);
    const sent = conns.reduce((n, c) => n + c.sent, 0) - sent0;
    for (const c of conns) c.measuring = false;
    const latencies = conns.flatMap((c) => c.latencies).sort((a, b) => a - b);
    const lag = m1.received - m1.delivered;
    const parts = [
      `${Math.round(sent / secs).toLocaleString('en-US')} records/s sent (${BURST}/write, ${CONNECTIONS} conn)`,
      `exporter CPU ${((cpu1.user + cpu1.sys - cpu0.user - cpu0.sys) / sent).toFixed(1)} µs/record (user ${((cpu1.user - cpu0.user) / sent).toFixed(1)}, sys ${((cpu1.sys - cpu0.sys) / sent).toFixed(1)})`,
      `commits ${Math.round((m1.commits - m0.commits) / secs)}/s (${((m1.received - m0.received) / Math.max(1, m1.commits - m0.commits)).toFixed(1)} rec)`,
      `batches ${Math.round((m1.batches - m0.batches) / secs)}/s (${((m1.delivered - m0.delivered) / Math.max(1, m1.batches - m0.batches)).toFixed(1)} rec)`,
      `ack p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms`,
      `delivery lag ${lag} records`,
    ];
    if (ex.straceOut) {
      const per = fsyncsBetween(ex.straceOut, wall0, wall1, dir);
      const total = [...per.values()].reduce((a, b) => a + b, 0);
      const detail = [...per.entries()].map(([k, v]) => `${k} ${Math.round(v / secs)}`).join(', ');
      parts.push(`fsyncs ${Math.round(total / secs)}/s (${detail})`);
    }
    for (const c of conns) c.end();
    return parts.join('; ');
  } finally {
    await stopExporter(ex);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (!fs.existsSync(exporterBin)) {
  console.log(`exporter-paced: ${exporterBin} missing: build first (npx tsc -b exporter)`);
} else {
  const strace = hasStrace();
  console.log(
    `exporter-paced: node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ` +
      `${RATE}/s in ${BURST}-record writes, ${SECONDS} s measured${strace ? '' : ' (no strace: fsyncs not counted)'}`,
  );
  for (let i = 0; i < ROUNDS; i++) console.log(`paced   ${await round(strace)}`);
}
process.exit(0);
