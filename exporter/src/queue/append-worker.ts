// The append thread: commits ingest batches on its own connection to the queue's file (WAL: one writer at a time,
// readers alongside), so the main thread parses the next lines, acks and delivers while SQLite inserts and syncs.
// The main thread acks a batch only once this thread replies that its transaction committed.
import { parentPort, workerData } from 'node:worker_threads';
import { openQueueDb } from './db.js';
import { RecordLog } from './record-log.js';
import { SinkCursors } from './sink-cursors.js';
import { DeadLetterStore } from './dead-letters.js';
import { appendTransaction, type AppendBatch } from './append.js';
import { THREAD_CLOSED, THREAD_FAILED, THREAD_READY, unpackRecords, type AppendJob, type AppendReply, type AppendThreadData } from './append-job.js';
import type Database from 'better-sqlite3';

const d = workerData as AppendThreadData;
const port = parentPort!;

function signal(state: number): void {
  Atomics.store(d.state, 0, state);
  Atomics.notify(d.state, 0);
}

let db: Database.Database | undefined;
let append: AppendBatch | undefined;
try {
  db = openQueueDb(d.file, { readonly: false, create: false, synchronous: d.synchronous, walAutocheckpointPages: d.walAutocheckpointPages });
  const log = new RecordLog(db, { countBytes: false });
  const stores = { db, log, sinks: new SinkCursors(db), deadLetters: new DeadLetterStore(db, { maxRawBytes: d.deadLetterMaxRawBytes, maxRecords: d.deadLetterMaxRecords }) };
  const tx = appendTransaction(stores, d);
  append = (records, rejects, onlySink, bytesBefore) => {
    const r = tx(records, rejects, onlySink, bytesBefore);
    log.committed(r.lastSeq, 0);
    return r;
  };
  signal(THREAD_READY);
} catch (e) {
  d.errors.postMessage({ message: (e as Error).message, code: (e as { code?: string }).code });
  db?.close();
  signal(THREAD_FAILED);
}

port.on('message', (m: AppendJob | 'close') => {
  if (m === 'close') {
    try {
      db?.close();
    } finally {
      signal(THREAD_CLOSED);
      port.close();
    }
    return;
  }
  let reply: AppendReply;
  try {
    // A dead letter's raw bytes arrive as a Uint8Array: better-sqlite3 binds a Buffer as a BLOB.
    const rejects = m.rejects.map((r) => (typeof r.raw === 'string' ? r : { ...r, raw: Buffer.from(r.raw.buffer, r.raw.byteOffset, r.raw.byteLength) }));
    reply = { id: m.id, ok: true, appended: append!(unpackRecords(m.text, m.lengths), rejects, m.onlySink, m.bytesBefore) };
  } catch (e) {
    reply = { id: m.id, ok: false, message: (e as Error).message, code: (e as { code?: string }).code };
  }
  port.postMessage(reply);
});
