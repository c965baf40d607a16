// One client connection on the socket: its line splitter and where its acks stand.
import type net from 'node:net';
import type { LineSplitter } from './splitter.js';
import type { NewDeadLetter, NewRecord } from '../queue/queue.js';

export class Connection {
  lineNo = 0;
  /** While a commit builds its acks: when its oldest line in the batch was read (-1 when not in the batch). */
  batchReadAt = -1;
  acked = 0;
  uncommitted = 0;
  ackOwed = false;
  inputEnded = false;
  closed = false;
  /** Set when the guard cut the connection (guard.ts): its unterminated line was discarded. */
  cut = false;
  errorsOut: string[] = [];
  /** performance.now() of the last bytes received (or of the accept, or of the end of an ingest pause). */
  lastDataAt = performance.now();
  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    readonly splitter: LineSplitter,
  ) {}
}

/**
 * A line read but not yet committed: one object per line, and it is the record handed to the queue as it is (no
 * per-line copies): everything a line holds in memory until its commit is here.
 */
export class PendingLine implements NewRecord {
  constructor(
    readonly conn: Connection,
    readonly lineNo: number,
    readonly readAt: number,
    readonly decisionId: string,
    readonly eventType: string,
    readonly json: string,
    /** What the line counts against ingest.maxPendingBytes and, for a record, against queue.maxBytes. */
    readonly size: number,
    readonly reject: NewDeadLetter | null,
  ) {}
}
