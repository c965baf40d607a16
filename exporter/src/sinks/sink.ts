// The one place where delivery targets plug in, in the spirit of Gatekeeper's export driver
// (Publish / CreateConnection / CloseConnection), but batch-first and with explicit retry semantics.

/** One record as a sink receives it: the queue's sequence number and the exact JSON text that was committed. */
export interface OutgoingRecord {
  /** Position in the durable log; strictly increasing, per-sink order follows it. */
  readonly seq: number;
  readonly decisionId: string;
  readonly eventType: string;
  /** The record as committed, serialised JSON (one line, no trailing newline). */
  readonly json: string;
  /** What ingest computed of the record for the sinks' routing (routing/facts.ts), when asked for; sinks ignore it. */
  readonly facts?: RecordFacts;
}

/**
 * The values routing criteria read of a record, by criterion (e.g. namespaces, resourceKinds), and the namespace labels
 * they read (null: the record has no such label). A member not there was not computed.
 */
export type RecordFacts = {
  readonly [criterion: string]: readonly string[] | Readonly<Record<string, string | null>> | undefined;
  readonly namespaceLabels?: Readonly<Record<string, string | null>>;
};

/** A per-record failure inside a batch that otherwise went through (e.g. one Dapr bulk entry, one oversized Kafka message). */
export interface RecordFailure {
  /** Index into the batch passed to send(). */
  readonly index: number;
  readonly error: string;
  /** true: try this record again later; false: the sink refuses it for good (dead letter after maxAttempts). */
  readonly retryable: boolean;
}

/** What send() returns when the call itself succeeded; records not listed in failures are delivered. */
export interface SendResult {
  readonly failures?: readonly RecordFailure[];
}

/**
 * The root of every delivery error: thrown by send() when the whole batch failed. Its retryable flag (kafkajs'
 * `retriable`) is what the worker's backoff reads, through classifyFailure.
 */
export class SinkError extends Error {
  readonly retryable: boolean;
  /** Server-requested delay (e.g. HTTP 429/503 Retry-After), honoured by the worker's backoff. */
  readonly retryAfterMs?: number;
  constructor(message: string, opts: { retryable: boolean; retryAfterMs?: number; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = 'SinkError';
    this.retryable = opts.retryable;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}

/** What the worker does about a failed send(): retry (after backoff, at least retryAfterMs when capped) or give up. */
export interface FailureClass {
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly message: string;
}

/**
 * The one retry classification: a SinkError says for itself; an error of a client library carrying kafkajs' `retriable`
 * flag is read by it; anything else (a bug, a dropped socket) is retryable, since giving up would lose records.
 */
export function classifyFailure(e: unknown): FailureClass {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof SinkError) return e.retryAfterMs !== undefined ? { retryable: e.retryable, retryAfterMs: e.retryAfterMs, message } : { retryable: e.retryable, message };
  const retriable = (e as { retriable?: unknown } | null)?.retriable;
  return { retryable: retriable !== false, message };
}

export interface SinkHealth {
  readonly ready: boolean;
  readonly detail?: string;
}

export interface Sink {
  readonly name: string;
  readonly type: string;
  /** Connect / wait for the peer. Must not throw for a peer that is merely unavailable: report it in health(). */
  start(signal: AbortSignal): Promise<void>;
  /**
   * Deliver a batch, in order. Resolve only once the peer has acknowledged it (durably, where the peer offers that).
   * Throw SinkError for a whole-batch failure; any other exception is treated as retryable.
   */
  send(batch: readonly OutgoingRecord[], signal: AbortSignal): Promise<SendResult>;
  health(): SinkHealth;
  /** Flush and release resources; called once, after the last send() settled. */
  close(): Promise<void>;
}
