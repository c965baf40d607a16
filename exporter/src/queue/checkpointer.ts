// The main thread's side of the checkpoint thread (checkpoint-worker.ts). SQLite's automatic checkpoint runs inside
// the commit that crosses wal_autocheckpoint: the WAL's pages written back into the file and both fsynced, on the
// thread that committed. At full ingest that was a sixth of the main thread's CPU (bench/exporter-ingest.ts, README).
// The thread checkpoints at the WAL's limit; the main connection's automatic checkpoint, at twice that, remains only as
// the backstop, and goes back to the limit itself should the thread fail.
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import { Worker } from 'node:worker_threads';
import { CHECKPOINT_CLOSE, CHECKPOINT_COMMITS, CHECKPOINT_DONE, CHECKPOINT_SLOTS, CHECKPOINT_STATE, type CheckpointFailure, type CheckpointThreadData } from './checkpoint-job.js';

/** How long close() waits for the thread to start, then to close its connection. */
const CLOSE_WAIT_MS = 15_000;

export class Checkpointer {
  private readonly worker: Worker | undefined;
  private readonly shared = new Int32Array(new SharedArrayBuffer(CHECKPOINT_SLOTS * 4));
  private readonly shmFd: number | undefined;
  private ended = false;
  private failed = false;

  /**
   * Call with the queue's own connection open in WAL mode (its -shm file exists then), its automatic checkpoint at twice
   * walLimitPages. Never throws: should the thread fail (or not start), that connection goes back to checkpointing at
   * walLimitPages itself and warn says why, once (the thread goes on trying: a full disk passes).
   */
  constructor(
    private readonly db: Pick<Database.Database, 'name' | 'open' | 'pragma'>,
    private readonly walLimitPages: number,
    private readonly warn: (message: string) => void,
  ) {
    try {
      this.shmFd = fs.openSync(`${db.name}-shm`, 'r');
      const data: CheckpointThreadData = { file: db.name, thresholdFrames: walLimitPages, shared: this.shared, shmFd: this.shmFd };
      this.worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
        workerData: data,
        // What the thread allocates dies young (a header read); SQLite's memory is outside V8's heap.
        resourceLimits: { maxYoungGenerationSizeMb: 1 },
      });
    } catch (e) {
      if (this.shmFd !== undefined) fs.closeSync(this.shmFd);
      this.shmFd = undefined;
      this.ended = true;
      // After the constructor, so that the queue's owner has registered its warning listener.
      setImmediate(() => this.fail(`it could not start: ${(e as Error).message}`));
      return;
    }
    this.worker.unref();
    this.worker.on('message', (m: CheckpointFailure) => this.fail(m.error));
    this.worker.on('error', (e) => this.fail(`it ended: ${e.message}`));
    this.worker.on('exit', () => (this.ended = true));
  }

  private fail(why: string): void {
    if (this.failed || !this.db.open) return;
    this.failed = true;
    this.db.pragma(`wal_autocheckpoint = ${this.walLimitPages}`);
    this.warn(`the queue's WAL is checkpointed inside the commits again: its checkpoint thread failed (${why})`);
  }

  /** The thread has opened its connection and waits for commits. */
  get running(): boolean {
    return !this.ended && Atomics.load(this.shared, CHECKPOINT_STATE) === 1;
  }

  /** Whether the thread has the checkpoints: false once it failed and the commits took them back. */
  get up(): boolean {
    return !this.failed;
  }

  /** Checkpoints the thread ran. */
  get checkpoints(): number {
    return Atomics.load(this.shared, CHECKPOINT_DONE);
  }

  /** After a commit: wakes the thread, which checks the WAL (a futex wake, no message). */
  committed(): void {
    Atomics.add(this.shared, CHECKPOINT_COMMITS, 1);
    Atomics.notify(this.shared, CHECKPOINT_COMMITS);
  }

  /**
   * Ends the thread (its connection closed first, waited for synchronously), then closes the queue's own connection
   * (which, as the last one, may then checkpoint and delete the WAL), then the -shm descriptor.
   */
  close(closeConnection: () => void): void {
    try {
      Atomics.store(this.shared, CHECKPOINT_CLOSE, 1);
      this.committed();
      if (!this.ended) {
        Atomics.wait(this.shared, CHECKPOINT_STATE, 0, CLOSE_WAIT_MS);
        Atomics.wait(this.shared, CHECKPOINT_STATE, 1, CLOSE_WAIT_MS);
      }
      this.ended = true;
      void this.worker?.terminate();
      closeConnection();
    } finally {
      if (this.shmFd !== undefined) fs.closeSync(this.shmFd);
    }
  }
}
