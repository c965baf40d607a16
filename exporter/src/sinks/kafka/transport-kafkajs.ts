// The kafkajs transport, through its public API only: a producer (idempotent when asked: kafkajs keeps the producer
// id and the sequence numbers) and an admin client for topic metadata.
import { CompressionTypes, Kafka, logLevel as KafkaLogLevel, type Admin, type Producer, type SASLOptions } from 'kafkajs';
import { KafkaTransportError, NEW_PRODUCER_ERRORS, metadataError, type KafkaTransport, type PartitionBatch, type TransportOptions } from './transport.js';

interface KafkaJsLike {
  name?: string;
  message?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  errors?: unknown[];
}

/** kafkajs wraps the broker's error (NonRetriable / NumberOfRetriesExceeded -> cause, aggregate -> errors). */
function chainOf(e: unknown): KafkaJsLike[] {
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

export function fromKafkajs(e: unknown): KafkaTransportError {
  if (e instanceof KafkaTransportError) return e;
  const chain = chainOf(e);
  const typed = chain.find((c) => typeof c.type === 'string');
  const type = typed?.type;
  const message = typed?.message ?? chain[0]?.message ?? String(e);
  const reconnect =
    (type !== undefined && NEW_PRODUCER_ERRORS.has(type)) ||
    chain.some((c) => /Connection|BrokerNotFound|NoBrokerAvailable|RequestTimeout|MetadataNotLoaded|SASL/.test(c.name ?? '')) ||
    /disconnected|not connected|Connection (error|closed|timeout)|ECONNREFUSED|ECONNRESET|EPIPE/i.test(message);
  return new KafkaTransportError(message, { ...(type ? { type } : {}), retriable: typed?.retriable ?? chain[0]?.retriable ?? true, reconnect, cause: e });
}

export class KafkajsTransport implements KafkaTransport {
  readonly #o: TransportOptions;
  readonly #kafka: Kafka;
  readonly #producer: Producer;
  readonly #admin: Admin;
  readonly #partitions = new Map<string, number>();

  constructor(o: TransportOptions) {
    this.#o = o;
    const log = o.log;
    const retry = { retries: o.retries, initialRetryTime: 100, maxRetryTime: 2000 };
    this.#kafka = new Kafka({
      clientId: o.clientId,
      brokers: o.brokers,
      connectionTimeout: o.connectionTimeoutMs,
      requestTimeout: o.requestTimeoutMs + 5000,
      retry,
      ...(o.tls ? { ssl: o.tls } : {}),
      ...(o.sasl ? { sasl: o.sasl as SASLOptions } : {}),
      logLevel: KafkaLogLevel.WARN,
      logCreator: () => (entry) => {
        const { message, ...rest } = entry.log;
        log?.warn({ kafkajs: entry.namespace, ...rest }, `kafkajs: ${message}`);
      },
    });
    // kafkajs refuses an idempotent producer without retries; it retries a batch with the same sequence numbers.
    this.#producer = this.#kafka.producer({
      idempotent: o.idempotent,
      allowAutoTopicCreation: true,
      retry: { ...retry, retries: o.idempotent ? Math.max(1, o.retries) : o.retries },
    });
    this.#admin = this.#kafka.admin({ retry });
  }

  async connect(): Promise<void> {
    try {
      await this.#producer.connect();
      await this.#admin.connect();
    } catch (e) {
      throw fromKafkajs(e);
    }
  }

  async partitionCount(topic: string, fresh: boolean): Promise<number> {
    const known = this.#partitions.get(topic);
    if (known !== undefined && !fresh) return known;
    try {
      // The admin client never auto-creates a topic; the producer's metadata request does (when the broker allows it),
      // and an empty send makes one without producing anything.
      if (known === undefined) await this.#producer.send({ topic, acks: this.#o.acks, messages: [] }).catch(() => undefined);
      const md = await this.#admin.fetchTopicMetadata({ topics: [topic] });
      const partitions = md.topics[0]?.partitions ?? [];
      const err = metadataError(topic, partitions);
      if (err) throw err;
      this.#partitions.set(topic, partitions.length);
      return partitions.length;
    } catch (e) {
      throw fromKafkajs(e);
    }
  }

  async produce(batch: PartitionBatch): Promise<void> {
    const { topic, partition } = batch;
    try {
      await this.#producer.send({
        topic,
        acks: this.#o.acks,
        timeout: this.#o.requestTimeoutMs,
        compression: this.#o.gzip ? CompressionTypes.GZIP : CompressionTypes.None,
        messages: batch.records.map((r) => ({ key: r.key, value: r.value, partition, headers: Object.fromEntries(r.headers) })),
      });
    } catch (e) {
      throw fromKafkajs(e);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#producer.disconnect(), this.#admin.disconnect()]);
  }
}
