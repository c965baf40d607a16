// Exporter ingest benchmark: ~500-byte records over the Unix socket from several connections, counting only acknowledged
// (durably committed) lines. Prints: durable ingest rate, ack latency p50/p99, exporter peak RSS (VmHWM), for
// queue.synchronous NORMAL and FULL; then the end-to-end rate into a local HTTP receiver through the HTTP sink.
// Run: npx tsc -b exporter && node --import tsx bench/exporter-ingest.ts
// The exporter is started as shipped: its bin is run through the interpreter line at its top (as the kernel does for
// npm's bin link), which carries the exporter's node options; each run prints the node command line and NODE_OPTIONS.
// env: ONLY=normal|full|e2e, RECORDS, E2E_RECORDS, CONNECTIONS, EXPORTER_BIN (another build, for A/B runs),
// EXPORTER_NODE_ARGS (node command-line options added to the bin's line: they win over its NODE_OPTIONS, e.g.
// "--max-semi-space-size=16 --trace-gc"), EXPORTER_INGEST (JSON merged into the config's `ingest`, e.g.
// '{"maxPendingBytes":"4Mi"}')
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchRecord } from './_records.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const exporterBin = process.env['EXPORTER_BIN'] ?? path.join(root, 'exporter/dist/cli/main.js');
const RECORDS = Number(process.env['RECORDS'] ?? 600_000);
const E2E_RECORDS = Number(process.env['E2E_RECORDS'] ?? 300_000);
const CONNECTIONS = Number(process.env['CONNECTIONS'] ?? 4);
const LINES_PER_WRITE = 100;
const WINDOW_LINES = 20_000; // unacknowledged lines a connection keeps in flight

const record = (conn: number, i: number): string => benchRecord('bench', conn, i);

/** Pre-built write chunks (LINES_PER_WRITE lines each) so the client costs little CPU. */
function chunks(conn: number, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i += LINES_PER_WRITE) {
    let s = '';
    for (let j = i; j < Math.min(n, i + LINES_PER_WRITE); j++) s += record(conn, j) + '\n';
    out.push(Buffer.from(s));
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** CPU time (user + system) the process has used so far, in microseconds, from /proc/<pid>/stat. */
function cpuMicros(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
  return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * The bin's `#!` line as the kernel runs it: the interpreter, then everything after it as one argument. Extra node
 * options go at the end of that line (made an `env -S` line if it was not one), so node gets them on its command line.
 */
function interpreterLine(bin: string, extraNodeArgs: string): { file: string; args: string[] } {
  const first = fs.readFileSync(bin, 'utf8').split('\n')[0]!;
  const m = /^#!\s*(\S+)(?:\s+(.*))?$/.exec(first);
  if (!m) return { file: process.execPath, args: extraNodeArgs.split(' ').filter(Boolean) };
  let line = (m[2] ?? '').trim();
  if (extraNodeArgs.trim()) line = `${line.startsWith('-S ') ? line : `-S ${line}`} ${extraNodeArgs.trim()}`;
  return { file: m[1]!, args: line ? [line] : [] };
}

/** How the running exporter was started: node's command line and the NODE_OPTIONS it got. */
function startedAs(pid: number): string {
  const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const nodeOptions = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith('NODE_OPTIONS='));
  return `${cmdline.map((a) => path.relative(root, a).startsWith('..') ? a : path.relative(root, a)).join(' ')}; ${nodeOptions ?? 'NODE_OPTIONS unset'}`;
}

async function waitForSocket(file: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`exporter exited: ${log()}`);
    if (fs.existsSync(file)) {
      console.log(`  exporter: ${startedAs(child.pid!)}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`exporter did not listen: ${log()}`);
}

function startExporter(dir: string, cfg: object): { child: ChildProcess; log: () => string } {
  const cfgFile = path.join(dir, 'config.json');
  const ingest = process.env['EXPORTER_INGEST'];
  fs.writeFileSync(cfgFile, JSON.stringify(ingest ? { ...cfg, ingest: JSON.parse(ingest) as object } : cfg));
  const { file, args } = interpreterLine(exporterBin, process.env['EXPORTER_NODE_ARGS'] ?? '');
  const child = spawn(file, [...args, exporterBin, 'run', '--config', cfgFile, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-4000);
    if (process.env['BENCH_DEBUG']) process.stderr.write(d);
  });
  return { child, log: () => out };
}

async function stopExporter(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const t0 = performance.now();
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(t);
  if (performance.now() - t0 > 2000) console.log(`  (exporter took ${((performance.now() - t0) / 1000).toFixed(1)} s to stop)`);
}

/** One client connection: writes its chunks keeping at most WINDOW_LINES unacknowledged; resolves when all are acked. */
function runConnection(socketPath: string, data: Buffer[], total: number, latencies: number[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    const sentAt: number[] = []; // per chunk: time written
    let next = 0;
    let sentLines = 0;
    let acked = 0;
    let buf = '';
    let latencyIdx = 0;
    let waitingDrain = false;
    const pump = () => {
      if (waitingDrain) return;
      while (next < data.length && sentLines - acked < WINDOW_LINES) {
        sentAt.push(performance.now());
        sentLines = Math.min(total, sentLines + LINES_PER_WRITE);
        if (!s.write(data[next++]!)) {
          waitingDrain = true;
          s.once('drain', () => {
            waitingDrain = false;
            pump();
          });
          return;
        }
      }
    };
    s.on('connect', pump);
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^\{"ack":(\d+)\}$/.exec(line);
        if (!m) {
          reject(new Error(`unexpected line from exporter: ${line}`));
          return;
        }
        acked = Number(m[1]);
        const now = performance.now();
        // Latency of every chunk fully covered by this ack.
        while (latencyIdx < sentAt.length && (latencyIdx + 1) * LINES_PER_WRITE <= acked) latencies.push(now - sentAt[latencyIdx++]!);
        if (acked >= total) {
          s.end();
          resolve();
          return;
        }
        pump();
      }
    });
    s.on('error', reject);
  });
}

async function ingestRun(sync: 'normal' | 'full'): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-exporter-'));
  const socketPath = path.join(dir, 'exporter.sock');
  // A sink that is down (nothing listens): delivery backs off and costs nothing, so this measures ingest alone.
  const { child, log } = startExporter(dir, {
    socket: socketPath,
    queue: { path: path.join(dir, 'queue.db'), maxBytes: '4Gi', synchronous: sync },
    sinks: [{ name: 'down', type: 'http', url: 'http://127.0.0.1:9/ingest', retry: { initialMs: 5000, maxMs: 5000 } }],
  });
  try {
    await waitForSocket(socketPath, child, log);
    const per = Math.floor(RECORDS / CONNECTIONS);
    const data = Array.from({ length: CONNECTIONS }, (_, c) => chunks(c, per));
    const latencies: number[] = [];
    const cpu0 = cpuMicros(child.pid!);
    const t0 = performance.now();
    await Promise.all(data.map((d) => runConnection(socketPath, d, per, latencies)));
    const secs = (performance.now() - t0) / 1000;
    const cpuPerRecord = (cpuMicros(child.pid!) - cpu0) / (per * CONNECTIONS);
    latencies.sort((a, b) => a - b);
    const rss = peakRssMb(child.pid!);
    console.log(
      `ingest  synchronous=${sync.toUpperCase().padEnd(6)} ${per * CONNECTIONS} records x ~500 B over ${CONNECTIONS} connections: ` +
        `${Math.round((per * CONNECTIONS) / secs).toLocaleString('en-US')} records/s durable (acked); ` +
        `ack latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms; exporter CPU ${cpuPerRecord.toFixed(2)} µs/record; peak RSS ${rss.toFixed(0)} MB`,
    );
  } finally {
    await stopExporter(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function endToEndRun(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-exporter-'));
  const socketPath = path.join(dir, 'exporter.sock');
  let received = 0;
  let done: () => void = () => {};
  const allReceived = new Promise<void>((r) => (done = r));
  const receiver = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => {
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) n++;
    });
    req.on('end', () => {
      received += n;
      res.writeHead(200).end();
      if (received >= E2E_RECORDS) done();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = (receiver.address() as net.AddressInfo).port;
  const { child, log } = startExporter(dir, {
    socket: socketPath,
    queue: { path: path.join(dir, 'queue.db'), maxBytes: '4Gi' },
    sinks: [{ name: 'web', type: 'http', url: `http://127.0.0.1:${port}/ingest`, batch: { maxRecords: 2000, maxBytes: '4Mi', lingerMs: 20 } }],
  });
  try {
    await waitForSocket(socketPath, child, log);
    const per = Math.floor(E2E_RECORDS / CONNECTIONS);
    const data = Array.from({ length: CONNECTIONS }, (_, c) => chunks(c, per));
    const cpu0 = cpuMicros(child.pid!);
    const t0 = performance.now();
    await Promise.all(data.map((d) => runConnection(socketPath, d, per, [])));
    const tAcked = performance.now();
    await Promise.race([allReceived, new Promise((_, rej) => setTimeout(() => rej(new Error(`receiver got ${received}/${E2E_RECORDS}`)), 120_000))]);
    const secs = (performance.now() - t0) / 1000;
    const cpuPerRecord = (cpuMicros(child.pid!) - cpu0) / (per * CONNECTIONS);
    const rss = peakRssMb(child.pid!);
    console.log(
      `e2e     socket -> queue -> HTTP sink -> local receiver, ${per * CONNECTIONS} records: ${Math.round((per * CONNECTIONS) / secs).toLocaleString('en-US')} records/s ` +
        `(all acked after ${((tAcked - t0) / 1000).toFixed(2)} s, all received after ${secs.toFixed(2)} s); exporter CPU ${cpuPerRecord.toFixed(2)} µs/record; peak RSS ${rss.toFixed(0)} MB`,
    );
  } finally {
    await stopExporter(child);
    receiver.closeAllConnections();
    receiver.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (!fs.existsSync(exporterBin)) {
  console.log(`exporter-ingest: ${exporterBin} missing: build first (npx tsc -b exporter)`);
} else {
  console.log(`exporter-ingest: node ${process.version}, ${os.cpus().length} CPUs`);
  const only = process.env['ONLY'];
  if (!only || only === 'normal') await ingestRun('normal');
  if (!only || only === 'full') await ingestRun('full');
  if (!only || only === 'e2e') await endToEndRun();
}
process.exit(0);
