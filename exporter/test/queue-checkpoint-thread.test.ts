// The queue's checkpoint thread (queue.checkpointThread): the WAL's pages are copied back into the queue's file by the
// thread once the WAL reaches its limit, before the main connection's own automatic checkpoint (at twice the limit)
// would; closing the queue closes the thread's connection first, so the last connection still removes the WAL; a
// thread that cannot run hands the checkpoints back to the main connection, and says so.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Queue, type NewRecord } from '../src/queue/queue.js';
import { Checkpointer } from '../src/queue/checkpointer.js';
import { openQueueDb } from '../src/queue/db.js';
import { shortDir } from './helpers/exporter.js';
import { waitFor } from '../../test/helpers/process.js';

const opts = { maxBytes: 1024 ** 3, onFull: 'block', synchronous: 'normal', maxAgeMs: 0, deadLetterMaxRawBytes: 8, deadLetterMaxRecords: 2 } as const;
const PAGE = 65536;
/** The WAL's limit without a disk reserve (queue.ts): the thread's threshold; the main connection's is twice it. */
const LIMIT_PAGES = 64;

function records(n: number, from: number): NewRecord[] {
  const pad = 'x'.repeat(900);
  return Array.from({ length: n }, (_, i) => ({ decisionId: `d${from + i}`, eventType: 'admission_decision', json: `{"i":${from + i},"p":"${pad}"}` }));
}

/** Appends 200-record batches of ~1 KB records; how many records. By count, not until the WAL reaches a size: once the
 * thread has checkpointed it all, the WAL starts over from its beginning and the file stops growing. */
function append(q: Queue, batches: number): number {
  for (let b = 0; b < batches; b++) q.appendBatch(records(200, b * 200), []);
  return batches * 200;
}

t.test('past its limit the WAL is copied into the file by the thread, short of the main connection’s own limit', async (t) => {
  const file = path.join(shortDir(t), 'queue.db');
  const q = new Queue(file, { ...opts, checkpointThread: true });
  t.teardown(() => q.close());
  const empty = fs.statSync(file).size;
  // ~86 WAL frames (measured: ~6 a batch, pages rewritten by each commit included): past the thread's limit (64),
  // short of the main connection's own (128).
  const n = append(q, 12);
  t.ok(fs.statSync(`${file}-wal`).size < 2 * LIMIT_PAGES * PAGE, 'the main connection’s own limit is not reached');
  t.ok(await waitFor('the file to grow', () => fs.statSync(file).size > empty + 32 * PAGE, 30_000, 10), `the file received the pages (${fs.statSync(file).size} bytes, was ${empty})`);
  t.equal(q.recordCount(), n, 'every record is in the queue');
});

t.test('the thread checkpoints once the WAL reaches its threshold, not at every commit', async (t) => {
  const file = path.join(shortDir(t), 'queue.db');
  // A connection that never checkpoints by itself, so that only the thread can.
  const db = openQueueDb(file, { readonly: false, create: true, synchronous: 'normal', walAutocheckpointPages: 0 });
  const warnings: string[] = [];
  const cp = new Checkpointer(db, 16, (m) => warnings.push(m));
  t.teardown(() => cp.close(() => db.close()));
  t.ok(await waitFor('the thread to start', () => cp.running, 30_000, 10), 'the thread started');
  const insert = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
  db.pragma('wal_checkpoint(TRUNCATE)'); // the schema's pages into the file, the WAL empty
  const empty = fs.statSync(file).size;
  // One 60 KB row a commit: its own leaf page and the page above it, 2-3 WAL frames.
  let n = 0;
  const insertRows = (rows: number) => {
    for (let i = 0; i < rows; i++) {
      insert.run(`k${n++}`, 'v'.repeat(60_000));
      cp.committed();
    }
  };
  insertRows(3);
  await new Promise((r) => setTimeout(r, 300));
  t.equal(fs.statSync(file).size, empty, 'below the threshold (16 frames): nothing copied');
  t.equal(cp.checkpoints, 0, 'no checkpoint counted');
  insertRows(10);
  t.ok(await waitFor('the file to grow', () => fs.statSync(file).size > empty, 30_000, 10), `past it: copied (${fs.statSync(file).size} bytes, was ${empty})`);
  t.ok(await waitFor('the checkpoint counted', () => cp.checkpoints > 0, 30_000, 10), `${cp.checkpoints} checkpoint(s) counted`);
  t.ok(cp.up, 'the thread has the checkpoints');
  t.same(warnings, []);
});

t.test('closing the queue ends the thread and removes the WAL; the records survive a reopen', async (t) => {
  const file = path.join(shortDir(t), 'queue.db');
  let q = new Queue(file, { ...opts, checkpointThread: true });
  for (let i = 0; i < 10; i++) q.appendBatch(records(100, i * 100), []);
  const started = Date.now();
  q.close();
  t.ok(Date.now() - started < 5000, 'close does not wait for a timeout');
  t.notOk(fs.existsSync(`${file}-wal`), 'the last connection to close removed the WAL');
  q = new Queue(file, { ...opts, checkpointThread: true });
  t.teardown(() => q.close());
  t.equal(q.recordCount(), 1000);
  t.equal(q.lastSeq, 1000);
});

t.test('a thread that cannot run hands the checkpoints back to the main connection, and says why once', async (t) => {
  const dir = shortDir(t);
  for (const c of [
    { why: 'no -shm file', name: path.join(dir, 'none.db') },
    { why: 'the thread cannot open the file', name: path.join(dir, 'shm-only.db'), shm: true },
  ]) {
    if (c.shm) fs.writeFileSync(`${c.name}-shm`, '');
    const pragmas: string[] = [];
    const warnings: string[] = [];
    const db = { name: c.name, open: true, pragma: (p: string) => pragmas.push(p) };
    const cp = new Checkpointer(db as unknown as ConstructorParameters<typeof Checkpointer>[0], 16, (m) => warnings.push(m));
    t.ok(await waitFor('a warning', () => warnings.length > 0, 30_000, 10), `${c.why}: a warning`);
    cp.committed();
    await new Promise((r) => setTimeout(r, 100));
    t.same(pragmas, ['wal_autocheckpoint = 16'], `${c.why}: the main connection checkpoints at the limit again`);
    t.equal(warnings.length, 1, `${c.why}: one warning`);
    t.notOk(cp.up, `${c.why}: reported as failed (exporter_queue_checkpoint_thread_failed)`);
    t.match(warnings[0], /checkpointed inside the commits again: its checkpoint thread failed/);
    let closed = 0;
    cp.close(() => closed++);
    t.equal(closed, 1, `${c.why}: close still closes the connection`);
  }
});
