// The seam between the Kafka sink and a Kafka client library: the sink decides partitions, order and retries; a
// transport only produces one partition's records and reads topic metadata, through its library's public API. Its
// errors come out as KafkaTransportError, so the sink's classification never reads a library's own error types.
import type { Logger } from 'pino';
import type { TlsClientOptions } from '../../config/tls.js';
import type { SaslMechanism } from './config.js';
import type { KafkaRecord } from './message.js';

/** The client libraries the sink can produce through. */
export const TRANSPORT_NAMES = ['platformatic', 'kafkajs'] as const;
export type KafkaTransportName = (typeof TRANSPORT_NAMES)[number];
/** The faster of the two on the same broker (README, "Choices, with their reasons"). */
export const DEFAULT_TRANSPORT: KafkaTransportName = 'platformatic';

export interface TransportOptions {
  clientId: string;
  brokers: string[];
  connectionTimeoutMs: number;
  /** How long the broker may wait for replicas (the produce request's timeout); the client waits a little longer. */
  requestTimeoutMs: number;
  tls: true | TlsClientOptions | undefined;
  sasl: { mechanism: SaslMechanism; username: string; password: string } | undefined;
  /** The library's idempotent producer: one producer id, a sequence number per partition. Needs acks -1. */
  idempotent: boolean;
  acks: -1 | 1;
  gzip: boolean;
  /** The library's own retries of a transient error inside one call. */
  retries: number;
  log: Logger | undefined;
}

/** One partition's records, in the order they must be appended. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  records: readonly KafkaRecord[];
}

export interface KafkaTransport {
  /** Connects to the brokers (and gets a producer id when idempotent); rejects with the reason. */
  connect(): Promise<void>;
  /**
   * The topic's partition count once every partition has a leader (auto-creating the topic if the broker allows it);
   * rejects with UNKNOWN_TOPIC_OR_PARTITION or LEADER_NOT_AVAILABLE (retriable) otherwise. fresh: not from the cache.
   */
  partitionCount(topic: string, fresh: boolean): Promise<number>;
  /** Resolves once the broker acknowledged every record (acks); rejects with a KafkaTransportError. */
  produce(batch: PartitionBatch): Promise<void>;
  /**
   * Whether a batch may be produced on this partition while an earlier one is not acknowledged yet, with the order
   * kept: the broker would refuse it as out of order if the earlier one failed (see producer.ts).
   */
  pipelines(topic: string, partition: number): boolean;
  close(): Promise<void>;
}

/** A failure as the sink sees it, whatever the library. */
export class KafkaTransportError extends Error {
  /** The broker's error name (MESSAGE_TOO_LARGE, NOT_LEADER_OR_FOLLOWER...), when the broker answered one. */
  readonly type: string | undefined;
  readonly retriable: boolean;
  /** The connection or the producer's state is unusable: start a new transport before the next attempt. */
  readonly reconnect: boolean;
  constructor(message: string, o: { type?: string; retriable: boolean; reconnect: boolean; cause?: unknown }) {
    super(message, { cause: o.cause });
    this.name = 'KafkaTransportError';
    this.type = o.type;
    this.retriable = o.retriable;
    this.reconnect = o.reconnect;
  }
}

/**
 * Broker errors after which the producer id and sequence numbers must be started again: the producer's state is
 * broken, or the batch may have been appended without the library advancing its sequence number (timeout, appended
 * but not replicated). The broker would take a DIFFERENT batch at that sequence for a duplicate and drop it; a new
 * producer id leaves a duplicate at worst (at least once).
 */
export const NEW_PRODUCER_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'REQUEST_TIMED_OUT',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'NETWORK_EXCEPTION',
]);

/** The partition count of a topic whose partitions all have a leader; else the retriable error partitionCount() throws. */
export function readyPartitions(topic: string, partitions: readonly { leader: number }[] = []): number {
  if (!partitions.length) throw new KafkaTransportError(`topic ${topic}: no partitions yet`, { type: 'UNKNOWN_TOPIC_OR_PARTITION', retriable: true, reconnect: false });
  if (partitions.some((p) => p.leader < 0)) throw new KafkaTransportError(`topic ${topic}: a partition has no leader yet`, { type: 'LEADER_NOT_AVAILABLE', retriable: true, reconnect: false });
  return partitions.length;
}

/** What the libraries' errors may carry: kafkajs' type and retriable, @platformatic/kafka's apiId, code and canRetry. */
export interface LibraryError {
  name?: string;
  message?: string;
  type?: string;
  retriable?: boolean;
  apiId?: string;
  code?: string;
  canRetry?: boolean;
  cause?: unknown;
  errors?: unknown[];
}

/**
 * An error and what it wraps, outermost first: both libraries wrap the broker's error (kafkajs: NonRetriable /
 * NumberOfRetriesExceeded -> cause, aggregates -> errors; @platformatic/kafka: one error per attempt -> errors), the
 * last attempt's first.
 */
export function errorChain(e: unknown): LibraryError[] {
  const chain: LibraryError[] = [];
  const seen = new Set<unknown>();
  const queue: unknown[] = [e];
  while (queue.length) {
    const cur = queue.shift();
    if (!cur || typeof cur !== 'object' || seen.has(cur)) continue;
    seen.add(cur);
    const err = cur as LibraryError;
    chain.push(err);
    if (err.cause) queue.push(err.cause);
    if (Array.isArray(err.errors)) queue.push(...[...err.errors].reverse());
  }
  return chain;
}

/** How one library's errors read: the broker's error name, a lost connection, whether it may be retried. */
export interface ErrorReader {
  brokerType(e: LibraryError): string | undefined;
  lostConnection(chain: readonly LibraryError[], message: string): boolean;
  retriable(chain: readonly LibraryError[]): boolean;
}

/** A library's error as the sink sees it: the innermost broker error named, a new producer after an unknown outcome. */
export function translateError(e: unknown, read: ErrorReader): KafkaTransportError {
  if (e instanceof KafkaTransportError) return e;
  const chain = errorChain(e);
  const typed = chain.find((c) => read.brokerType(c) !== undefined);
  const type = typed && read.brokerType(typed);
  const message = typed?.message ?? chain.find((c) => !c.errors)?.message ?? chain[0]?.message ?? String(e);
  const reconnect = (type !== undefined && NEW_PRODUCER_ERRORS.has(type)) || read.lostConnection(chain, message);
  return new KafkaTransportError(message, { ...(type ? { type } : {}), retriable: reconnect || read.retriable(chain), reconnect, cause: e });
}
