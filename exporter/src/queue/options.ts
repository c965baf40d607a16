// What the queue is opened with, what it counts when it drops records, and the error ingest waits on.
export type OnFull = 'block' | 'drop-oldest';

export interface QueueOptions {
  maxBytes: number;
  onFull: OnFull;
  synchronous: 'normal' | 'full';
  /** 0 = keep records until every sink has them. */
  maxAgeMs: number;
  deadLetterMaxRawBytes: number;
  deadLetterMaxRecords: number;
  /** Head-room kept on the queue's volume so sinks can still advance and prune on a full disk (disk-reserve.ts). */
  diskReserveBytes?: number;
  /** Ingest batches committed on a thread of their own (writer-thread.ts) while the main thread parses and acks. */
  writerThread?: boolean;
  /** WAL checkpoints on a thread of their own (checkpointer.ts) rather than inside the commits; not with writerThread. */
  checkpointThread?: boolean;
}

export interface DropCounts {
  queue_full: number;
  max_age: number;
  dead_letters_full: number;
}

export class QueueFullError extends Error {
  constructor(
    readonly diskFull: boolean,
    cause?: unknown,
  ) {
    super(diskFull ? `the disk holding the queue is full: ${(cause as Error)?.message ?? ''}` : 'the queue is at its capacity (queue.maxBytes)', { cause });
  }
}
