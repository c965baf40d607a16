// The checkpoint thread: copies the WAL's committed pages back into the queue's file on a connection of its own, so that
// the main thread's commits only append to the WAL. It sleeps on a shared counter the main thread bumps after each
// commit, and reads how far the WAL is ahead of the file from the wal-index header (the -shm file, whose layout SQLite
// documents: https://www.sqlite.org/walformat.html#the_wal_index_file_format), a 104-byte read, before deciding.
import fs from 'node:fs';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { openSqlite } from './sqlite.js';
import { CHECKPOINT_CLOSE, CHECKPOINT_COMMITS, CHECKPOINT_DONE, CHECKPOINT_STATE, type CheckpointFailure, type CheckpointThreadData } from './checkpoint-job.js';

const d = workerData as CheckpointThreadData;
const shared = d.shared;
const port = parentPort!;

/** Offsets in the wal-index header: mxFrame (the WAL's last valid frame) and nBackfill (frames already copied back). */
const MX_FRAME = 16;
const N_BACKFILL = 96;
const header = Buffer.alloc(N_BACKFILL + 4);
const readU32 = os.endianness() === 'LE' ? (o: number) => header.readUInt32LE(o) : (o: number) => header.readUInt32BE(o);

let db: Database.Database | undefined;
const failed = (error: string) => port.postMessage({ error } satisfies CheckpointFailure);

function walBehind(): { frames: number; partial: boolean } | undefined {
  try {
    if (fs.readSync(d.shmFd, header, 0, header.length, 0) < header.length) return undefined;
  } catch {
    return undefined;
  }
  const mx = readU32(MX_FRAME);
  const backfilled = readU32(N_BACKFILL);
  return { frames: Math.max(0, mx - backfilled), partial: backfilled > 0 && backfilled < mx };
}

function checkpointIfDue(): void {
  const behind = walBehind();
  // A checkpoint that ran while the main thread committed leaves frames behind, and the WAL cannot start over from its
  // beginning until they are copied too: catch up at once rather than wait for the threshold.
  if (behind && behind.frames < d.thresholdFrames && !behind.partial) return;
  try {
    db!.pragma('wal_checkpoint(PASSIVE)');
    Atomics.add(shared, CHECKPOINT_DONE, 1);
  } catch (e) {
    // The main connection's own automatic checkpoint is still there: a failure here (a full disk) only moves the work back.
    failed((e as Error).message);
  }
}

try {
  db = openSqlite(d.file, { fileMustExist: true });
  Atomics.store(shared, CHECKPOINT_STATE, 1);
  Atomics.notify(shared, CHECKPOINT_STATE);
} catch (e) {
  failed(`could not open the queue for checkpoints: ${(e as Error).message}`);
}

if (db) {
  let seen = -1;
  while (Atomics.load(shared, CHECKPOINT_CLOSE) === 0) {
    const commits = Atomics.load(shared, CHECKPOINT_COMMITS);
    if (commits !== seen) {
      seen = commits;
      checkpointIfDue();
    }
    Atomics.wait(shared, CHECKPOINT_COMMITS, commits);
  }
  db.close();
}
Atomics.store(shared, CHECKPOINT_STATE, 2);
Atomics.notify(shared, CHECKPOINT_STATE);
