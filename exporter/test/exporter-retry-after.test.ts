// Retry-After through the real exporter and a real HTTP receiver (issue 10, defect 3): honoured but capped by the
// sink's retry.max, and a value over Node's timer limit (2^31-1 ms) does not turn into a 1 ms retry loop.
import t from 'tap';
import { Client, Receiver, metric, record, runCli, shortDir, startExporter } from './helpers/exporter.js';
import { MAX_TIMER_MS } from '../src/delivery/backoff.js';
import { waitFor } from '../../test/helpers/process.js';

async function send(socket: string, ids: string[]): Promise<void> {
  const c = await Client.connect(socket);
  await c.write(ids.map((id) => record(id) + '\n').join(''));
  await c.waitAck(ids.length);
  c.destroy();
}
const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

t.test('Retry-After: 100000 (27 h) waits retry.max, then everything is delivered once', async (t) => {
  const dir = shortDir(t);
  const rx = await Receiver.start(t, 'down503');
  rx.retryAfter = '100000';
  const ex = await startExporter(t, dir, {
    sinks: [{ name: 'web', type: 'http', url: rx.url, batch: { maxRecords: 100 }, retry: { initial: '50ms', max: '1s', jitter: 0.1 } }],
  });
  const ids = range('ra', 500);
  await send(ex.socket, ids);
  await waitFor('two refused attempts', () => rx.requests >= 2, 30_000, 20);
  rx.mode = 'ok';
  await waitFor('every record delivered', () => rx.records.length >= ids.length, 30_000, 50);
  t.same(rx.ids(), ids, 'every record, once, in order');
  await waitFor('depth 0', async () => (await metric(ex.metricsUrl, 'exporter_queue_depth', { sink: 'web' })) === 0);
  t.equal(await metric(ex.metricsUrl, 'exporter_records_delivered_total', { sink: 'web' }), ids.length);
  t.equal(await metric(ex.metricsUrl, 'exporter_records_dead_lettered_total', { sink: 'web' }), 0, 'nothing dead-lettered');
  t.match(ex.proc.output(), /"retryAfterMs":100000000/, 'the server-requested delay is logged');
});

t.test('a Retry-After over 2^31 ms with retry.max 30d: one request in the window, not a 1 ms loop; shutdown is not held', async (t) => {
  const dir = shortDir(t);
  const rx = await Receiver.start(t, 'down503');
  rx.retryAfter = '3000000'; // 3e9 ms: setTimeout would fire after 1 ms
  const ex = await startExporter(t, dir, {
    sinks: [{ name: 'web', type: 'http', url: rx.url, retry: { initial: '50ms', max: '30d', jitter: 0 } }],
  });
  await send(ex.socket, range('big', 10));
  await waitFor('the first attempt', () => rx.requests >= 1, 30_000, 20);
  await new Promise((r) => setTimeout(r, 3000)); // the window in which a 1 ms loop would send thousands
  t.equal(rx.requests, 1, 'one request: the next one is ~24.8 days away (the timer clamped to 2^31-1 ms)');
  t.equal(await metric(ex.metricsUrl, 'exporter_delivery_failures_total', { sink: 'web' }), 1);
  t.equal(await metric(ex.metricsUrl, 'exporter_queue_depth', { sink: 'web' }), 10, 'the records wait in the queue');
  const next = await waitFor('status: the next attempt', async () => {
    const r = await runCli(['status', '--queue', ex.queuePath, '-o', 'json']);
    const st = JSON.parse(r.out) as { sinks: { live: { nextRetryAt: string | null } | null }[] };
    return st.sinks[0]?.live?.nextRetryAt ?? null;
  });
  const ahead = Date.parse(next) - Date.now();
  t.ok(ahead > MAX_TIMER_MS - 60_000 && ahead <= MAX_TIMER_MS, `status: next attempt ~24.8 days ahead, the clamp (${Math.round(ahead / 3_600_000)} h)`);
  t.equal(await ex.proc.kill('SIGTERM'), 0, 'SIGTERM ends the wait: clean exit');
});
