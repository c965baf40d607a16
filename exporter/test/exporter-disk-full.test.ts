// A full disk never blocks ingest for good (issue 10, defect 4): on a small volume, with the default settings, ingest
// resumes once sinks drain the queue, episode after episode and across a restart, and its capacity does not collapse.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Client, Receiver, metric, quickRetry, record, runCli, shortDir, startExporter, type RunningProc } from './helpers/exporter.js';
import { freePort } from '../../test/helpers/ports.js';
import { waitFor } from '../../test/helpers/process.js';

const VOLUME_MIB = 20;
const PER_EPISODE = 50_000; // ~25 MiB of records: more than the volume holds
const PAD = 400;

function mountSmallVolume(t: Test, dir: string): string | undefined {
  const mnt = path.join(dir, 'small');
  fs.mkdirSync(mnt);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${VOLUME_MIB}m`, 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.status !== 0) {
    t.skip(`cannot mount a size-limited tmpfs here: ${(m.stderr || m.error?.message || '').trim()}`, () => {});
    return undefined;
  }
  t.teardown(() => void spawnSync('umount', ['-l', mnt]));
  return mnt;
}

/** Writes the records until the exporter holds ingest back for a full disk; returns how many it acknowledged by then. */
async function fillUntilFull(ex: RunningProc, c: Client, ids: string[]): Promise<{ capacity: number; writing: Promise<void> }> {
  const before = c.acked;
  const writing = (async () => {
    for (let i = 0; i < ids.length; i += 100) {
      await c.write(ids.slice(i, i + 100).map((id) => record(id, { pad: 'q'.repeat(PAD) }) + '\n').join(''));
    }
  })();
  await waitFor('disk full noticed', async () => (await metric(ex.metricsUrl, 'exporter_queue_full')) === 1, 120_000, 100);
  return { capacity: c.acked - before, writing };
}

t.test(`a ${VOLUME_MIB} MiB volume filled and drained three times, with a restart: ingest resumes each time, nothing lost`, async (t) => {
  const dir = shortDir(t);
  const mnt = mountSmallVolume(t, dir);
  if (!mnt) return;
  const port = await freePort();
  const cfg = {
    queue: { path: path.join(mnt, 'queue.db') }, // default maxBytes, onFull, diskReserveBytes
    sinks: [{ name: 'web', type: 'http', url: `http://127.0.0.1:${port}/ingest`, retry: quickRetry, batch: { maxRecords: 1000 } }],
  };
  let ex = await startExporter(t, dir, cfg);
  let c = await Client.connect(ex.socket);
  const capacities: number[] = [];
  const all: string[] = [];
  let delivered: string[] = [];
  for (let episode = 1; episode <= 3; episode++) {
    if (episode === 3) {
      // A restart between episodes (after a full disk and a drain): no reserve file is needed to start ingesting.
      c.destroy();
      await ex.proc.kill('SIGTERM');
      ex = await startExporter(t, dir, cfg);
      c = await Client.connect(ex.socket);
    }
    const ids = Array.from({ length: PER_EPISODE }, (_, i) => `e${episode}-${i}`);
    all.push(...ids);
    const acked = c.acked;
    const { capacity, writing } = await fillUntilFull(ex, c, ids);
    capacities.push(capacity);
    t.ok(capacity < PER_EPISODE, `episode ${episode}: ingest held back after ${capacity} records`);
    t.equal(ex.proc.child.exitCode, null, 'the exporter keeps running');
    if (episode === 1) {
      const st = await waitFor('status shows the hold', async () => {
        const r = await runCli(['status', '--queue', ex.queuePath]);
        return /ingest: held back/.test(r.out) ? r.out : undefined;
      }, 30_000, 200);
      t.match(st, /ingest: held back since \S+ \(the disk holding the queue is full/, 'exporter status says why ingest waits');
    }

    const rx = await Receiver.start(t, 'ok', port);
    await writing;
    await c.waitAck(acked + PER_EPISODE, 180_000);
    await waitFor(`episode ${episode} delivered`, () => rx.records.length >= PER_EPISODE, 180_000, 200);
    delivered = delivered.concat(rx.ids());
    await waitFor('queue drained', async () => (await metric(ex.metricsUrl, 'exporter_queue_bytes')) === 0, 60_000, 100);
    await rx.close();
  }
  t.same(delivered, all, `all ${all.length} records delivered in order, none lost, none twice`);
  t.ok(
    capacities.every((n) => n >= capacities[0]! * 0.8),
    `capacity does not collapse across episodes: ${capacities.join(', ')} records`,
  );
  t.match(ex.proc.output(), /disk full/);
  c.destroy();
});
