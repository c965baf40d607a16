// The queue's writer thread (queue.writerThread) on a real SQLite file: ingest batches and sinks' advances committed
// on the thread's connection leave the queue as the main thread's own transactions do, and closing the queue closes
// both connections.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Queue, type NewRecord } from '../src/queue/queue.js';
import { RECORDS_PER_ROW } from '../src/queue/record-log.js';
import { shortDir, type Teardown } from './helpers/exporter.js';

const opts = { maxBytes: 1024 ** 3, onFull: 'block', synchronous: 'full', maxAgeMs: 0, deadLetterMaxRawBytes: 8, deadLetterMaxRecords: 2 } as const;

/** Every other record given as its UTF-8 bytes, as ingest hands over a line received complete; every third with routing facts. */
function records(n: number, from = 0): NewRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const json = `{"i":${from + i},"s":"é✓"}`;
    const facts = i % 3 ? undefined : `{"namespaces":["ns-${from + i}-é"]}`;
    return { decisionId: `d${from + i}`, eventType: 'admission_decision', json: i % 2 ? Buffer.from(json) : json, facts };
  });
}

function openQueue(t: Teardown, file: string, writerThread: boolean): Queue {
  const q = new Queue(file, { ...opts, writerThread });
  t.teardown(() => q.close());
  q.registerSinks([
    { name: 'a', type: 'file', startFrom: 'oldest' },
    { name: 'b', type: 'file', startFrom: 'oldest' },
  ]);
  return q;
}

t.test('batches and advances committed on the writer thread: the same queue as on the main thread', async (t) => {
  const dir = shortDir(t);
  const results = [];
  for (const writerThread of [false, true]) {
    const q = openQueue(t, path.join(dir, `queue-${writerThread}.db`), writerThread);
    let appended = 0;
    let freed = 0;
    q.onAppend(() => appended++);
    q.onFree(() => freed++);
    // 250 records: two rows; text beyond Latin-1 survives the trip.
    const first = await q.appendBatchAsync(records(250), [
      { sink: null, reason: 'malformed_json', error: 'bad', raw: Buffer.from('0123456789abcdef') },
      { sink: null, reason: 'oversized', error: 'big', raw: 'a string raw' },
      { sink: null, reason: 'schema', error: 'no id', raw: Buffer.from('{}') },
    ]);
    const second = await q.appendBatchAsync(records(5, 250), []);
    t.equal(first.firstSeq, 1);
    t.equal(second.firstSeq, 251);
    t.equal(q.lastSeq, 255, `writerThread ${writerThread}: the queue's last seq follows the commits`);
    t.equal(q.bytes, [...records(250), ...records(5, 250)].reduce((n, r) => n + Queue.recordSize(r.json, r.facts), 0), 'and its byte count (routing facts included)');
    t.equal(appended, 2, 'append listeners told once per batch');
    t.equal(q.dropped.dead_letters_full, 1, 'dead letters beyond deadLetterMaxRecords counted');
    const dead = q.deadLetters.list({});
    await q.advanceSinkAsync('a', 255, 255, []);
    t.equal(q.recordCount(), 255, 'b still owes them all');
    await q.advanceSinkAsync('b', 200, 199, [{ sink: 'b', reason: 'rejected', error: 'no', raw: Buffer.from('{"i":7}'), seq: 8, decisionId: 'd7', attempts: 3 }]);
    t.equal(q.recordCount(), 255 - RECORDS_PER_ROW, 'the row both sinks passed is gone in the advance (the next still has records b needs)');
    t.equal(freed, 1, 'free listeners told');
    results.push({
      rows: q.readBatch('b', 0, 1000, 1e9, true).map((r) => [r.seq, r.decisionId, r.eventType, r.json, r.facts]),
      dead: q.deadLetters.list({}).map((d) => [d.sink, d.reason, d.raw, d.rawTruncated, d.seq, d.decisionId, d.attempts]),
      before: dead.map((d) => [d.reason, d.raw, d.rawTruncated]),
      sinks: q.sinkStates().map((s) => [s.name, s.cursor, s.delivered, s.deadLettered]),
      bytes: q.bytes,
    });
  }
  t.same(results[1], results[0], 'rows, dead letters (raw bytes cut the same), cursors and counts are the same either way');
  const withFacts = results[0]!.rows.filter((r) => r[4] !== undefined);
  t.equal(withFacts.length, 41 + 2, 'the routing facts of every third record of each batch still stored (seq 129-255) read back');
  t.same(withFacts[0], [130, 'd129', 'admission_decision', '{"i":129,"s":"é✓"}', { namespaces: ['ns-129-é'] }]);
  t.same(results[0]!.before, [
    ['oversized', 'a string', true],
    ['schema', '{}', false],
  ]);
});

t.test('closing the queue closes the writer thread\'s connection too, and the commits are on disk', async (t) => {
  const file = path.join(shortDir(t), 'queue.db');
  const q = new Queue(file, { ...opts, writerThread: true });
  q.registerSinks([{ name: 'a', type: 'file', startFrom: 'oldest' }]);
  await q.appendBatchAsync(records(10), []);
  q.close();
  t.notOk(fs.existsSync(`${file}-wal`), 'the last connection to close removed the WAL: none was left open');
  const again = new Queue(file, { ...opts, writerThread: true });
  t.teardown(() => again.close());
  t.equal(again.recordCount(), 10);
  t.equal(again.lastSeq, 10);
});

t.test('a SQLite error on the thread rejects the batch and nothing of it is stored', async (t) => {
  const q = openQueue(t, path.join(shortDir(t), 'queue.db'), true);
  q.db.exec('CREATE TRIGGER refuse BEFORE INSERT ON records WHEN NEW.keys LIKE \'%"d150"%\' BEGIN SELECT RAISE(ABORT, \'refused d150\'); END');
  // The refused record is in the batch's second row.
  await t.rejects(q.appendBatchAsync(records(200), []), /refused d150/);
  t.equal(q.recordCount(), 0);
  t.equal(q.lastSeq, 0);
  q.db.exec('DROP TRIGGER refuse');
  t.equal((await q.appendBatchAsync(records(5), [])).firstSeq, 1, 'the next batch commits');
});

t.test('a caller that reuses its batch array once handed over still wakes the sinks', async (t) => {
  const q = openQueue(t, path.join(shortDir(t), 'queue.db'), true);
  let appended = 0;
  q.onAppend(() => appended++);
  const batch = records(5);
  const committed = q.appendBatchAsync(batch, []);
  batch.length = 0;
  await committed;
  t.equal(appended, 1, 'the append listeners ran');
  t.equal(q.recordCount(), 5);
});
