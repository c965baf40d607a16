// Sorts kafkajs errors into what the sink does about them.

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
// Errors after which kafkajs' producer state (connection, producer id / sequence numbers) must be rebuilt.
const RECONNECT_TYPES = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);

interface KafkaJsLike {
  name?: string;
  message?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  errors?: unknown[];
}

/** Walks kafkajs' wrappers (NonRetriable / NumberOfRetriesExceeded -> cause, aggregate -> errors) for the broker's error type. */
function innermost(e: unknown): KafkaJsLike[] {
  const chain: KafkaJsLike[] = [];
  const seen = new Set<unknown>();
  const stack: unknown[] = [e];
  while (stack.length) {
    const cur = stack.shift();
    if (!cur || typeof cur !== 'object' || seen.has(cur)) continue;
    seen.add(cur);
    const k = cur as KafkaJsLike;
    chain.push(k);
    if (k.cause) stack.push(k.cause);
    if (Array.isArray(k.errors)) stack.push(...k.errors);
  }
  return chain;
}

export function classifyKafkaError(e: unknown): KafkaErrorClass {
  const chain = innermost(e);
  const top = chain[0];
  const message = top?.message ?? String(e);
  const typed = chain.find((c) => typeof c.type === 'string');
  const type = typed?.type;
  if (type && RECORD_LEVEL.has(type)) return { scope: 'record', type, message: typed.message ?? message, reconnect: false };
  if (type && TOPIC_LEVEL.has(type)) return { scope: 'topic', type, message: typed.message ?? message, reconnect: false };
  const names = chain.map((c) => c.name ?? '');
  const reconnect =
    (type !== undefined && RECONNECT_TYPES.has(type)) ||
    names.some((n) => /Connection|BrokerNotFound|NoBrokerAvailable|RequestTimeout|MetadataNotLoaded/.test(n)) ||
    /disconnected|not connected|Connection (error|closed|timeout)|ECONNREFUSED|ECONNRESET|EPIPE/i.test(message);
  return { scope: 'batch', ...(type ? { type } : {}), message, reconnect };
}
