// Sorts the transports' errors into what the sink does about them.
import { KafkaTransportError } from './transport.js';

/**
 * - record: the broker refuses these records for good (too large, invalid): narrow down and dead-letter them.
 * - topic: every record for the topic is refused for good (invalid topic name).
 * - batch: transient (broker down, leader moving, timeout, authorisation being fixed): retry the batch later.
 */
export interface KafkaErrorClass {
  scope: 'record' | 'topic' | 'batch';
  /** The broker's error type (e.g. MESSAGE_TOO_LARGE), when there is one. */
  type?: string;
  message: string;
  /** The connection is unusable: reconnect before the next attempt. */
  reconnect: boolean;
}

const RECORD_LEVEL = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP']);
const TOPIC_LEVEL = new Set(['INVALID_TOPIC_EXCEPTION']);

export function classifyKafkaError(e: unknown): KafkaErrorClass {
  if (!(e instanceof KafkaTransportError)) {
    // Not from a transport (a bug, or the sink's own "not sent"): retried, never dropped.
    return { scope: 'batch', message: e instanceof Error ? e.message : String(e), reconnect: false };
  }
  const { type, message, reconnect } = e;
  if (type && RECORD_LEVEL.has(type)) return { scope: 'record', type, message, reconnect: false };
  if (type && TOPIC_LEVEL.has(type)) return { scope: 'topic', type, message, reconnect: false };
  return { scope: 'batch', ...(type ? { type } : {}), message, reconnect };
}
