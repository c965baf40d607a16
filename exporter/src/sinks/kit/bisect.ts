// The one bisector of the sinks: records a receiver refuses as a group because some of them are bad (an HTTP request
// refused with 400/413/422, a Dapr bulk request refused whole, a Kafka produce request answered MESSAGE_TOO_LARGE) are
// halved, recursively, until the bad ones stand alone; the others are delivered, in order.
import { SinkError } from '../sink.js';

/** A request refused whole for what it carries (HTTP 400/409/422, a Dapr bulk 400/413): some records in it are bad. */
export class ContentRefused extends SinkError {
  constructor(message: string) {
    super(message, { retryable: false });
  }
}

/** A request refused whole for its size (HTTP 413): halving helps, but a lone record refused so is not "bad content". */
export class PayloadTooLarge extends ContentRefused {}

export interface Bisection<T> {
  /**
   * Sends the items as one request. Returns those refused as a group, each with why (all of them when the request was
   * refused whole; none when it went through); throws for a failure that is not about the records (it propagates).
   */
  send(items: readonly T[]): Promise<ReadonlyMap<T, unknown>>;
  /** The item was refused alone: a permanent failure of that record. */
  refusedAlone(item: T, why: unknown): void;
  /** Before refused items are halved (for a debug line). */
  onSplit?(items: readonly T[]): void;
}

/** Sends the items; what is refused as a group is bisected (see bisectRefused). Halves go out left to right. */
export async function sendBisecting<T>(b: Bisection<T>, items: readonly T[]): Promise<void> {
  const refused = await b.send(items);
  if (refused.size === 0) return;
  if (items.length === 1) return b.refusedAlone(items[0]!, refused.get(items[0]!));
  await bisectRefused(
    b,
    items.filter((i) => refused.has(i)),
  );
}

/** Items just refused as a group: each half is sent on its own (a lone item once more), recursively. */
export async function bisectRefused<T>(b: Bisection<T>, refused: readonly T[]): Promise<void> {
  if (refused.length === 1) return sendBisecting(b, refused);
  b.onSplit?.(refused);
  const half = Math.ceil(refused.length / 2);
  await sendBisecting(b, refused.slice(0, half));
  await sendBisecting(b, refused.slice(half));
}

/** A run of a batch sent by requests that either go through or are refused whole (HTTP, Dapr bulk). */
export interface RunRequests {
  /** Sends the records at these indexes (in order) as one request. */
  post(indexes: readonly number[]): Promise<void>;
  /** Whether a refusal of the request is about its records (halve it) rather than the receiver (propagate). */
  splits(err: unknown): boolean;
  /** The record at index was refused alone. */
  refusedAlone(index: number, err: unknown): void;
  /** Every record before `next` is settled (delivered or refused alone). */
  settled(next: number): void;
  onSplit?(indexes: readonly number[]): void;
}

const NONE: ReadonlyMap<number, unknown> = new Map();

/** sendBisecting for requests refused whole: what a refused request held is what is halved. */
export function sendRunBisecting(indexes: readonly number[], r: RunRequests): Promise<void> {
  return sendBisecting<number>(
    {
      send: async (items) => {
        try {
          await r.post(items);
        } catch (e) {
          if (!r.splits(e)) throw e;
          return new Map(items.map((i) => [i, e]));
        }
        r.settled(items[items.length - 1]! + 1);
        return NONE;
      },
      refusedAlone: (index, e) => {
        r.refusedAlone(index, e);
        r.settled(index + 1);
      },
      ...(r.onSplit ? { onSplit: r.onSplit } : {}),
    },
    indexes,
  );
}
