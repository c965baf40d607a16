// A batch sent as HTTP requests (http and otlp sinks), in order: cut by count and bytes (chunk.ts); a request refused
// for what it carries is halved until the refused records stand alone (bisect.ts), the rest is delivered; after a
// retryable failure nothing more goes now, and the records not yet settled are failed for the worker to retry.
import type { Logger } from 'pino';
import { SinkError, type RecordFailure, type SendResult } from '../sink.js';
import { chunkRuns, runIndexes } from './chunk.js';
import { ContentRefused, PayloadTooLarge, sendRunBisecting } from './bisect.js';

export interface SplitterOptions {
  maxRecords: number;
  maxBytes: number;
  /** On 413, halve the request and retry the halves; a single record refused with 413 is permanent. */
  splitOn413: boolean;
  /** On a content refusal, halve the request (else its records fail together). */
  splitRejected: boolean;
  log?: Logger | undefined;
}

/**
 * Posts the records at these indexes (of the batch) as one request; throws for a failed request (SinkError,
 * ContentRefused, PayloadTooLarge); may add failures of single records the receiver reported in a 2xx answer.
 */
export type PostRequest = (indexes: readonly number[], failures: RecordFailure[]) => Promise<void>;

/** What the splitter needs of a record: its queue position and the bytes it adds to a request (before compression). */
export interface SplitRecord {
  readonly seq: number;
  readonly bytes: number;
}

export class RequestSplitter {
  /** Sequence numbers the last splitting send() found refused alone for their content. */
  #refusedAlone = new Set<number>();

  constructor(private readonly o: SplitterOptions) {}

  async send(batch: readonly SplitRecord[], post: PostRequest): Promise<SendResult> {
    const failures: RecordFailure[] = [];
    const runs = chunkRuns(batch.length, this.o.maxRecords, this.o.maxBytes, (i) => batch[i]!.bytes);
    // The worker retries records refused alone together. When that retry is refused again, splitting it once more would
    // only repeat the last search (and hammer a receiver that refuses everything): the records fail together.
    const retryOfRefused = batch.length > 1 && batch.every((r) => this.#refusedAlone.has(r.seq));
    const split = this.o.splitRejected && !retryOfRefused;
    /** Every record before `next` is settled (delivered or failed for good). */
    let next = 0;
    const refusedAlone: number[] = [];
    for (const run of runs) {
      try {
        await sendRunBisecting(runIndexes(run), {
          post: (indexes) => post(indexes, failures),
          splits: (e) => (e instanceof PayloadTooLarge ? this.o.splitOn413 : split && e instanceof ContentRefused),
          refusedAlone: (index, e) => {
            failures.push({ index, error: (e as Error).message, retryable: false });
            if (!(e instanceof PayloadTooLarge)) refusedAlone.push(index);
          },
          settled: (n) => (next = n),
          onSplit: (indexes) => this.o.log?.debug({ records: indexes.length }, 'request refused: splitting it in two'),
        });
      } catch (e) {
        const err = e instanceof SinkError ? e : new SinkError((e as Error)?.message ?? String(e), { retryable: true, cause: e });
        // Nothing settled yet and nothing else to send: fail the batch as a whole (keeping Retry-After).
        if (next === 0 && failures.length === 0 && (err.retryable || runs.length === 1)) throw err;
        // Order matters: nothing after a retryable failure is sent now, so only the rest is sent again. A permanent
        // refusal of one request fails the rest of that request and must not hold up the requests behind it.
        const to = err.retryable ? batch.length : run.end;
        for (let i = next; i < to; i++) failures.push({ index: i, error: err.message, retryable: err.retryable });
        if (err.retryable) break;
        next = to;
      }
    }
    if (split) this.#refusedAlone = new Set(refusedAlone.map((i) => batch[i]!.seq));
    if (refusedAlone.length) this.o.log?.warn({ refused: refusedAlone.length, of: batch.length }, 'receiver refused some records; the others were delivered');
    return failures.length ? { failures } : {};
  }
}
