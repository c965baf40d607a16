// The queue's bookkeeping on a real SQLite file: what a sink's advance lets go of.
import t from 'tap';
import path from 'node:path';
import { Queue, type NewRecord } from '../src/queue/queue.js';
import { shortDir, type Teardown } from './helpers/exporter.js';

const opts = { maxBytes: 1024 ** 3, onFull: 'block', synchronous: 'normal', maxAgeMs: 0, deadLetterMaxRawBytes: 1024, deadLetterMaxRecords: 100 } as const;

function records(n: number): NewRecord[] {
  return Array.from({ length: n }, (_, i) => ({ decisionId: `d${i}`, eventType: 'admission_decision', json: `{"i":${i}}` }));
}

function openQueue(t: Teardown): Queue {
  const q = new Queue(path.join(shortDir(t), 'queue.db'), opts);
  t.teardown(() => q.close());
  q.registerSinks([
    { name: 'fast', type: 'file', startFrom: 'oldest' },
    { name: 'slow', type: 'file', startFrom: 'oldest' },
  ]);
  return q;
}

t.test('a sink advancing deletes the records every active sink has passed, in the same step, and only those', async (t) => {
  const q = openQueue(t);
  let freed = 0;
  q.onFree(() => freed++);
  q.appendBatch(records(10).slice(0, 4), []);
  q.appendBatch(records(10).slice(4), []);
  const full = q.bytes;
  q.advanceSink('fast', 10, 10, []);
  t.equal(q.recordCount(), 10, 'the slow sink still needs them all');
  t.equal(freed, 0);
  q.advanceSink('slow', 4, 4, []);
  t.equal(q.recordCount(), 6, 'the four both sinks have are gone, without a prune');
  t.equal(q.bytes, full - 4 * Queue.recordSize('{"i":0}'), 'and no longer counted against queue.maxBytes');
  t.equal(freed, 1, 'space-freed listeners are told');
  t.same(
    q.readBatch('slow', 4, 100, 1e9).map((r) => r.decisionId),
    ['d4', 'd5', 'd6', 'd7', 'd8', 'd9'],
  );
  t.equal(q.prune(), 0, 'nothing left for prune');
  // The second batch is one row: it goes once both sinks have passed all of it.
  q.advanceSink('slow', 8, 4, []);
  t.equal(q.recordCount(), 6, 'a row stays while a sink still needs part of it');
  q.advanceSink('slow', 10, 2, []);
  t.equal(q.recordCount(), 0);
  t.equal(q.bytes, 0);
  t.equal(freed, 2);
});
