// Exporter ingest benchmark: ~500-byte records over the Unix socket, counting only acknowledged (durably committed)
// lines. Prints, per build (before/after when BASE_EXPORTER_BIN is set, interleaved scenario by scenario):
// - normal, full: durable ingest from several connections, no sink active (its peer is down), queue.synchronous
//   NORMAL and FULL: rate, ack latency p50/p99, exporter CPU per record, peak RSS (VmHWM);
// - one: durable ingest on one connection while an HTTP sink delivers to a local receiver at the same time;
// - e2e: end to end, several connections -> queue -> HTTP sink -> local receiver: rate and peak RSS.
// CPU per record is given for the whole process, its main thread and its busiest other thread (the queue's writer thread
// when queue.writerThread is on): the main thread's is what one core caps when the other is free.
// Run: npx tsc -b exporter && node --import tsx bench/exporter-ingest.ts
// env: ONLY=normal|full|one|e2e (comma-separated), RECORDS, E2E_RECORDS, CONNECTIONS, E2E_SINK (http, default, or otlp:
// one and e2e through the OTLP sink in its JSON encoding, which the receiver counts), EXPORTER_INGEST (JSON merged into
// the config's `ingest`, e.g. '{"maxPendingBytes":"4Mi"}'), EXPORTER_QUEUE (the same for `queue`, e.g.
// '{"synchronous":"normal"}'), EXPORTER_SINK (the same for the one and e2e scenarios' sink, e.g. a filter that keeps
// every record: '{"filter":{"exclude":{"namespaces":["kube-system"]}}}'), and those of bench/_exporter-process.ts (EXPORTER_BIN, BASE_EXPORTER_BIN,
// EXPORTER_NODE_ARGS, BENCH_DEBUG).
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { benchRecord } from './_records.js';
import { builds, cpuMicros, peakRssMb, startExporter, stopExporter, type Build, type ExporterConfigFile } from './_exporter-process.js';

const RECORDS = Number(process.env['RECORDS'] ?? 600_000);
const E2E_RECORDS = Number(process.env['E2E_RECORDS'] ?? 300_000);
const CONNECTIONS = Number(process.env['CONNECTIONS'] ?? 4);
const E2E_SINK = process.env['E2E_SINK'] === 'otlp' ? 'otlp' : 'http';
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

/** CPU time of each of the process's threads, in µs, by thread id (the main thread's is the pid). */
function threadCpuMicros(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(t), ((Number(f[11]) + Number(f[12])) * 1e6) / 100);
    } catch {
      // the thread ended in between
    }
  }
  return out;
}

/**
 * Per record: the main thread's CPU (what caps ingest when the other core is free) and the busiest other thread's (the
 * queue's writer thread when queue.writerThread is on; else a libuv or V8 helper).
 */
function threadSplit(pid: number, before: Map<number, number>, records: number): string {
  const after = threadCpuMicros(pid);
  const main = ((after.get(pid) ?? 0) - (before.get(pid) ?? 0)) / records;
  let busiest = 0;
  for (const [tid, us] of after) if (tid !== pid) busiest = Math.max(busiest, (us - (before.get(tid) ?? 0)) / records);
  return `main thread ${main.toFixed(2)}, busiest other ${busiest.toFixed(2)}`;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** EXPORTER_SINK: keys merged into the delivering sink's configuration. */
function sinkExtra(): object {
  const extra = process.env['EXPORTER_SINK'];
  return extra ? (JSON.parse(extra) as object) : {};
}

function withIngest(cfg: ExporterConfigFile): ExporterConfigFile {
  const ingest = process.env['EXPORTER_INGEST'];
  const queue = process.env['EXPORTER_QUEUE'];
  return {
    ...cfg,
    ...(ingest ? { ingest: JSON.parse(ingest) as object } : {}),
    ...(queue ? { queue: { ...(cfg['queue'] as object), ...(JSON.parse(queue) as object) } } : {}),
  };
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

async function ingestRun(build: Build, sync: 'normal' | 'full'): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-exporter-'));
  const socketPath = path.join(dir, 'exporter.sock');
  // A sink that is down (nothing listens): delivery backs off and costs nothing, so this measures ingest alone.
  const { child } = await startExporter(build.bin, dir, withIngest({
    socket: socketPath,
    queue: { path: path.join(dir, 'queue.db'), maxBytes: '4Gi', synchronous: sync },
    sinks: [{ name: 'down', type: 'http', url: 'http://127.0.0.1:9/ingest', retry: { initial: '5s', max: '5s' } }],
  }));
  try {
    const per = Math.floor(RECORDS / CONNECTIONS);
    const data = Array.from({ length: CONNECTIONS }, (_, c) => chunks(c, per));
    const latencies: number[] = [];
    const cpu0 = cpuMicros(child.pid!);
    const threads0 = threadCpuMicros(child.pid!);
    const t0 = performance.now();
    await Promise.all(data.map((d) => runConnection(socketPath, d, per, latencies)));
    const secs = (performance.now() - t0) / 1000;
    const cpuPerRecord = (cpuMicros(child.pid!) - cpu0) / (per * CONNECTIONS);
    const split = threadSplit(child.pid!, threads0, per * CONNECTIONS);
    latencies.sort((a, b) => a - b);
    const rss = peakRssMb(child.pid!);
    console.log(
      `${build.label}ingest  synchronous=${sync.toUpperCase().padEnd(6)} ${per * CONNECTIONS} records x ~500 B over ${CONNECTIONS} connections: ` +
        `${Math.round((per * CONNECTIONS) / secs).toLocaleString('en-US')} records/s durable (acked); ` +
        `ack latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms; exporter CPU ${cpuPerRecord.toFixed(2)} µs/record (${split}); peak RSS ${rss.toFixed(0)} MB`,
    );
  } finally {
    await stopExporter(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * End to end into a local HTTP receiver: `connections` writers; prints the durable (acked) ingest rate, the delivered
 * rate and the peak RSS.
 */
async function endToEndRun(build: Build, name: string, connections: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-exporter-'));
  const socketPath = path.join(dir, 'exporter.sock');
  let received = 0;
  let done: () => void = () => {};
  const allReceived = new Promise<void>((r) => (done = r));
  const receiver = http.createServer((req, res) => {
    let n = 0;
    const body: Buffer[] = [];
    req.on('data', (d: Buffer) => {
      if (E2E_SINK === 'otlp') body.push(d);
      else for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) n++;
    });
    req.on('end', () => {
      // OTLP/JSON: one "observedTimeUnixNano" per log record (the records' own fields are in the body's kvlist).
      if (E2E_SINK === 'otlp') n = Buffer.concat(body).toString('latin1').split('"observedTimeUnixNano"').length - 1;
      received += n;
      res.writeHead(200).end();
      if (received >= E2E_RECORDS) done();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = (receiver.address() as net.AddressInfo).port;
  const { child } = await startExporter(build.bin, dir, withIngest({
    socket: socketPath,
    queue: { path: path.join(dir, 'queue.db'), maxBytes: '4Gi' },
    sinks: [{
      name: 'web',
      ...(E2E_SINK === 'otlp' ? { type: 'otlp', endpoint: `http://127.0.0.1:${port}`, encoding: 'json', gzip: false } : { type: 'http', url: `http://127.0.0.1:${port}/ingest` }),
      batch: { maxRecords: 2000, maxBytes: '4Mi', linger: '20ms' },
      ...sinkExtra(),
    }],
  }));
  try {
    const per = Math.floor(E2E_RECORDS / connections);
    const data = Array.from({ length: connections }, (_, c) => chunks(c, per));
    const cpu0 = cpuMicros(child.pid!);
    const threads0 = threadCpuMicros(child.pid!);
    const t0 = performance.now();
    await Promise.all(data.map((d) => runConnection(socketPath, d, per, [])));
    const tAcked = performance.now();
    await Promise.race([allReceived, new Promise((_, rej) => setTimeout(() => rej(new Error(`receiver got ${received}/${E2E_RECORDS}`)), 120_000))]);
    const secs = (performance.now() - t0) / 1000;
    const total = per * connections;
    const cpuPerRecord = (cpuMicros(child.pid!) - cpu0) / total;
    const split = threadSplit(child.pid!, threads0, total);
    const rss = peakRssMb(child.pid!);
    const rate = (s: number) => Math.round(total / s).toLocaleString('en-US');
    console.log(
      `${build.label}${name.padEnd(7)} socket (${connections} connection${connections > 1 ? 's' : ''}) -> queue -> ${E2E_SINK === 'otlp' ? 'OTLP (JSON)' : 'HTTP'} sink -> local receiver, ${total} records: ` +
        `ingest ${rate((tAcked - t0) / 1000)} records/s durable (acked) while the sink delivers, end to end ${rate(secs)} records/s ` +
        `(all acked after ${((tAcked - t0) / 1000).toFixed(2)} s, all received after ${secs.toFixed(2)} s); exporter CPU ${cpuPerRecord.toFixed(2)} µs/record (${split}); peak RSS ${rss.toFixed(0)} MB`,
    );
  } finally {
    await stopExporter(child);
    receiver.closeAllConnections();
    receiver.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const missing = builds().filter((b) => !fs.existsSync(b.bin));
if (missing.length) {
  console.log(`exporter-ingest: ${missing.map((b) => b.bin).join(', ')} missing: build first (npx tsc -b exporter)`);
} else {
  console.log(`exporter-ingest: node ${process.version}, ${os.cpus().length} CPUs; ${builds().map((b) => `${b.label.trim() || 'build'}: ${b.bin}`).join('; ')}`);
  const only = process.env['ONLY']?.split(',');
  const want = (name: string) => !only || only.includes(name);
  // Each scenario for every build in turn, so before and after meet the same load on the machine.
  const scenarios: [string, (b: Build) => Promise<void>][] = [
    ['normal', (b) => ingestRun(b, 'normal')],
    ['full', (b) => ingestRun(b, 'full')],
    ['one', (b) => endToEndRun(b, 'one', 1)],
    ['e2e', (b) => endToEndRun(b, 'e2e', CONNECTIONS)],
  ];
  for (const [name, run] of scenarios) if (want(name)) for (const b of builds()) await run(b);
}
process.exit(0);
