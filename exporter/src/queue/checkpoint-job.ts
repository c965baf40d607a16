// What the queue and its checkpoint thread (checkpoint-worker.ts) share: a few counters in one SharedArrayBuffer.

/** Index of the commit counter the main thread bumps (the thread sleeps on it). */
export const CHECKPOINT_COMMITS = 0;
/** Index of the close request (1: close). */
export const CHECKPOINT_CLOSE = 1;
/** Index of the thread's state: 0 starting, 1 running, 2 closed. */
export const CHECKPOINT_STATE = 2;
/** Index of the count of checkpoints the thread ran (for the exporter's metrics). */
export const CHECKPOINT_DONE = 3;
/** Int32 slots in the shared buffer. */
export const CHECKPOINT_SLOTS = 4;

export interface CheckpointThreadData {
  file: string;
  /** WAL frames (pages) not yet copied back after which the thread checkpoints. */
  thresholdFrames: number;
  shared: Int32Array;
  /**
   * The -shm file, opened read-only by the main thread, which closes it only after its own connection: closing any
   * descriptor of a file drops every POSIX lock the process holds on it, SQLite's included.
   */
  shmFd: number;
}

/** What the thread posts, only when it could not checkpoint (or open the queue): why. */
export interface CheckpointFailure {
  error: string;
}
