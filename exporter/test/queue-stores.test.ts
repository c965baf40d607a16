// The queue's stores one by one, on real SQLite files: the record log, sink cursors (renames, removed sinks), dead
// letters, the disk head-room, the marker, and a queue file written by an older exporter.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { openQueueDb } from '../src/queue/db.js';
import { openSqlite } from '../src/queue/sqlite.js';
import { RECORDS_PER_ROW, RecordLog, recordSize, type NewRecord } from '../src/queue/record-log.js';
import { SinkCursors } from '../src/queue/sink-cursors.js';
import { DeadLetterStore } from '../src/queue/dead-letters.js';
import { DiskReserve } from '../src/queue/disk-reserve.js';
import { QueueLostError, bindMarker, checkBeforeOpen, readMarker } from '../src/queue/marker.js';
import { Queue } from '../src/queue/queue.js';
import { checkQueue, recoverQueue } from '../src/ops/repair.js';
import { migrateRecords } from '../src/queue/records-table.js';
import { shortDir } from './helpers/exporter.js';
import { perRecordQueueFile } from './helpers/per-record-queue.js';

const recs = (n: number, from = 0): NewRecord[] =>
  Array.from({ length: n }, (_, i) => ({ decisionId: `d${from + i}`, eventType: 'admission_decision', json: `{"i":${from + i}}` }));

function db(t: Test): Database.Database {
  const d = openQueueDb(path.join(shortDir(t), 'q.db'), { readonly: false, create: true, synchronous: 'normal', walAutocheckpointPages: 64 });
  t.teardown(() => d.close());
  return d;
}

t.test('record log: a batch that fails part-way leaves nothing of itself, and the connection goes on', async (t) => {
  const d = db(t);
  const log = new RecordLog(d);
  d.transaction(() => log.insert(recs(10), null, 1000, 0))();
  // A conflict in the batch's second row (last seq 205 again) must undo the whole transaction, its first row included.
  const append = d.transaction(() => {
    log.insert(recs(5, 100), null, 1000, 200);
    log.insert(recs(RECORDS_PER_ROW + 72, 10), null, 1000, 205 - RECORDS_PER_ROW - 72);
  });
  t.throws(() => append(), /UNIQUE constraint failed: records.last_seq/);
  t.notOk(d.inTransaction, 'no transaction left open');
  t.equal(log.count(), 10, 'nothing of the failed batch stayed');
  t.equal(d.transaction(() => log.insert(recs(200, 10), null, 1000, 10))(), 210, 'the next batch commits');
  t.equal(log.count(), 210);
});

t.test('record log: records given as UTF-8 bytes are stored as TEXT, the same as strings, a run of them to a row', async (t) => {
  const d = db(t);
  const log = new RecordLog(d);
  const texts = Array.from({ length: 150 }, (_, i) => `{"i":${i},"s":"é 日本 😀 \\u00e9","n":null}`);
  const batch = (from: number, to: number, bytes: (i: number) => boolean): NewRecord[] =>
    texts.slice(from, to).map((json, k) => ({ decisionId: `d${from + k}`, eventType: `e${(from + k) % 3}`, json: bytes(from + k) ? Buffer.from(json) : json }));
  // A row of bytes only, a row of strings and bytes, and a row of one record given as bytes.
  const batches = [batch(0, 100, () => true), batch(100, 149, (i) => i % 2 === 0), batch(149, 150, () => true)];
  t.equal(d.transaction(() => log.insert(batches[0]!, null, 1000, 0))(), 100);
  t.equal(d.transaction(() => log.insert(batches[1]!, 'only-b', 2000, 100))(), 149);
  t.equal(d.transaction(() => log.insert(batches[2]!, null, 3000, 149))(), 150);
  const rows = d.prepare('SELECT last_seq AS last, first_seq AS first, received_at AS at, only_sink AS sink, size, keys, typeof(json) AS type, json FROM records ORDER BY last_seq').all() as Record<string, unknown>[];
  t.same(rows.map((r) => [r['first'], r['last'], r['at'], r['sink'], r['type']]), [[1, 100, 1000, null, 'text'], [101, 149, 2000, 'only-b', 'text'], [150, 150, 3000, null, 'text']]);
  t.same(rows.flatMap((r) => (r['json'] as string).split('\n')), texts, 'the same text back, byte for byte, one record per line');
  t.same(JSON.parse(rows[1]!['keys'] as string), texts.slice(100, 149).flatMap((_, k) => [`d${100 + k}`, `e${(100 + k) % 3}`]), 'decisionId and eventType of each record');
  t.same(rows.map((r) => r['size']), batches.map((b) => b.reduce((sum, r) => sum + recordSize(r.json), 0)), "the row's size: its records' (bytes as bytes)");
  const read = log.readBatch('only-b', 0, 200, 1e9);
  t.same(read.map((r) => r.json), texts, 'read back as the strings');
  t.same(read.map((r) => [r.seq, r.decisionId, r.eventType]), texts.map((_, i) => [i + 1, `d${i}`, `e${i % 3}`]));
  t.same(log.readBatch('a', 0, 200, 1e9).map((r) => r.seq), [...Array.from({ length: 100 }, (_, i) => i + 1), 150], "another sink's records skipped");
  t.equal(recordSize(Buffer.from(texts[0]!)), Buffer.byteLength(texts[0]!) + 64, 'bytes count as bytes');
  // Three rows of bytes in one batch: each row's lines are gathered in one buffer the log reuses.
  const more = Array.from({ length: 2 * RECORDS_PER_ROW + 5 }, (_, i) => `{"more":${i},"s":"${'é'.repeat(i % 7)}"}`);
  t.equal(d.transaction(() => log.insert(more.map((json, i) => ({ decisionId: `m${i}`, eventType: 'e', json: Buffer.from(json) })), null, 4000, 150))(), 150 + more.length);
  t.same(log.readBatch('a', 150, 1000, 1e9).map((r) => r.json), more, 'every row its own lines');
});

t.test('record log: seqs continue after the stored last one; batches by count and bytes, inside and across rows; rows deleted whole', async (t) => {
  const d = db(t);
  const log = new RecordLog(d);
  const size = recordSize('{"i":0}');
  const last = d.transaction(() => log.insert(recs(250), null, 1000, log.storedLastSeq()))();
  log.committed(last, 250 * size);
  t.equal(last, 250);
  t.equal(d.prepare('SELECT count(*) AS n FROM records').get()!['n' as never], 2, `two rows: ${RECORDS_PER_ROW} and ${250 - RECORDS_PER_ROW} records`);
  t.equal(log.count(), 250);
  t.equal(d.transaction(() => log.insert(recs(1, 250), 'only-b', 2000, log.storedLastSeq()))(), 251);
  t.equal(log.countFor('a', 0), 250, 'a record addressed to one sink is not counted for another');
  t.equal(log.countFor('only-b', 240), 11);
  t.equal(log.countFor('a', 10, 20), 10, 'inside a row');
  t.equal(log.countFor('a', RECORDS_PER_ROW - 3, RECORDS_PER_ROW + 4), 7, 'across two rows');
  t.same(log.readBatch('a', 10, 5, 1e9).map((r) => r.seq), [11, 12, 13, 14, 15]);
  t.same(log.readBatch('a', RECORDS_PER_ROW - 2, 4, 1e9).map((r) => r.seq), [RECORDS_PER_ROW - 1, RECORDS_PER_ROW, RECORDS_PER_ROW + 1, RECORDS_PER_ROW + 2], 'across a row boundary');
  t.equal(log.readBatch('a', 0, 100, 1).length, 1, 'at least one record even over maxBytes');
  t.equal(log.readBatch('a', 0, 100, 3 * 7).length, 3, 'maxBytes of JSON, inside a row');
  t.equal(log.readBatch('a', 0, 1000, 1e9).length, 250, 'more rows than one read takes');
  t.equal(log.oldestRun({ needBytes: 3 * size }), RECORDS_PER_ROW, 'a whole row');
  t.equal(log.oldestRun({ cutoff: 1500 }), 250, 'everything received before the cutoff');
  t.same(log.deleteUpTo(100), { b: 0, n: 0 }, 'a row goes only once all its records are passed');
  t.equal(log.firstSeq(), 1);
  t.same(log.deleteUpTo(RECORDS_PER_ROW), { b: recs(RECORDS_PER_ROW).reduce((n, r) => n + recordSize(r.json), 0), n: RECORDS_PER_ROW });
  t.equal(log.firstSeq(), RECORDS_PER_ROW + 1);
  // A new handle sees the last seq even after every record is gone.
  log.deleteUpTo(1000);
  t.equal(new RecordLog(d).lastSeq, 251);
});

t.test('record log: a row whose lines do not match its seqs is reported as damaged, not read in a loop', async (t) => {
  const d = db(t);
  const log = new RecordLog(d);
  d.transaction(() => log.insert(recs(5), null, 1000, 0))();
  d.prepare("UPDATE records SET json = substr(json, 1, instr(json, char(10)) - 1)").run(); // keeps the first line only
  t.throws(() => log.readBatch('a', 0, 10, 1e9), /row of records 1-5 holds 1 lines and 5 keys: damaged/);
});

t.test('record log: routing facts stored with their records, per row; read only for a sink that asks; damaged counts reported', async (t) => {
  const d = db(t);
  const log = new RecordLog(d);
  const withFacts = recs(RECORDS_PER_ROW + 2).map((r, i) => (i % 2 ? r : { ...r, facts: `{"namespaces":["n${i}"],"namespaceLabels":{"team":null}}` }));
  d.transaction(() => log.insert(withFacts, null, 1000, 0))();
  d.transaction(() => log.insert(recs(3, 500), null, 1000, log.storedLastSeq()))();
  const rows = d.prepare('SELECT last_seq AS l, facts FROM records ORDER BY last_seq').all() as { l: number; facts: string | null }[];
  t.same(rows.map((r) => r.l), [RECORDS_PER_ROW, RECORDS_PER_ROW + 2, RECORDS_PER_ROW + 5]);
  t.ok(rows[0]!.facts!.startsWith('[{"namespaces":["n0"],"namespaceLabels":{"team":null}},null,{"namespaces":["n2"]'), 'a JSON array, null for a record without');
  t.equal(rows[2]!.facts, null, 'a row without any facts stores none');
  const read = log.readBatch('a', RECORDS_PER_ROW - 2, 10, 1e9, true);
  t.same(read.map((r) => r.facts), [
    { namespaces: [`n${RECORDS_PER_ROW - 2}`], namespaceLabels: { team: null } },
    undefined,
    { namespaces: [`n${RECORDS_PER_ROW}`], namespaceLabels: { team: null } },
    undefined,
    undefined,
    undefined,
    undefined,
  ], 'each record its own facts, across rows, from inside a row');
  t.ok(log.readBatch('a', 0, 1000, 1e9).every((r) => !('facts' in r)), 'a sink that does not read them does not get them');
  d.prepare('UPDATE records SET facts = ? WHERE last_seq = ?').run('[null]', RECORDS_PER_ROW + 2);
  t.throws(() => log.readBatch('a', RECORDS_PER_ROW, 10, 1e9, true), /row of records 129-130 holds 2 lines and 2 keys and 1 facts: damaged/);
});

t.test('a damaged row: queue check names it; recover moves its records to the dead letters and delivery goes on past it', async (t) => {
  const file = path.join(shortDir(t), 'queue.db');
  const opts = { maxBytes: 1e9, onFull: 'block', synchronous: 'normal', maxAgeMs: 0, deadLetterMaxRawBytes: 1024, deadLetterMaxRecords: 10 } as const;
  const q = new Queue(file, opts);
  q.registerSinks([{ name: 'web', type: 'file', startFrom: 'oldest' }]);
  for (let b = 0; b < 3; b++) q.appendBatch(recs(3, 3 * b), []);
  q.close();
  t.same(checkQueue(file).problems, [], 'sound before');
  const w = openSqlite(file, { fileMustExist: true });
  w.prepare("UPDATE records SET keys = '[]' WHERE last_seq = 6").run();
  w.close();
  const check = checkQueue(file);
  t.equal(check.ok, false);
  t.match(check.problems, [/row of records 4-6 holds 3 lines and 0 keys: damaged: `exporter queue recover` moves its records to the dead letters/]);
  const r = recoverQueue(file, { fresh: false });
  t.equal(r.damagedRows, 1);
  t.equal(r.salvaged['records'], 6, 'the sound rows salvaged');
  t.ok(checkQueue(file).ok, 'sound after');
  const again = new Queue(file, opts);
  t.teardown(() => again.close());
  t.same(again.readBatch('web', 0, 100, 1e9).map((x) => x.seq), [1, 2, 3, 7, 8, 9], 'delivery reads past where the row was');
  t.same(again.deadLetters.list({}).map((d) => [d.sink, d.reason, d.seq, String(d.raw)]), [[null, 'damaged_row', 4, '{"i":3}\n{"i":4}\n{"i":5}']], 'its records kept in a dead letter');
});

t.test('record log: a row holds at most 256 KiB of JSON (and always one record)', async (t) => {
  const d = db(t);
  const log = new RecordLog(d);
  const big = (i: number): NewRecord => ({ decisionId: `d${i}`, eventType: 'e', json: `{"i":${i},"pad":"${'x'.repeat(200 * 1024)}"}` });
  d.transaction(() => log.insert([big(0), big(1), big(2), { decisionId: 'small', eventType: 'e', json: '{}' }, big(4)], null, 1000, 0))();
  const rows = d.prepare('SELECT first_seq AS f, last_seq AS l FROM records ORDER BY last_seq').all();
  t.same(rows, [{ f: 1, l: 1 }, { f: 2, l: 2 }, { f: 3, l: 4 }, { f: 5, l: 5 }]);
  t.same(log.readBatch('a', 0, 10, 1e9).map((r) => r.decisionId), ['d0', 'd1', 'd2', 'small', 'd4']);
});

t.test('sink cursors: new sinks by startFrom, renames take the lowest old cursor, removed sinks hold what they owe', async (t) => {
  const d = db(t);
  const c = new SinkCursors(d);
  let r = c.register([{ name: 'a', type: 'http', startFrom: 'newest' }, { name: 'b', type: 'file', startFrom: 'oldest' }], 100, 1);
  t.same(r.added.map((x) => [x.name, x.cursor]), [['a', 100], ['b', 0]]);
  t.same([c.get('a')!.startFrom, c.get('b')!.startFrom], ['newest', 'oldest']);
  c.advance('a', 150, 50, 0, 2);
  t.equal(c.heldFrom(), 0, 'b holds everything');

  r = c.register([{ name: 'b', type: 'file', startFrom: 'oldest' }], 200, 3); // "a" removed at seq 200
  t.same(r.orphaned, [{ name: 'a', cursor: 150, removedAtSeq: 200 }]);
  c.advance('b', 300, 300, 0, 4);
  t.equal(c.heldFrom(), 150, 'the removed sink still holds from its cursor');
  r = c.register([{ name: 'b', type: 'file', startFrom: 'oldest' }], 300, 5);
  t.same(r.orphaned, [{ name: 'a', cursor: 150, removedAtSeq: 200 }], 'still an orphan at the next start: it owes the same');
  c.skipDeleted(180); // retention deleted up to 180
  t.equal(c.get('a')!.cursor, 180);
  c.skipDeleted(500);
  t.equal(c.get('a')!.cursor, 200, 'never past what it owed');
  t.equal(c.heldFrom(), 300, 'owing nothing, it holds nothing');

  r = c.register([{ name: 'b2', type: 'file', startFrom: 'newest', previousNames: ['b', 'nonexistent'] }], 400, 6);
  t.same(r.renamed, [{ from: 'b', to: 'b2', cursor: 300 }]);
  t.same(r.added, [], 'a rename is not a new sink');
  t.same(c.all().map((s) => [s.name, s.active, s.cursor]), [['b2', true, 300], ['a', false, 200]]);
  c.remove('a');
  t.same(c.all().map((s) => s.name), ['b2']);
});

t.test('dead letters: raw cut to size, capped oldest first, listed by sink and reason, taken back', async (t) => {
  const d = db(t);
  const s = new DeadLetterStore(d, { maxRawBytes: 4, maxRecords: 3 });
  for (let i = 0; i < 5; i++) s.add({ sink: i % 2 ? 'web' : null, reason: i < 4 ? 'schema' : 'x', error: 'e', raw: `raw-${i}` }, i);
  t.equal(s.cap(), 2, 'two over the cap');
  t.same(s.list({}).map((l) => [l.sink, l.raw, l.rawTruncated]), [[null, 'raw-', true], ['web', 'raw-', true], [null, 'raw-', true]]);
  t.equal(s.count({ sink: null }), 2);
  t.equal(s.count({ sink: 'web', reason: 'schema' }), 1);
  t.same([...s.countsBySink()].sort(), [['web', 1], [null, 2]].sort());
  const first = s.list({ limit: 1 })[0]!;
  t.equal(s.take(first.id)!.id, first.id);
  t.equal(s.take(first.id), undefined);
  t.equal(s.purge(s.list({}).map((l) => l.id)), 2);
});

t.test('disk head-room: capped to an eighth of the volume; with no file, ingest follows free space', async (t) => {
  const dir = shortDir(t);
  const r = new DiskReserve(path.join(dir, 'q.db'), 1024 ** 4);
  const st = fs.statfsSync(dir);
  t.equal(r.bytes, Math.floor((st.blocks * st.bsize) / 8), 'a reserve larger than the volume is capped');
  const small = new DiskReserve(path.join(dir, 'q.db'), 1024 * 1024);
  t.equal(small.bytes, 1024 * 1024);
  const MiB = 1024 * 1024;
  t.ok(small.mayWrite(() => ({ volumeFree: 0.5 * MiB, internalFree: 0.6 * MiB })), 'free space plus free pages over the head-room');
  t.notOk(small.mayWrite(() => ({ volumeFree: 0.5 * MiB, internalFree: 0.4 * MiB })), 'under it: held back');
  t.notOk(fs.existsSync(small.file), 'no file was needed for either answer');
  small.release();
  t.ok(small.diskFull);
  t.notOk(small.mayWrite(() => ({ volumeFree: 0.5 * MiB, internalFree: 1 * MiB })), 'after a full disk, twice the head-room is needed');
  t.ok(small.mayWrite(() => ({ volumeFree: 0.5 * MiB, internalFree: 1.6 * MiB })));
  t.notOk(small.diskFull, 'recovered');
  t.ok(small.mayWrite(() => ({ volumeFree: 3 * MiB, internalFree: 0 })));
  t.equal(fs.statSync(small.file).size, MiB, 'the file is recreated once the volume has room for twice it');
  small.close();
  t.notOk(fs.existsSync(small.file));
});

t.test('marker: a new queue gets one; a missing, empty or replaced queue file is refused', async (t) => {
  const dir = shortDir(t);
  const file = path.join(dir, 'q.db');
  t.equal(checkBeforeOpen(file), null, 'no marker: a new queue');
  const d = openQueueDb(file, { readonly: false, create: true, synchronous: 'normal', walAutocheckpointPages: 64 });
  bindMarker(file, d, null);
  const m = readMarker(file)!;
  t.match(m.id, /^[0-9a-f-]{36}$/);
  bindMarker(file, d, m);
  t.pass('the same queue binds again');
  d.close();
  fs.renameSync(file, `${file}.x`);
  t.throws(() => checkBeforeOpen(file), /is missing, but .*\.id says a queue/, 'missing');
  t.ok((() => { try { checkBeforeOpen(file); } catch (e) { return e instanceof QueueLostError; } return false; })(), 'a QueueLostError');
  fs.writeFileSync(file, '');
  t.throws(() => checkBeforeOpen(file), /is empty \(0 bytes\)/);
  fs.rmSync(file);
  const other = openQueueDb(file, { readonly: false, create: true, synchronous: 'normal', walAutocheckpointPages: 64 });
  t.throws(() => bindMarker(file, other, m), /holds no queue \(a new, empty database\)/);
  other.prepare(`INSERT INTO meta (key, value) VALUES ('queue_id', 'someone-else')`).run();
  t.throws(() => bindMarker(file, other, m), /is not the one .* names/);
  other.close();
});

/** Three records (a, b, c), the sink "web" at 1. */
function perRecordFile(file: string): void {
  perRecordQueueFile(file, (db) =>
    db.exec(`
      INSERT INTO meta VALUES ('last_seq', '3');
      INSERT INTO records VALUES (1, 1, 70, NULL, 'a', 'admission_decision', '{"i":1}'), (2, 1, 70, NULL, 'b', 'admission_decision', '{"i":2}'),
        (3, 1, 70, NULL, 'c', 'admission_decision', '{"i":3}');
      INSERT INTO sinks (name, type, cursor, added_at) VALUES ('web', 'http', 1, 1);
    `),
  );
}

t.test('a queue file an older exporter wrote (no new columns, no marker) opens and keeps its records and cursors', async (t) => {
  const file = path.join(shortDir(t), 'old.db');
  perRecordFile(file);
  const options = { maxBytes: 1e9, onFull: 'block', synchronous: 'normal', maxAgeMs: 0, deadLetterMaxRawBytes: 1024, deadLetterMaxRecords: 10 } as const;
  // Read-only (exporter status while no exporter has run the new version on it): read through a view, nothing changed.
  const reader = new Queue(file, options, { owner: false, readonly: true });
  t.same(reader.readBatch('web', 1, 10, 1e9).map((r) => [r.seq, r.decisionId, r.eventType, r.json]), [[2, 'b', 'admission_decision', '{"i":2}'], [3, 'c', 'admission_decision', '{"i":3}']]);
  t.equal(reader.exactDepth('web', 1), 2);
  reader.close();
  const told: unknown[] = [];
  const q = new Queue(file, options, { owner: true, onMigration: { progress: (m, n) => told.push(['progress', m, n]), done: (n) => told.push(['done', n]) } });
  t.teardown(() => q.close());
  t.same(told, [['progress', 3, 3], ['done', 3]], 'the migration of the per-record rows, told');
  t.same(q.db.prepare('SELECT first_seq AS f, last_seq AS l, keys FROM records').all(), [1, 2, 3].map((i) => ({ f: i, l: i, keys: `["${'abc'[i - 1]}","admission_decision"]` })));
  t.throws(
    () => q.db.prepare('INSERT INTO records (seq, received_at, size, only_sink, decision_id, event_type, json) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    /no column named seq/,
    "an older exporter's INSERT fails at start-up rather than writing beside the records",
  );
  q.registerSinks([{ name: 'web', type: 'http', startFrom: 'newest' }]);
  t.equal(q.lastSeq, 3);
  t.equal(q.sinkCursor('web'), 1);
  t.same(q.readBatch('web', 1, 10, 1e9).map((r) => r.decisionId), ['b', 'c']);
  t.equal(q.sinkStates()[0]!.startFrom, null, 'unknown for a sink an older exporter added');
  t.ok(readMarker(file), 'the marker is written');
});

t.test('a migration cut short keeps what it moved, reads whole meanwhile, is salvaged whole, and goes on at the next open', async (t) => {
  const dir = shortDir(t);
  const file = path.join(dir, 'old.db');
  perRecordFile(file);
  const raw = openSqlite(file);
  const add = raw.prepare("INSERT INTO records VALUES (?, 1, 70, NULL, ?, 'admission_decision', ?)");
  for (let i = 4; i <= 25; i++) add.run(i, `r${i}`, `{"i":${i}}`);
  // Cut after its first slice of 10 (a crash, a full disk): the progress callback runs after each committed slice.
  t.throws(() => migrateRecords(raw, () => { throw new Error('cut short'); }, 10), /cut short/);
  t.same(raw.prepare('SELECT count(*) AS n FROM records').get(), { n: 10 }, 'the first slice moved');
  t.same(raw.prepare('SELECT count(*) AS n FROM records_per_record').get(), { n: 15 }, "and its old rows deleted: the file holds each record once");
  raw.close();
  const opts = { maxBytes: 1e9, onFull: 'block', synchronous: 'normal', maxAgeMs: 0, deadLetterMaxRawBytes: 1024, deadLetterMaxRecords: 10 } as const;
  const all = Array.from({ length: 25 }, (_, i) => `{"i":${i + 1}}`);
  const reader = new Queue(file, opts, { owner: false, readonly: true });
  t.same(reader.readBatch('web', 0, 100, 1e9).map((r) => r.json), all, 'a read-only handle reads both tables, in order');
  t.equal(reader.recordCount(), 25);
  reader.close();
  fs.copyFileSync(file, path.join(dir, 'copy.db'));
  t.equal(recoverQueue(path.join(dir, 'copy.db'), { fresh: false }).salvaged['records'], 25, 'a salvage takes both tables and finishes the migration');
  const told: number[][] = [];
  const q = new Queue(file, opts, { owner: true, onMigration: { progress: (m, n) => told.push([m, n]) } });
  t.teardown(() => q.close());
  t.same(told, [[15, 15]], 'the next open moves the rest');
  t.same(q.readBatch('web', 0, 100, 1e9).map((r) => r.json), all);
  t.same(q.db.prepare("SELECT name FROM sqlite_master WHERE name = 'records_per_record'").all(), []);
});

t.test('recovering a damaged queue file in the per-record format salvages it and moves it to the batched one', async (t) => {
  const file = path.join(shortDir(t), 'old.db');
  perRecordFile(file);
  const r = recoverQueue(file, { fresh: false });
  t.equal(r.salvaged['records'], 3, 'records counted, not rows');
  const q = new Queue(file, { maxBytes: 1e9, onFull: 'block', synchronous: 'normal', maxAgeMs: 0, deadLetterMaxRawBytes: 1024, deadLetterMaxRecords: 10 });
  t.teardown(() => q.close());
  t.same(q.db.prepare('SELECT first_seq AS f, last_seq AS l FROM records').all(), [1, 2, 3].map((i) => ({ f: i, l: i })));
  t.same(q.readBatch('web', 0, 10, 1e9).map((r) => r.json), ['{"i":1}', '{"i":2}', '{"i":3}']);
});

t.test('record log: the highest seq survives deleting its row, a reopen, and a second writer on the same file', async (t) => {
  const d = db(t);
  const log = new RecordLog(d);
  const insert = (l: RecordLog, n: number) => d.transaction(() => l.insert(recs(n), null, 1000, l.storedLastSeq()))();
  log.committed(insert(log, 10), 0);
  d.transaction(() => log.deleteUpTo(5))();
  t.equal(new RecordLog(d).lastSeq, 10, 'the highest row still there says it');
  d.transaction(() => log.deleteUpTo(10))();
  t.equal(log.count(), 0);
  t.equal(new RecordLog(d).lastSeq, 10, 'every row deleted: meta keeps it, a reopen goes on from it');
  const other = new RecordLog(d);
  t.equal(insert(other, 3), 13, 'another writer (dead-letter retry) continues after it');
  t.equal(log.storedLastSeq(), 13, 'and the first sees its rows');
  t.equal(insert(log, 1), 14);
});
