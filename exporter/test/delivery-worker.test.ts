// The DeliveryWorker alone: a real queue (SQLite in a temp dir), a real HTTP sink and an in-process receiver. What it
// promises: in order, at least once, the cursor moved only past records that are done (delivered, filtered or dead
// letters), retries with backoff, and a stop that leaves undelivered records queued.
import t, { type Test } from 'tap';
import path from 'node:path';
import { pino } from 'pino';
import { Queue } from '../src/queue/queue.js';
import { DeliveryWorker } from '../src/delivery/worker.js';
import { ExporterMetrics } from '../src/metrics/metrics.js';
import { checkConfig, resolveSinkConfig } from '../src/config/resolve.js';
import { createSink, type HttpSinkConfig } from '../src/sinks/http/sink.js';
import type { NewRecord } from '../src/queue/record-log.js';
import type { SinkConfig } from '../src/config/config.js';
import { Receiver, shortDir } from './helpers/exporter.js';
import { waitFor } from '../../test/helpers/process.js';

const log = pino({ level: 'silent' });

const recs = (n: number, from = 1, eventType = 'admission_decision'): NewRecord[] =>
  Array.from({ length: n }, (_, i) => {
    const decisionId = `d${from + i}`;
    return { decisionId, eventType, json: JSON.stringify({ decisionId, eventType }) };
  });

interface Rig {
  queue: Queue;
  worker: DeliveryWorker;
  metrics: ExporterMetrics;
  rx: Receiver;
}

/** A worker for one http sink (keys as the config file writes them) on a fresh queue. */
async function rig(t: Test, sink: Record<string, unknown> = {}): Promise<Rig> {
  const rx = await Receiver.start(t);
  const file = path.join(shortDir(t), 'queue.db');
  const queueOptions = checkConfig({ socket: '/unused.sock', queue: { path: file } }, { requireSinks: false }).config.queue;
  const queue = new Queue(file, queueOptions, { owner: true });
  const cfg = resolveSinkConfig<SinkConfig & HttpSinkConfig>({ name: 'web', type: 'http', url: rx.url, retry: { initial: '20ms', max: '100ms', maxAttempts: 2 }, batch: { linger: '0ms' }, ...sink });
  queue.registerSinks([{ name: 'web', type: 'http', startFrom: 'oldest', previousNames: [] }]);
  const metrics = new ExporterMetrics({
    capacityBytes: () => queueOptions.maxBytes,
    bytes: () => queue.bytes,
    perSink: () => [],
    deadLetters: () => queue.deadLetters.countsBySink(),
    dropped: () => ({ ...queue.dropped }),
    connections: () => 0,
    full: () => false,
    orphaned: () => new Map(),
  });
  const worker = new DeliveryWorker({ queue, metrics, log, sink: createSink(cfg), cfg, idlePollMs: 50 });
  t.teardown(async () => {
    await worker.stop(Date.now());
    queue.close();
  });
  return { queue, worker, metrics, rx };
}

async function counter(m: ExporterMetrics, name: 'delivered' | 'deadLettered' | 'filtered' | 'deliveryFailures'): Promise<number> {
  const v = (await m[name].get()).values.find((x) => x.labels['sink'] === 'web');
  return v?.value ?? 0;
}

t.test('delivers every record in order and moves the cursor past them', async (t) => {
  const { queue, worker, metrics, rx } = await rig(t, { batch: { maxRecords: 7, linger: '0ms' } });
  queue.appendBatch(recs(40), []);
  worker.start();
  await waitFor('40 delivered', () => rx.records.length === 40, 30_000, 20);
  t.same(rx.ids(), recs(40).map((r) => r.decisionId), 'in order, once each');
  await waitFor('cursor at the end', () => worker.position === 40, 30_000, 20);
  t.equal(queue.exactDepth('web', worker.position), 0);
  t.equal(await counter(metrics, 'delivered'), 40);
  t.ok(rx.requests >= 6, `batches of at most 7 (${rx.requests} requests)`);
  queue.appendBatch(recs(3, 41), []);
  await waitFor('records appended later are delivered too', () => rx.records.length === 43, 30_000, 20);
});

t.test('a record refused for good becomes a dead letter after maxAttempts; the others are delivered', async (t) => {
  const { queue, worker, metrics, rx } = await rig(t);
  rx.refuse = (r) => r['decisionId'] === 'd5';
  rx.refuseStatus = 422;
  queue.appendBatch(recs(10), []);
  worker.start();
  await waitFor('cursor past the batch', () => worker.position === 10, 30_000, 20);
  t.same(rx.ids().sort(), recs(10).map((r) => r.decisionId).filter((id) => id !== 'd5').sort());
  const dead = queue.deadLetters.list({ sink: 'web' });
  t.same(dead.map((d) => [d.decisionId, d.attempts, d.reason]), [['d5', 2, 'rejected']]);
  t.match(dead[0]!.error, /HTTP 422/);
  t.equal(await counter(metrics, 'deadLettered'), 1);
  t.equal(await counter(metrics, 'delivered'), 9);
});

t.test('a retryable failure is retried with backoff until the receiver is back; nothing is lost or skipped', async (t) => {
  const { queue, worker, metrics, rx } = await rig(t, { retry: { initial: '20ms', max: '100ms', maxAttempts: 1 } });
  rx.mode = 'down503';
  queue.appendBatch(recs(5), []);
  worker.start();
  // The worker's own count: the receiver counts a request before its 503 has reached the worker.
  await waitFor('three failed attempts', () => worker.liveState().consecutiveFailures >= 3, 30_000, 20);
  t.equal(worker.position, 0, 'the cursor waits');
  t.equal(worker.up, false);
  t.ok(rx.requests >= 3, `each a request the receiver answered (${rx.requests})`);
  t.same(queue.deadLetters.list({ sink: 'web' }), [], 'retryable failures never dead-letter, whatever maxAttempts');
  rx.mode = 'ok';
  await waitFor('delivered after recovery', () => worker.position === 5, 30_000, 20);
  t.same(rx.ids(), ['d1', 'd2', 'd3', 'd4', 'd5']);
  t.equal(worker.up, true);
  t.equal(worker.liveState().consecutiveFailures, 0);
  t.ok((await counter(metrics, 'deliveryFailures')) >= 3);
});

t.test("the sink's filter and redaction are applied by the worker", async (t) => {
  const { queue, worker, metrics, rx } = await rig(t, { filter: { eventTypes: ['violation_audited'] }, redact: [{ path: '/eventType', action: 'replace', value: 'x' }] });
  queue.appendBatch([...recs(3, 1, 'admission_decision'), ...recs(2, 4, 'violation_audited')], []);
  worker.start();
  await waitFor('cursor past all five', () => worker.position === 5, 30_000, 20);
  t.same(rx.ids(), ['d4', 'd5'], 'only what the filter lets through');
  t.same(rx.records.map((r) => r['eventType']), ['x', 'x'], 'redacted');
  t.equal(await counter(metrics, 'filtered'), 3);
});

t.test('stop aborts a send still in flight at the deadline; its records stay queued', async (t) => {
  const { queue, worker, rx } = await rig(t);
  rx.hold = true;
  queue.appendBatch(recs(4), []);
  worker.start();
  await waitFor('a request in flight', () => rx.requests === 1, 30_000, 20);
  await worker.stop(Date.now() + 50);
  t.equal(worker.position, 0, 'not advanced');
  t.equal(queue.exactDepth('web', queue.sinkCursor('web')), 4, 'the four records are still owed to the sink');
  rx.release();
});
