// Streaming sinks benchmark: Kafka and Dapr, against a real single-node broker and real daprd sidecars (pubsub.redis).
// For each sink it prints:
//   - the sink alone: records/s acknowledged by the peer (broker ack / daprd bulk-publish 204), ~500-byte records; for
//     Kafka through each transport (client library) and, beside them, kcat producing the same records on the broker;
//   - through the real exporter (exporter/dist): sustained delivery rate from the first line written to the socket to the
//     last record seen by a consumer, and end-to-end latency (socket write -> consumer) p50/p99, saturated and paced.
// Run: npx tsc -b exporter && node --import tsx bench/exporter-sinks.ts
// env: KAFKA_RECORDS, DAPR_RECORDS, SKIP_KAFKA, SKIP_DAPR; KAFKA_PHASES (comma-separated subset of direct,gzip,sat,sat-gzip,
// paced; default all); KAFKA_ROUNDS (interleaved rounds of the direct phase, default 2); KAFKA_MAJOR (3 or 4: the broker);
// EXPORTER_BIN (another build, for interleaved A/B runs); EXPORTER_NODE_ARGS (e.g. --cpu-prof); KAFKA_SINK_AB (another
// build's exporter/src/sinks/kafka/sink.ts: the direct phase runs it too, through the default transport, as "ab");
// KAFKA_TRANSPORTS (comma-separated: the transports of the direct phase, default all).
// Saturated runs also print the exporter's and the broker's CPU per record (from /proc/<pid>/stat).
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { DEFAULT_TRANSPORT, TRANSPORT_NAMES } from '../exporter/src/sinks/kafka/transport.js';
import { createSink as createDaprSink, type DaprSinkConfig } from '../exporter/src/sinks/dapr/sink.js';
import { resolveSinkConfig } from '../exporter/src/config/resolve.js';
import type { OutgoingRecord } from '../exporter/src/sinks/sink.js';
import { kafkaMajorFromEnv, startKafka } from '../test/peers/kafka.js';
import { cpuMicros, kcatProduce, sinkAlone } from './_kafka-producers.js';
import { startRedis } from '../test/peers/redis.js';
import { startDaprd, redisPubsub } from '../test/peers/dapr.js';
import { freePort } from '../test/helpers/ports.js';
import { start, waitFor, type Started } from '../test/helpers/process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const exporterBin = process.env['EXPORTER_BIN'] ?? path.join(root, 'exporter/dist/cli/main.js');
const exporterNodeArgs = (process.env['EXPORTER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
const KAFKA_PHASES = new Set((process.env['KAFKA_PHASES'] ?? 'direct,gzip,sat,sat-gzip,paced').split(','));
const KAFKA_RECORDS = Number(process.env['KAFKA_RECORDS'] ?? 200_000);
const DAPR_RECORDS = Number(process.env['DAPR_RECORDS'] ?? 40_000);
const PACED_RATE = 1000;
const PACED_SECONDS = 4;

let seq = 0;
function record(run: string, i: number): Record<string, unknown> {
  const r: Record<string, unknown> = {
    decisionId: `${run}-${i}`,
    timestamp: new Date().toISOString(),
    eventType: 'violation_admission',
    kind: 'K8sRequiredLabels',
    name: 'must-have-owner',
    enforcementAction: 'deny',
    resourceKind: 'Pod',
    resourceNamespace: 'team-payments',
    resourceName: `checkout-7d9f8c6b5-${String(i).padStart(6, '0')}`,
    requestUsername: 'system:serviceaccount:kube-system:replicaset-controller',
    message: 'you must provide labels: {"owner"}',
    sentAtMs: 0,
    pad: '',
  };
  r['pad'] = 'x'.repeat(Math.max(0, 500 - JSON.stringify(r).length));
  return r;
}
const outgoing = (r: Record<string, unknown>): OutgoingRecord => ({
  seq: ++seq,
  decisionId: r['decisionId'] as string,
  eventType: 'violation_admission',
  json: JSON.stringify(r),
});

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** The real exporter with one sink; resolves when its socket accepts connections. */
async function runExporter(sink: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<{ proc: Started; socket: string; dir: string; metricsUrl: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bsink-'));
  const socket = path.join(dir, 'exporter.sock');
  const port = await freePort();
  const cfg = { socket, queue: { path: path.join(dir, 'queue.db') }, metrics: { address: `127.0.0.1:${port}` }, log: { level: 'warn' }, sinks: [sink] };
  fs.writeFileSync(path.join(dir, 'exporter.json'), JSON.stringify(cfg));
  const proc = start(process.execPath, [...exporterNodeArgs, exporterBin, 'run', '--config', path.join(dir, 'exporter.json')], {
    env: { ...process.env, ...env },
  });
  await waitFor('exporter ready', async () => {
    if (proc.child.exitCode !== null) throw new Error(`exporter exited: ${proc.output()}`);
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
  });
  return { proc, socket, dir, metricsUrl: `http://127.0.0.1:${port}` };
}

/** Writes records to the exporter's socket; each line carries its write time (sentAtMs). Paced when ratePerSec is set. */
async function feed(socket: string, run: string, n: number, ratePerSec?: number): Promise<void> {
  const conn = net.connect(socket);
  await new Promise<void>((r, j) => conn.once('connect', r).once('error', j));
  conn.on('data', () => undefined); // acks: not needed here, the consumer is the judge
  const chunk = ratePerSec ? Math.max(1, Math.round(ratePerSec / 100)) : 500;
  const t0 = Date.now();
  for (let i = 0; i < n; i += chunk) {
    if (ratePerSec) {
      const due = t0 + (i / ratePerSec) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    let s = '';
    const now = Date.now();
    for (let j = i; j < Math.min(n, i + chunk); j++) {
      const r = record(run, j);
      r['sentAtMs'] = now;
      s += JSON.stringify(r) + '\n';
    }
    if (!conn.write(s)) await new Promise((r) => conn.once('drain', r));
  }
  conn.end();
}

interface Seen {
  ids: Set<string>;
  latencies: number[];
  lastAt: number;
}
const newSeen = (): Seen => ({ ids: new Set(), latencies: [], lastAt: 0 });
function see(seen: Seen, rec: { decisionId?: unknown; sentAtMs?: unknown }): void {
  const id = rec.decisionId as string;
  if (seen.ids.has(id)) return;
  seen.ids.add(id);
  const now = Date.now();
  seen.lastAt = now;
  if (typeof rec.sentAtMs === 'number' && rec.sentAtMs > 0) seen.latencies.push(now - rec.sentAtMs);
}
function countRun(seen: Seen, run: string): number {
  let n = 0;
  for (const id of seen.ids) if (id.startsWith(`${run}-`)) n++;
  return n;
}

/** Reads one counter from the exporter's /metrics. */
async function counter(metricsUrl: string, name: string, sink: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const m = new RegExp(`^${name}\\{[^}]*sink="${sink}"[^}]*\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Saturated: n records written at once to an exporter whose sink has no consumer attached; the rate is n / (first line
 * written -> the exporter counted n delivered, i.e. acknowledged by the peer).
 */
async function saturated(label: string, sinkCfg: Record<string, unknown>, n: number, env: NodeJS.ProcessEnv = {}, peerPid?: () => number | undefined): Promise<void> {
  const exp = await runExporter(sinkCfg, env);
  try {
    const cpu0 = cpuMicros(exp.proc.child.pid);
    const peer0 = cpuMicros(peerPid?.());
    const t0 = Date.now();
    await feed(exp.socket, `sat${t0}`, n);
    const written = Date.now();
    await waitFor(`${label}: ${n} delivered`, async () => (await counter(exp.metricsUrl, 'exporter_records_delivered_total', sinkCfg['name'] as string)) >= n, 300_000, 50);
    const secs = (Date.now() - t0) / 1000;
    const cpu = (cpuMicros(exp.proc.child.pid) - cpu0) / n;
    const peer = (cpuMicros(peerPid?.()) - peer0) / n;
    console.log(
      `${label} via exporter, sustained delivery: ${fmt(n)} records in ${secs.toFixed(2)} s = ${fmt(n / secs)} records/s ` +
        `(socket writes took ${((written - t0) / 1000).toFixed(2)} s); exporter CPU ${cpu.toFixed(1)} µs/record` +
        (peerPid ? `, peer CPU ${peer.toFixed(1)} µs/record` : ''),
    );
  } finally {
    await exp.proc.kill('SIGTERM');
    fs.rmSync(exp.dir, { recursive: true, force: true });
  }
}

/** Paced: a steady PACED_RATE records/s; latency from the socket write to the consumer seeing the record. */
async function paced(label: string, sinkCfg: Record<string, unknown>, seen: Seen, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const exp = await runExporter(sinkCfg, env);
  try {
    const run = `paced${Date.now()}`;
    const n = PACED_RATE * PACED_SECONDS;
    const from = seen.latencies.length;
    await feed(exp.socket, run, n, PACED_RATE);
    await waitFor(`${label}: paced records at the consumer`, () => countRun(seen, run) >= n, 120_000, 50);
    const lat = seen.latencies.slice(from);
    console.log(`${label} via exporter, paced ${fmt(PACED_RATE)}/s: latency socket->consumer p50 ${fmt(pct(lat, 50))} ms, p99 ${fmt(pct(lat, 99))} ms, max ${fmt(Math.max(...lat))} ms`);
  } finally {
    await exp.proc.kill('SIGTERM');
    fs.rmSync(exp.dir, { recursive: true, force: true });
  }
}

async function benchKafka(): Promise<void> {
  const t0 = Date.now();
  const version = kafkaMajorFromEnv();
  const kafka = await startKafka({ version });
  console.log(`kafka ${version}.x broker up in ${((Date.now() - t0) / 1000).toFixed(1)} s (single node, KRaft, ${kafka.broker})`);
  const extra = JSON.parse(process.env['KAFKA_SINK_JSON'] ?? '{}') as Record<string, unknown>;
  if (Object.keys(extra).length) console.log(`kafka sink options: ${JSON.stringify(extra)}`);
  try {
    await kafka.createTopic('bench-direct');
    await kafka.createTopic('bench-e2e');
    const batches: OutgoingRecord[][] = [];
    for (let i = 0; i < KAFKA_RECORDS; i += 5000) batches.push(Array.from({ length: Math.min(5000, KAFKA_RECORDS - i) }, (_, j) => outgoing(record('direct', i + j))));
    const alone = { broker: kafka.broker, brokerPid: () => kafka.pid(), topic: 'bench-direct' };
    if (KAFKA_PHASES.has('direct')) {
      // Uncompressed, the same records one after the other on one partition: kcat, then each transport, rotating the
      // order every round (the machine's load drifts; compare within a round).
      const all = batches.flat();
      const keyOf = (r: OutgoingRecord) => `team-payments/${(JSON.parse(r.json) as { resourceName: string }).resourceName}`;
      const rounds = Number(process.env['KAFKA_ROUNDS'] ?? 2);
      const rates = new Map<string, number[]>();
      const abPath = process.env['KAFKA_SINK_AB'];
      const ab = abPath ? ((await import(path.resolve(abPath))) as { createSink: NonNullable<Parameters<typeof sinkAlone>[0]['create']> }).createSink : undefined;
      type Variant = { name: string; run: () => Promise<number> };
      const transports = TRANSPORT_NAMES.filter((t) => (process.env['KAFKA_TRANSPORTS'] ?? TRANSPORT_NAMES.join(',')).split(',').includes(t));
      const variants: Variant[] = transports.map((transport) => ({ name: transport, run: () => sinkAlone({ ...alone, transport, label: '', cfg: extra, batches }) }));
      if (ab) variants.push({ name: 'ab', run: () => sinkAlone({ ...alone, transport: DEFAULT_TRANSPORT, label: ` (KAFKA_SINK_AB build)`, cfg: extra, batches, create: ab }) });
      const note = (name: string, rate: number) => rates.set(name, [...(rates.get(name) ?? []), rate]);
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 ? [...variants].reverse() : variants;
        note('kcat', await kcatProduce(kafka.broker, 'bench-direct', all, keyOf));
        for (const v of order) note(v.name, await v.run());
      }
      const line = [...rates].map(([name, rs]) => `${name} ${rs.map(fmt).join(' / ')}`).join('; ');
      console.log(`kafka delivery, uncompressed, records/s per round (default transport: ${DEFAULT_TRANSPORT}): ${line}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    }
    if (KAFKA_PHASES.has('gzip')) {
      const half = batches.slice(0, Math.ceil(batches.length / 2));
      await sinkAlone({ ...alone, transport: DEFAULT_TRANSPORT, label: ', gzip', cfg: { ...extra, compression: 'gzip' }, batches: half });
    }

    // Through the exporter: sustained rate (no consumer competing for the 2 cores), then latency to a consumer.
    await kafka.createTopic('bench-sat');
    const satCfg = { name: 'kafka', type: 'kafka', brokers: [kafka.broker], topic: 'bench-sat', batch: { maxRecords: 10000, linger: '5ms' }, ...extra };
    if (KAFKA_PHASES.has('sat')) await saturated('kafka', satCfg, KAFKA_RECORDS, {}, () => kafka.pid());
    if (KAFKA_PHASES.has('sat-gzip')) await saturated('kafka (gzip)', { ...satCfg, compression: 'gzip' }, KAFKA_RECORDS, {}, () => kafka.pid());
    if (!KAFKA_PHASES.has('paced')) return;
    const seen = newSeen();
    const client = new Kafka({ clientId: 'bench-consumer', brokers: [kafka.broker], logLevel: logLevel.NOTHING });
    const consumer = client.consumer({ groupId: `bench-${Date.now()}`, maxWaitTimeInMs: 20, minBytes: 1 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'bench-e2e', fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) if (m.value) see(seen, JSON.parse(m.value.toString()) as Record<string, unknown>);
      },
    });
    await paced('kafka', { ...satCfg, topic: 'bench-e2e' }, seen);
    await consumer.disconnect();
  } finally {
    await kafka.stop();
  }
}

async function benchDapr(): Promise<void> {
  const redis = await startRedis();
  const seen = newSeen();
  const app = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/dapr/subscribe') {
        res.end(JSON.stringify([{ pubsubname: 'pubsub', topic: 'audit-channel', route: '/in' }]));
        return;
      }
      try {
        const ce = JSON.parse(Buffer.concat(parts).toString()) as { data: string };
        see(seen, JSON.parse(ce.data) as Record<string, unknown>);
      } catch {
        // not one of our records: ignore
      }
      res.end('{"status":"SUCCESS"}');
    });
  });
  app.keepAliveTimeout = 120_000; // outlive daprd's idle connections (see test/sinks/dapr-subscriber.ts)
  app.headersTimeout = 125_000;
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const components = [redisPubsub('pubsub', redis.address, { concurrency: '100' })];
  const pub = await startDaprd({ appId: 'exporter', components });
  const sub = await startDaprd({ appId: 'subscriber', components, appPort: (app.address() as AddressInfo).port });
  try {
    // The sink alone: bulk publish acknowledged by daprd (written to Redis).
    // Checked and defaulted as the exporter's loader does (the sink reads every default from its config, supplies none).
    const sink = createDaprSink(resolveSinkConfig<DaprSinkConfig>({ type: 'dapr', name: 'bench', url: pub.url, component: 'pubsub', topic: 'bench-direct', maxEntriesPerRequest: 500 }));
    const ac = new AbortController();
    await sink.send([outgoing(record('warm', 0))], ac.signal);
    const recs = Array.from({ length: DAPR_RECORDS }, (_, i) => outgoing(record('direct', i)));
    const t = performance.now();
    for (let i = 0; i < recs.length; i += 2000) {
      const r = await sink.send(recs.slice(i, i + 2000), ac.signal);
      if (r.failures?.length) throw new Error(`dapr sink: ${r.failures.length} failures`);
    }
    const secs = (performance.now() - t) / 1000;
    console.log(`dapr sink alone (bulk publish, 500 entries/request, pubsub.redis): ${fmt(DAPR_RECORDS / secs)} records/s`);
    await sink.close();
    await saturated('dapr', { name: 'dapr', type: 'dapr', component: 'pubsub', topic: 'bench-sat', batch: { maxRecords: 2000, linger: '5ms' } }, DAPR_RECORDS, {
      DAPR_HTTP_PORT: String(pub.httpPort),
    });
    await paced('dapr', { name: 'dapr', type: 'dapr', component: 'pubsub', batch: { maxRecords: 2000, linger: '5ms' } }, seen, { DAPR_HTTP_PORT: String(pub.httpPort) });
  } finally {
    await Promise.allSettled([pub.stop(), sub.stop()]);
    await redis.stop();
    app.close();
  }
}

console.log(`streaming sinks on ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}; ~500-byte records`);
if (!process.env['SKIP_KAFKA']) await benchKafka();
if (!process.env['SKIP_DAPR']) await benchDapr();
process.exit(0);
