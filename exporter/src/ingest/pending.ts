// The lines read but not yet committed, in arrival order, with their byte count: what ingest holds in memory, bounded by
// ingest.maxPendingRecords and ingest.maxPendingBytes.
import type { NewDeadLetter, NewRecord } from '../queue/queue.js';
import type { Connection } from './connection.js';

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
    readonly json: string | Buffer,
    /** What the line counts against ingest.maxPendingBytes and, for a record, against queue.maxBytes. */
    readonly size: number,
    readonly reject: NewDeadLetter | null,
    /** What the sinks' routing reads of the record (routing/facts.ts), as JSON, when configured. */
    readonly facts?: string,
  ) {}
}

export class PendingLines {
  /** lines[head..] wait; committed ones are cut off in bulk, not one by one. */
  private lines: PendingLine[] = [];
  private headIndex = 0;
  private bytesValue = 0;
  /** The oldest lines handed to a commit still under way: they no longer count against the limits. */
  private sentCount = 0;
  private sentBytes = 0;

  constructor(private readonly limits: { maxPendingRecords: number; maxPendingBytes: number }) {}

  get count(): number {
    return this.lines.length - this.headIndex;
  }
  get bytes(): number {
    return this.bytesValue;
  }
  /** Index of the oldest waiting line, for at(). */
  get head(): number {
    return this.headIndex;
  }

  at(i: number): PendingLine {
    return this.lines[i]!;
  }

  push(line: PendingLine): void {
    this.bytesValue += line.size;
    this.lines.push(line);
  }

  /**
   * The oldest `count` lines (`bytes`) are being committed: while the queue's writer thread commits them, reading goes
   * on up to the limits for the lines after them, so parsing overlaps the commit. (0, 0): none is.
   */
  sent(count: number, bytes: number): void {
    this.sentCount = count;
    this.sentBytes = bytes;
  }

  /** Over either bound (records or bytes, those being committed aside): reading stops until commits bring both under half. */
  overLimit(): boolean {
    return this.count - this.sentCount >= this.limits.maxPendingRecords || this.bytesValue - this.sentBytes >= this.limits.maxPendingBytes;
  }

  underHalf(): boolean {
    return this.count - this.sentCount < this.limits.maxPendingRecords / 2 && this.bytesValue - this.sentBytes < this.limits.maxPendingBytes / 2;
  }

  /** Forgets lines [head..end) (committed) and their bytes: all at once when everything is, else once the committed part is the larger. */
  dropCommitted(end: number, bytes: number): void {
    this.bytesValue -= bytes;
    this.sentCount = 0;
    this.sentBytes = 0;
    const lines = this.lines;
    if (end === lines.length) {
      lines.length = 0;
      this.headIndex = 0;
    } else if (end > lines.length - end) {
      lines.splice(0, end);
      this.headIndex = 0;
    } else {
      // The committed lines must not stay reachable until the next cut.
      lines.fill(undefined as unknown as PendingLine, this.headIndex, end);
      this.headIndex = end;
    }
  }
}
