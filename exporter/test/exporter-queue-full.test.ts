// A full queue under each onFull policy, and a real full disk (a size-limited tmpfs) when this machine lets us mount one.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Client, Receiver, metric, quickRetry, record, shortDir, startExporter } from './helpers/exporter.js';
import { freePort } from '../../test/helpers/ports.js';
import { waitFor } from '../../test/helpers/process.js';

const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

async function writeAll(c: Client, ids: string[], pad = 0): Promise<void> {
  for (let i = 0; i < ids.length; i += 100) {
    await c.write(ids.slice(i, i + 100).map((id) => record(id, pad ? { pad: 'q'.repeat(pad) } : {}) + '\n').join(''));
  }
}

t.test('onFull: block — no acks past capacity until space frees, then everything, nothing lost', async (t) => {
  const dir = shortDir(t);
  const port = await freePort(); // the sink is down at first
  const ex = await startExporter(t, dir, {
    queue: { path: path.join(dir, 'queue.db'), maxBytes: '64Ki', onFull: 'block' },
    sinks: [{ name: 'web', type: 'http', url: `http://127.0.0.1:${port}/ingest`, retry: quickRetry, batch: { maxRecords: 100 } }],
  });
  const ids = range('blk', 1500);
  const c = await Client.connect(ex.socket);
  const writing = writeAll(c, ids); // the exporter stops reading: this only completes once space frees
  await waitFor('queue full', async () => (await metric(ex.metricsUrl, 'exporter_queue_full')) === 1, 30_000);
  const ackedWhileFull = c.acked;
  t.ok(ackedWhileFull > 0 && ackedWhileFull < ids.length, `acks stop at the capacity (${ackedWhileFull} of ${ids.length})`);
  t.ok((await metric(ex.metricsUrl, 'exporter_queue_bytes')) <= 64 * 1024, 'the queue stays within maxBytes');
  // Still full a moment later: nothing more acknowledged while no space frees.
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(c.acked, ackedWhileFull, 'no acks while full');

  const rx = await Receiver.start(t, 'ok', port);
  await writing;
  await c.waitAck(ids.length, 60_000);
  await waitFor('all delivered', () => rx.records.length >= ids.length, 60_000, 100);
  t.same(rx.ids(), ids, 'nothing lost, in order');
  t.equal(await metric(ex.metricsUrl, 'exporter_records_dropped_total', { reason: 'queue_full' }), 0);
  t.equal(await metric(ex.metricsUrl, 'exporter_queue_full'), 0);
  c.destroy();
});

t.test('onFull: drop-oldest — everything acked, the oldest dropped and counted', async (t) => {
  const dir = shortDir(t);
  const port = await freePort();
  const ex = await startExporter(t, dir, {
    queue: { path: path.join(dir, 'queue.db'), maxBytes: '64Ki', onFull: 'drop-oldest' },
    sinks: [{ name: 'web', type: 'http', url: `http://127.0.0.1:${port}/ingest`, retry: { ...quickRetry, initial: '1s', max: '1s' } }],
  });
  const ids = range('drop', 1500);
  const c = await Client.connect(ex.socket);
  await writeAll(c, ids);
  await c.waitAck(ids.length, 60_000);
  t.pass('every line acknowledged although the sink is down');
  const dropped = await metric(ex.metricsUrl, 'exporter_records_dropped_total', { reason: 'queue_full' });
  t.ok(dropped > 0, `dropped ${dropped}`);
  t.ok((await metric(ex.metricsUrl, 'exporter_queue_bytes')) <= 64 * 1024);

  const rx = await Receiver.start(t, 'ok', port);
  await waitFor('backlog delivered', async () => (await metric(ex.metricsUrl, 'exporter_queue_depth', { sink: 'web' })) === 0, 60_000, 200);
  const got = rx.ids();
  // What was delivered is the newest records, in order; with what was dropped, every record is accounted for
  // (a batch already in flight when its records were dropped may still arrive: at most once more).
  t.same(got.slice(-100), ids.slice(-100), 'the newest records arrive, in order');
  t.ok(new Set(got).size + dropped >= ids.length, `delivered ${new Set(got).size} + dropped ${dropped} account for all ${ids.length}`);
  c.destroy();
});

t.test('a full disk (tmpfs of 24 MiB): back-pressure and no loss', async (t) => {
  const dir = shortDir(t);
  const mnt = path.join(dir, 'small');
  fs.mkdirSync(mnt);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.status !== 0) {
    t.skip(`cannot mount a size-limited tmpfs here: ${(m.stderr || m.error?.message || '').trim()}`, () => {});
    return;
  }
  t.teardown(() => {
    spawnSync('umount', ['-l', mnt]);
  });
  const port = await freePort();
  const ex = await startExporter(t, dir, {
    queue: { path: path.join(mnt, 'queue.db'), maxBytes: '1Gi', onFull: 'block', diskReserveBytes: '6Mi' },
    sinks: [{ name: 'web', type: 'http', url: `http://127.0.0.1:${port}/ingest`, retry: quickRetry, batch: { maxRecords: 1000 } }],
  });
  const ids = range('disk', 60_000); // ~30 MiB of records: more than the disk
  const c = await Client.connect(ex.socket);
  const writing = writeAll(c, ids, 400);
  await waitFor('disk full noticed', async () => (await metric(ex.metricsUrl, 'exporter_queue_full')) === 1, 60_000, 100);
  t.ok(c.acked < ids.length, `acks held back at ${c.acked}`);
  t.equal(ex.proc.child.exitCode, null, 'the exporter keeps running');

  const rx = await Receiver.start(t, 'ok', port);
  await writing;
  await c.waitAck(ids.length, 120_000);
  await waitFor('all delivered', () => rx.records.length >= ids.length, 120_000, 200);
  t.same(rx.ids(), ids, 'nothing lost, in order');
  t.match(ex.proc.output(), /disk full/);
  c.destroy();
  await ex.proc.kill('SIGTERM');
});
