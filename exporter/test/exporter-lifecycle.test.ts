// Sinks added and removed across restarts, and retention by age.
import t from 'tap';
import path from 'node:path';
import { Client, Receiver, metric, quickRetry, readNdjson, record, runCli, shortDir, startExporter } from './helpers/exporter.js';
import { freePort } from '../../test/helpers/ports.js';
import { waitFor } from '../../test/helpers/process.js';

async function send(socket: string, ids: string[]): Promise<void> {
  const c = await Client.connect(socket);
  await c.write(ids.map((id) => record(id) + '\n').join(''));
  await c.waitAck(ids.length);
  c.destroy();
}
const range = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}-${i}`);

t.test('a sink added later starts at the tail (newest) or from the oldest stored record; a removed sink keeps its backlog until dropped', async (t) => {
  const dir = shortDir(t);
  const port = await freePort(); // "web" is down during the first run, so its records stay queued
  const web = { name: 'web', type: 'http', url: `http://127.0.0.1:${port}/ingest`, retry: quickRetry };
  const first = await startExporter(t, dir, { sinks: [web] });
  await send(first.socket, range('before', 50));
  await first.proc.kill('SIGTERM');

  const newest = { name: 'late-newest', type: 'file', path: path.join(dir, 'newest.ndjson'), fsync: false };
  const oldest = { name: 'late-oldest', type: 'file', path: path.join(dir, 'oldest.ndjson'), fsync: false, startFrom: 'oldest' };
  const second = await startExporter(t, dir, { sinks: [web, newest, oldest] });
  await send(second.socket, range('after', 10));
  await waitFor('late sinks delivered', () => readNdjson(oldest.path).length === 60 && readNdjson(newest.path).length === 10, 30_000, 100);
  t.same(
    readNdjson(newest.path).map((r) => r['decisionId']),
    range('after', 10),
    'startFrom newest: only what arrived after it was added',
  );
  t.same(
    readNdjson(oldest.path).map((r) => r['decisionId']),
    [...range('before', 50), ...range('after', 10)],
    'startFrom oldest: the stored backlog, then new records',
  );
  t.equal(await metric(second.metricsUrl, 'exporter_queue_depth', { sink: 'web' }), 60, 'web still holds its 60');
  await second.proc.kill('SIGTERM');

  // "web" removed from the config: its backlog stays on disk (an orphan) until an operator drops it.
  const third = await startExporter(t, dir, { sinks: [newest, oldest] });
  await send(third.socket, range('third', 5));
  await waitFor('late sinks delivered the new ones', () => readNdjson(oldest.path).length === 65, 30_000, 100);
  let st = JSON.parse((await runCli(['status', '--queue', third.queuePath, '-o', 'json'])).out) as { records: number; sinks: { sink: string; active: boolean; orphaned: number }[] };
  t.same(
    st.sinks.map((s) => [s.sink, s.active, s.orphaned]),
    [
      ['late-newest', true, 0],
      ['late-oldest', true, 0],
      ['web', false, 60],
    ],
    'status lists the removed sink as inactive, holding its 60',
  );
  t.equal(st.records, 65, 'nothing pruned while it holds them');
  const drop = await runCli(['sinks', 'drop', 'web', '--queue', third.queuePath]);
  t.match(drop.out, /dropped sink web: 60 queued records/);
  await waitFor('queue emptied', async () => (await metric(third.metricsUrl, 'exporter_queue_bytes')) === 0, 30_000, 200);
  st = JSON.parse((await runCli(['status', '--queue', third.queuePath, '-o', 'json'])).out) as typeof st;
  t.same(
    st.sinks.map((s) => s.sink),
    ['late-newest', 'late-oldest'],
  );
});

t.test('queue.maxAge drops records no sink could take in time, counted', async (t) => {
  const dir = shortDir(t);
  const port = await freePort();
  const ex = await startExporter(t, dir, {
    queue: { path: path.join(dir, 'queue.db'), maxAge: '1s' },
    sinks: [{ name: 'web', type: 'http', url: `http://127.0.0.1:${port}/ingest`, retry: quickRetry }],
  });
  await send(ex.socket, range('old', 100));
  await waitFor('dropped by age', async () => (await metric(ex.metricsUrl, 'exporter_records_dropped_total', { reason: 'max_age' })) === 100, 30_000, 200);
  const rx = await Receiver.start(t, 'ok', port);
  await send(ex.socket, range('fresh', 5));
  await waitFor('fresh records delivered', () => rx.ids().filter((id) => id.startsWith('fresh')).length === 5, 30_000, 100);
  // The batch the worker was already retrying when its records expired may still go out (it holds them in memory).
  t.ok(rx.ids().filter((id) => id.startsWith('old')).length <= 100);
  t.equal(await metric(ex.metricsUrl, 'exporter_queue_depth', { sink: 'web' }), 0);
});
