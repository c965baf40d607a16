// The writer thread: commits ingest batches and sinks' advances on its own connection to the queue's file (WAL: one
// writer at a time, readers alongside), so the main thread parses the next lines, acks and delivers while SQLite inserts,
// deletes and syncs. Jobs run in the order posted; the main thread acks a batch only once this thread replied that its
// transaction committed.
import { parentPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { openQueueDb } from './db.js';
import { RecordLog } from './record-log.js';
import { SinkCursors } from './sink-cursors.js';
import { DeadLetterStore } from './dead-letters.js';
import { advanceTransaction, appendTransaction, type AdvanceSink, type AppendBatch } from './transactions.js';
import { THREAD_CLOSED, THREAD_FAILED, THREAD_READY, unpackRecords, withBufferRaw, type WriterJob, type WriterReply, type WriterThreadData } from './writer-job.js';

const d = workerData as WriterThreadData;
const port = parentPort!;

function signal(state: number): void {
  Atomics.store(d.state, 0, state);
  Atomics.notify(d.state, 0);
}

let db: Database.Database | undefined;
let append: AppendBatch | undefined;
let advance: AdvanceSink | undefined;
try {
  db = openQueueDb(d.file, { readonly: false, create: false, synchronous: d.synchronous, walAutocheckpointPages: d.walAutocheckpointPages });
  const log = new RecordLog(db, { countBytes: false });
  const stores = { db, log, sinks: new SinkCursors(db), deadLetters: new DeadLetterStore(db, { maxRawBytes: d.deadLetterMaxRawBytes, maxRecords: d.deadLetterMaxRecords }) };
  const tx = appendTransaction(stores, d);
  append = (records, rejects, onlySink, bytesBefore) => {
    const r = tx(records, rejects, onlySink, bytesBefore);
    // This log's last seq is what a prune on this connection keeps up to when no sink holds records back.
    log.committed(r.lastSeq, 0);
    return r;
  };
  advance = advanceTransaction(stores);
  signal(THREAD_READY);
} catch (e) {
  d.errors.postMessage({ message: (e as Error).message, code: (e as { code?: string }).code });
  db?.close();
  signal(THREAD_FAILED);
}

function run(m: WriterJob): WriterReply {
  try {
    if (m.kind === 'append') {
      return { id: m.id, ok: true, result: append!(unpackRecords(m.text, m.lengths), m.rejects.map(withBufferRaw), m.onlySink, m.bytesBefore) };
    }
    return { id: m.id, ok: true, result: advance!(m.sink, m.cursor, m.delivered, m.deadLetters.map(withBufferRaw), m.andPrune) };
  } catch (e) {
    return { id: m.id, ok: false, message: (e as Error).message, code: (e as { code?: string }).code };
  }
}

port.on('message', (m: WriterJob | 'close') => {
  if (m !== 'close') {
    port.postMessage(run(m));
    return;
  }
  try {
    db?.close();
  } finally {
    signal(THREAD_CLOSED);
    port.close();
  }
});
