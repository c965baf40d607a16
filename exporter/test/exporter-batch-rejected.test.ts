// A receiver that refuses a whole request because of one bad record (HTTP 400): the exporter delivers every other
// record, in order, and dead-letters only the bad ones after retry.maxAttempts (onBatchRejected: split, the default).
import t from 'tap';
import { Client, Receiver, metric, quickRetry, record, runCli, shortDir, startExporter } from './helpers/exporter.js';
import { waitFor } from '../../test/helpers/process.js';

async function send(socket: string, ids: string[]): Promise<void> {
  const c = await Client.connect(socket);
  await c.write(ids.map((id) => record(id) + '\n').join(''));
  await c.waitAck(ids.length, 60_000);
  c.destroy();
}

const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

interface DeadLetter {
  decisionId: string;
  attempts: number;
  error: string;
}
async function deadLetters(queue: string, sink: string): Promise<DeadLetter[]> {
  const r = await runCli(['dead-letters', 'list', '--queue', queue, '--sink', sink, '--limit', '100000', '-o', 'json']);
  if (r.code !== 0) throw new Error(r.out);
  return JSON.parse(r.out) as DeadLetter[];
}

t.test('split (default): only the refused records become dead letters; the rest arrive once, in order', async (t) => {
  const dir = shortDir(t);
  const rx = await Receiver.start(t);
  const badIds = new Set(['split-0', 'split-17', 'split-18', 'split-555', 'split-1999']);
  rx.refuse = (r) => badIds.has(r['decisionId'] as string);
  const ex = await startExporter(t, dir, {
    sinks: [{ name: 'web', type: 'http', url: rx.url, retry: quickRetry, batch: { maxRecords: 200 } }],
  });
  const ids = range('split', 2000);
  await send(ex.socket, ids);
  const good = ids.filter((id) => !badIds.has(id));
  await waitFor('good records delivered', () => rx.records.length >= good.length, 60_000, 100);
  await waitFor('queue drained', async () => (await metric(ex.metricsUrl, 'exporter_queue_depth', { sink: 'web' })) === 0, 60_000, 100);
  t.same(rx.ids(), good, 'every good record, once, in order');
  t.equal(await metric(ex.metricsUrl, 'exporter_records_delivered_total', { sink: 'web' }), good.length);
  t.equal(await metric(ex.metricsUrl, 'exporter_records_dead_lettered_total', { sink: 'web' }), badIds.size);

  const dead = await deadLetters(ex.queuePath, 'web');
  t.same(dead.map((d) => d.decisionId).sort(), [...badIds].sort(), 'only the refused records are dead letters');
  t.ok(dead.every((d) => d.attempts === quickRetry.maxAttempts), 'each after retry.maxAttempts');
  t.match(dead.find((d) => d.decisionId === 'split-555')?.error, /HTTP 400 .*record split-555 is invalid/, 'with the receiver\'s answer');
  // Bisection, not one request per record: a refused batch of 200 with one bad record costs about 2·log2(200) requests.
  t.ok(rx.requests < 400, `${rx.requests} requests for 2000 records and 5 bad ones`);

  // The receiver is fixed: the dead letters go through on retry.
  rx.refuse = undefined;
  const retry = await runCli(['dead-letters', 'retry', '--queue', ex.queuePath, '--sink', 'web']);
  t.equal(retry.code, 0, retry.out);
  await waitFor('retried records delivered', () => rx.records.length >= ids.length, 60_000, 100);
  t.same(rx.ids().slice(good.length).sort(), [...badIds].sort());
});

t.test('a receiver refusing everything: the search ends after one pass; then the records are retried together', async (t) => {
  const dir = shortDir(t);
  const rx = await Receiver.start(t);
  rx.refuse = () => true;
  const ex = await startExporter(t, dir, {
    sinks: [{ name: 'web', type: 'http', url: rx.url, retry: quickRetry, batch: { maxRecords: 64, linger: '200ms' } }],
  });
  await send(ex.socket, range('all', 64));
  await waitFor('all dead-lettered', async () => (await metric(ex.metricsUrl, 'exporter_records_dead_lettered_total', { sink: 'web' })) === 64, 60_000, 100);
  // One batch of 64 (the linger gathers it): 127 requests to find every record refused alone, then maxAttempts - 1
  // requests of the 64 together. A smaller first batch only lowers the count.
  t.ok(rx.requests <= 127 + quickRetry.maxAttempts - 1, `${rx.requests} requests`);
  t.equal(rx.records.length, 0);
  const dead = await deadLetters(ex.queuePath, 'web');
  t.equal(dead.length, 64);
  t.ok(dead.every((d) => d.attempts === quickRetry.maxAttempts));
});

t.test('onBatchRejected: dead-letter keeps the whole refused request together; 401 is never split', async (t) => {
  const dir = shortDir(t);
  const whole = await Receiver.start(t);
  const auth = await Receiver.start(t);
  whole.refuse = (r) => r['decisionId'] === 'whole-5';
  auth.refuse = () => true;
  auth.refuseStatus = 401;
  const ex = await startExporter(t, dir, {
    sinks: [
      { name: 'whole', type: 'http', url: whole.url, onBatchRejected: 'dead-letter', retry: quickRetry, batch: { maxRecords: 10, linger: '200ms' } },
      { name: 'auth', type: 'http', url: auth.url, retry: quickRetry, batch: { maxRecords: 10, linger: '200ms' } },
    ],
  });
  const ids = range('whole', 10);
  await send(ex.socket, ids);
  await waitFor('both sinks done', async () => {
    const a = await metric(ex.metricsUrl, 'exporter_queue_depth', { sink: 'whole' });
    const b = await metric(ex.metricsUrl, 'exporter_queue_depth', { sink: 'auth' });
    return a === 0 && b === 0;
  }, 60_000, 100);
  const dead = await deadLetters(ex.queuePath, 'whole');
  t.ok(dead.some((d) => d.decisionId === 'whole-5'), 'the bad record is a dead letter');
  t.equal(dead.length + whole.records.length, ids.length, 'its request-mates with it (nothing split)');
  t.ok(dead.length > 1);
  t.equal(whole.requests, whole.refused + (whole.records.length ? 1 : 0) , 'one request per attempt');
  t.equal((await deadLetters(ex.queuePath, 'auth')).length, ids.length);
  t.equal(auth.requests, quickRetry.maxAttempts, '401: one request per attempt, never split');
});
