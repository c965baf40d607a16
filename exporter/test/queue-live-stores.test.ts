// The queue's stores for a running exporter, on real SQLite files in a temp dir: the lock file, the live sink state
// (sink-health.ts), the status snapshot (status.ts) and housekeeping (pruning, retention, removed sinks, the saved hold).
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { Queue } from '../src/queue/queue.js';
import { QueueLockedError, releaseLock, takeLock } from '../src/queue/lock.js';
import { SinkHealthStore, readLiveState } from '../src/queue/sink-health.js';
import { STALE_AFTER_INTERVALS, queueStatus, saveIngestHold } from '../src/queue/status.js';
import { Housekeeping } from '../src/queue/housekeeping.js';
import { defaultQueueOptions } from '../src/config/resolve.js';
import type { NewRecord } from '../src/queue/record-log.js';
import { shortDir } from './helpers/exporter.js';
import { waitFor } from '../../test/helpers/process.js';

const recs = (n: number, from = 1): NewRecord[] =>
  Array.from({ length: n }, (_, i) => ({ decisionId: `d${from + i}`, eventType: 'admission_decision', json: `{"i":${from + i}}` }));

function openQueue(t: Test, opts: Partial<ReturnType<typeof defaultQueueOptions>> = {}): Queue {
  const q = new Queue(path.join(shortDir(t), 'queue.db'), { ...defaultQueueOptions(), ...opts }, { owner: true });
  t.teardown(() => q.close());
  return q;
}

t.test('lock: a second owner is refused while the first lives; a lock left by a dead process is replaced', async (t) => {
  const file = path.join(shortDir(t), 'q.db.lock');
  takeLock(file);
  t.equal(fs.readFileSync(file, 'utf8'), String(process.pid));
  fs.writeFileSync(file, '1'); // pid 1 is always alive
  const refused = (() => {
    try {
      takeLock(file);
    } catch (e) {
      return e;
    }
  })();
  t.ok(refused instanceof QueueLockedError, 'refused with QueueLockedError');
  t.match((refused as Error).message, /in use by another exporter \(pid 1/);
  fs.writeFileSync(file, '2147483646'); // far above pid_max: no such process
  takeLock(file);
  t.equal(fs.readFileSync(file, 'utf8'), String(process.pid), 'a stale lock is taken over');
  releaseLock(file);
  t.notOk(fs.existsSync(file));
  fs.writeFileSync(file, '1');
  releaseLock(file);
  t.ok(fs.existsSync(file), "another process's lock is not released");
});

t.test("live sink state: a new exporter's heartbeat and rows, updates, and the reader", async (t) => {
  const q = openQueue(t);
  const store = new SinkHealthStore(q.db);
  store.begin(['a', 'b'], 5000, 1000);
  let live = readLiveState(q.db);
  t.match(live.heartbeat, { pid: process.pid, startedAt: 1000, updatedAt: 1000, intervalMs: 5000, stoppedAt: null });
  t.same([...live.sinks.keys()].sort(), ['a', 'b']);
  t.match(live.sinks.get('a'), { ready: false, detail: 'starting', up: false });
  store.write([{ sink: 'a', ready: true, detail: null, up: false, lastSuccessAt: 1500, consecutiveFailures: 3, nextRetryAt: 2500 }], 2000);
  live = readLiveState(q.db);
  t.match(live.sinks.get('a'), { ready: true, up: false, consecutiveFailures: 3, nextRetryAt: 2500, updatedAt: 2000 });
  t.equal(live.heartbeat!.updatedAt, 2000);
  store.begin(['b'], 5000, 3000);
  t.same([...readLiveState(q.db).sinks.keys()], ['b'], 'the next exporter keeps rows only for the sinks it runs');
  store.write([], 4000, true);
  t.equal(readLiveState(q.db).heartbeat!.stoppedAt, 4000);
});

t.test('status: depth and dead letters per sink; exporter running, stale or stopped; a hold shown only while running', async (t) => {
  const q = openQueue(t);
  q.registerSinks([{ name: 'web', type: 'http', startFrom: 'oldest', previousNames: [] }]);
  q.appendBatch(recs(10), []);
  q.advanceSink('web', 4, 4, [{ sink: 'web', reason: 'rejected', error: 'HTTP 422', raw: '{"i":2}', seq: 2, decisionId: 'd2', attempts: 5 }]);
  let s = queueStatus(q, 10_000);
  t.match(s, { lastSeq: 10, ingestDeadLetters: 0, exporter: { state: 'unknown' } });
  t.match(s.sinks, [{ sink: 'web', type: 'http', active: true, depth: 6, deadLetters: 1, delivered: 4, live: null }]);
  const store = new SinkHealthStore(q.db);
  store.begin(['web'], 1000, 10_000);
  saveIngestHold(q.db, { reason: 'queue full', since: 'then' });
  s = queueStatus(q, 10_500);
  t.equal(s.exporter.state, 'running');
  t.same(s.ingestHeld, { reason: 'queue full', since: 'then' });
  t.match(s.sinks[0]!.live, { ready: false, detail: 'starting', stale: false });
  s = queueStatus(q, 10_000 + STALE_AFTER_INTERVALS * 1000 + 1);
  t.equal(s.exporter.state, 'stale', 'silent for more than 3 intervals');
  t.equal(s.ingestHeld, null, 'a hold of an exporter that is not running is not shown');
  t.equal(s.sinks[0]!.live!.stale, true);
  store.write([], 11_000, true);
  t.equal(queueStatus(q, 11_001).exporter.state, 'stopped');
});

t.test('housekeeping: prunes what every sink passed, drops past maxAge, counts what removed sinks hold, clears its hold', async (t) => {
  const q = openQueue(t, { maxAgeMs: 60_000 });
  const log = pino({ level: 'silent' });
  q.registerSinks([
    { name: 'a', type: 'http', startFrom: 'oldest', previousNames: [] },
    { name: 'gone', type: 'file', startFrom: 'oldest', previousNames: [] },
  ]);
  q.appendBatch(recs(10), []);
  q.registerSinks([{ name: 'a', type: 'http', startFrom: 'oldest', previousNames: [] }]); // "gone" removed, owing 10
  let hold: 'queue full' | null = 'queue full';
  const hk = new Housekeeping(q, log, () => hold);
  t.same([...hk.orphaned], [['gone', 10]]);
  q.advanceSink('a', 10, 10, []);
  hk.stop();
  t.equal(q.recordCount(), 10, 'the removed sink still holds its records');
  q.dropOrphan('gone');
  hk.stop();
  t.equal(q.recordCount(), 0, 'pruned once no sink owes them');

  q.appendBatch(recs(3, 11), []);
  t.equal(q.enforceRetention(Date.now() + 120_000), 3, 'records older than maxAge are dropped although "a" lacks them');
  t.equal(q.dropped.max_age, 3);

  // The hold ingest reports is saved for `exporter status` by the maintenance tick, and cleared when ingest resumes.
  const savedHold = () => q.db.prepare("SELECT value FROM meta WHERE key = 'ingest_held'").get() as { value: string } | undefined;
  hk.start();
  await waitFor('the hold saved', () => savedHold() !== undefined, 30_000, 50);
  t.match(JSON.parse(savedHold()!.value), { reason: 'queue full' });
  hold = null;
  await waitFor('the hold cleared', () => savedHold() === undefined, 30_000, 50);
  hk.stop();
});
