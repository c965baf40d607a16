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

/** Thrown by partitionCount() for a topic without partitions or without a leader for one of them. */
export function metadataError(topic: string, partitions: readonly { leader: number }[]): KafkaTransportError | undefined {
  if (!partitions.length) return new KafkaTransportError(`topic ${topic}: no partitions yet`, { type: 'UNKNOWN_TOPIC_OR_PARTITION', retriable: true, reconnect: false });
  if (partitions.some((p) => p.leader < 0)) return new KafkaTransportError(`topic ${topic}: a partition has no leader yet`, { type: 'LEADER_NOT_AVAILABLE', retriable: true, reconnect: false });
  return undefined;
}
