// The kafkajs transport, through its public API only: a producer (idempotent when asked: kafkajs keeps the producer
// id and the sequence numbers) and an admin client for topic metadata.
import { CompressionTypes, Kafka, logLevel as KafkaLogLevel, type Admin, type Producer, type SASLOptions } from 'kafkajs';
import { readyPartitions, translateError, type ErrorReader, type KafkaTransport, type KafkaTransportError, type PartitionBatch, type TransportOptions } from './transport.js';

const KAFKAJS_ERRORS: ErrorReader = {
  brokerType: (e) => (typeof e.type === 'string' ? e.type : undefined),
  lostConnection: (chain, message) =>
    chain.some((c) => /Connection|BrokerNotFound|NoBrokerAvailable|RequestTimeout|MetadataNotLoaded|SASL/.test(c.name ?? '')) ||
    /disconnected|not connected|Connection (error|closed|timeout)|ECONNREFUSED|ECONNRESET|EPIPE/i.test(message),
  retriable: (chain) => (chain.find((c) => typeof c.type === 'string') ?? chain[0])?.retriable ?? true,
};

export const fromKafkajs = (e: unknown): KafkaTransportError => translateError(e, KAFKAJS_ERRORS);

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
      const count = readyPartitions(topic, (await this.#admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions);
      this.#partitions.set(topic, count);
      return count;
    } catch (e) {
      throw fromKafkajs(e);
    }
  }

  /** kafkajs keeps an idempotent producer's sequence numbers and advances them on an acknowledgement only. */
  pipelines(): boolean {
    return false;
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
