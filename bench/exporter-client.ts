// ExportClient costs: send() per record (what the webhook's request path pays), the no-op client, and the client's
// end-to-end rate into the real exporter (built dist) with every record acknowledged.
// Then paced like a webhook (PACED_REVIEWS reviews/s, 2 records each, PACED_SECONDS measured after 1 s, PACED_ROUNDS):
// the exporter's CPU per record with a write every tick (writeHoldMs 0) and with the default write hold, alternating.
// Run: npx tsc -b exporter && node --import tsx bench/exporter-client.ts
// env: BENCH_RECORDS, PACED_REVIEWS (250), PACED_SECONDS (10), PACED_ROUNDS (2; 0 leaves the paced runs out)
// Prints figures; asserts nothing.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExportClient, createExportClient, admissionDecision, DEFAULT_WRITE_HOLD_MS } from '../exporter/src/client/index.js';
import { cpuMicros } from './_exporter-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env['BENCH_RECORDS'] ?? 200_000);
const PACED_REVIEWS = Number(process.env['PACED_REVIEWS'] ?? 250);
const PACED_SECONDS = Number(process.env['PACED_SECONDS'] ?? 10);
const PACED_ROUNDS = Number(process.env['PACED_ROUNDS'] ?? 2);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function records(n: number) {
  return Array.from({ length: n }, (_, i) =>
    admissionDecision({
      admissionUID: `7c1e2a7e-5b8d-4f0e-9d1a-${String(i).padStart(12, '0')}`,
      allowed: i % 10 !== 0,
      operation: 'CREATE',
      resourceKind: 'Pod',
      resourceNamespace: 'team-payments',
      resourceName: `checkout-7d9f8c6b5-${i}`,
      requestUsername: 'system:serviceaccount:kube-system:replicaset-controller',
      source: { component: 'webhook', pod: 'gatekeeper-controller-manager-6d9c8f7b9-abcde', namespace: 'gatekeeper-system' },
      violations: { total: i % 10 === 0 ? 1 : 0, byAction: i % 10 === 0 ? { deny: 1 } : {} },
    }),
  );
}

function perCall(label: string, fn: (i: number) => void, n: number): void {
  for (let i = 0; i < Math.min(n, 20_000); i++) fn(i); // warm-up
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  const c = process.cpuUsage(c0);
  const cpuNs = ((c.user + c.system) * 1000) / n;
  // CPU time too: the wall-clock figure grows when other processes share the 2 cores.
  console.log(`${label.padEnd(58)} ${ns.toFixed(0).padStart(7)} ns/record wall, ${cpuNs.toFixed(0).padStart(6)} ns CPU  (${fmt(1e9 / cpuNs)} per CPU-second)`);
}

const recs = records(50_000);
const lines = recs.map((r) => JSON.stringify(r));
console.log(`records: ~${Math.round(lines.reduce((a, l) => a + l.length, 0) / lines.length)} bytes of JSON each`);

{
  const noop = createExportClient(undefined);
  perCall('no-op client send(object)', (i) => noop.send(recs[i % recs.length]!), N);
}
{
  // Nobody listening: records only go into the buffer (and are dropped once it is full; each round starts empty).
  const dir = mkdtempSync(path.join(tmpdir(), 'gkcb-'));
  const mk = () => new ExportClient({ socketPath: path.join(dir, 'nobody.sock'), buffer: { maxRecords: N + 20_000, maxBytes: 2 ** 31 } });
  let c = mk();
  perCall('send(object) into the buffer (JSON.stringify included)', (i) => c.send(recs[i % recs.length]!), N);
  await c.close();
  c = mk();
  perCall('send(string) into the buffer (pre-serialised line)', (i) => c.send(lines[i % lines.length]!), N);
  await c.close();
  c = new ExportClient({ socketPath: path.join(dir, 'nobody.sock'), buffer: { maxRecords: 1000 } });
  for (let i = 0; i < 1000; i++) c.send(recs[i]!);
  perCall('send(object), buffer full, drop-newest', (i) => c.send(recs[i % recs.length]!), N);
  await c.close();
  rmSync(dir, { recursive: true, force: true });
}

// End to end: the real exporter (file sink), every record acknowledged.
const dir = mkdtempSync(path.join(tmpdir(), 'gkcb-'));
const socket = path.join(dir, 'exporter.sock');
writeFileSync(
  path.join(dir, 'exporter.json'),
  JSON.stringify({
    socket,
    queue: { path: path.join(dir, 'queue.db') },
    sinks: [{ name: 'local', type: 'file', path: path.join(dir, 'out.ndjson') }],
    log: { level: 'warn' },
  }),
);
const ex = spawn(process.execPath, [path.join(root, 'exporter/dist/cli/main.js'), 'run', '--config', path.join(dir, 'exporter.json')], { stdio: 'inherit' });
try {
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((r) => net.connect(socket).on('connect', function (this: net.Socket) { this.destroy(); r(true); }).on('error', () => r(false)));
    if (ok) break;
    if (i > 300) throw new Error('exporter did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const c = new ExportClient({ socketPath: socket, buffer: { maxRecords: 50_000, maxBytes: 64 * 1024 * 1024 } });
  await new Promise((r) => setTimeout(r, 200));
  const total = N;
  const sendNs: number[] = [];
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < total; i++) {
    // Pace like a busy webhook: yield to the event loop while the buffer is well filled, so acks come in.
    if (i % 1000 === 0) {
      while (c.stats().buffered > 40_000) await new Promise((r) => setTimeout(r, 1));
      await new Promise((r) => setImmediate(r));
    }
    const s = process.hrtime.bigint();
    c.send(recs[i % recs.length]!);
    if (i % 16 === 0) sendNs.push(Number(process.hrtime.bigint() - s));
  }
  const flushed = await c.flush(120_000);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  const st = c.stats();
  sendNs.sort((a, b) => a - b);
  const q = (p: number) => sendNs[Math.min(sendNs.length - 1, Math.floor(p * sendNs.length))]!;
  console.log(
    `end to end into the exporter: ${fmt(total)} records acknowledged in ${secs.toFixed(2)} s = ${fmt(total / secs)} records/s ` +
      `(flushed: ${flushed}, acked ${fmt(st.acked)}, dropped ${fmt(Object.values(st.dropped).reduce((a, b) => a + b, 0))})`,
  );
  console.log(`client CPU while streaming: ${(((cpu.user + cpu.system) / total) ).toFixed(2)} µs per record (send + socket writes + ack handling)`);
  console.log(`send() while streaming: p50 ${q(0.5)} ns, p99 ${q(0.99)} ns, p99.9 ${q(0.999)} ns, max ${fmt(sendNs.at(-1)! / 1000)} µs`);
  await c.close();

  const paced = async (writeHoldMs: number) => {
    const pc = new ExportClient({ socketPath: socket, writeHoldMs });
    let i = 0;
    let next = performance.now();
    const run = async (ms: number) => {
      for (const end = performance.now() + ms; performance.now() < end; ) {
        pc.send(recs[i++ % recs.length]!);
        pc.send(recs[i++ % recs.length]!);
        next += 1000 / PACED_REVIEWS;
        const wait = next - performance.now();
        await new Promise((r) => (wait >= 1 ? setTimeout(r, wait) : setImmediate(r)));
      }
    };
    await run(1000);
    const e0 = cpuMicros(ex.pid!);
    const c0 = process.cpuUsage();
    const i0 = i;
    await run(PACED_SECONDS * 1000);
    const n = i - i0;
    const cpu = process.cpuUsage(c0);
    const flushed = await pc.flush(10_000);
    console.log(
      `paced ${PACED_REVIEWS} reviews/s (${n} records), writeHoldMs ${String(writeHoldMs).padEnd(2)}: exporter CPU ${((cpuMicros(ex.pid!) - e0) / n).toFixed(1)} µs/record, ` +
        `this process (client and pacing) ${((cpu.user + cpu.system) / n).toFixed(1)} µs/record; ${pc.stats().sent} lines written (flushed: ${flushed})`,
    );
    await pc.close();
  };
  for (let round = 0; round < PACED_ROUNDS; round++) {
    for (const hold of round % 2 ? [DEFAULT_WRITE_HOLD_MS, 0] : [0, DEFAULT_WRITE_HOLD_MS]) await paced(hold);
  }
} finally {
  ex.kill('SIGTERM');
  await new Promise((r) => ex.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
