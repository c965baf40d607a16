// The @platformatic/kafka transport, through its public API only: one Producer (idempotent when asked: the library
// keeps the producer id and the sequence numbers) that also answers topic metadata.
import { Producer, stringSerializer, type MessageToProduce } from '@platformatic/kafka';
import { readyPartitions, translateError, type ErrorReader, type KafkaTransport, type KafkaTransportError, type PartitionBatch, type TransportOptions } from './transport.js';
import type { KafkaRecord } from './message.js';

const PLATFORMATIC_ERRORS: ErrorReader = {
  brokerType: (e) => (typeof e.apiId === 'string' ? e.apiId : undefined),
  // A timeout carries the network error's code (PLT_KFK_NETWORK) in this library.
  lostConnection: (chain) => chain.some((c) => c.code === 'PLT_KFK_NETWORK' || c.code === 'PLT_KFK_TIMEOUT' || c.code === 'PLT_KFK_AUTHENTICATION'),
  retriable: (chain) => !chain.some((c) => c.canRetry === false),
};

export const fromPlatformatic = (e: unknown): KafkaTransportError => translateError(e, PLATFORMATIC_ERRORS);

const MAX_CACHED_HEADER_BYTES = 256;

const SASL = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

export class PlatformaticTransport implements KafkaTransport {
  readonly #producer: Producer<Buffer, string, Buffer, Buffer>;
  /** Header names and repeated values (eventType, schemaVersion, content-type, extras) as bytes, made once. */
  readonly #headerBytes = new Map<string, Buffer>();
  readonly #idempotent: boolean;

  constructor(o: TransportOptions) {
    this.#idempotent = o.idempotent;
    this.#producer = new Producer<Buffer, string, Buffer, Buffer>({
      clientId: o.clientId,
      bootstrapBrokers: o.brokers,
      connectTimeout: o.connectionTimeoutMs,
      requestTimeout: o.requestTimeoutMs + 5000,
      timeout: o.requestTimeoutMs,
      // The library turns fewer than 2 retries of an idempotent producer into unlimited ones.
      retries: o.idempotent ? Math.max(2, o.retries) : o.retries,
      retryDelay: 100,
      idempotent: o.idempotent,
      acks: o.acks,
      compression: o.gzip ? 'gzip' : 'none',
      autocreateTopics: true,
      ...(o.tls ? { tls: o.tls === true ? {} : o.tls } : {}),
      ...(o.sasl ? { sasl: { mechanism: SASL[o.sasl.mechanism], username: o.sasl.username, password: o.sasl.password } } : {}),
      // Headers go as bytes (the library's default serializer passes them through): see #headers.
      serializers: { value: stringSerializer },
    });
  }

  async connect(): Promise<void> {
    try {
      await this.#producer.metadata({ topics: [] });
      if (this.#idempotent && this.#producer.producerId === undefined) await this.#producer.initIdempotentProducer({});
    } catch (e) {
      throw fromPlatformatic(e);
    }
  }

  async partitionCount(topic: string, fresh: boolean): Promise<number> {
    try {
      const md = await this.#producer.metadata({ topics: [topic], autocreateTopics: true, forceUpdate: fresh });
      return readyPartitions(topic, md.topics.get(topic)?.partitions);
    } catch (e) {
      throw fromPlatformatic(e);
    }
  }

  async produce(batch: PartitionBatch): Promise<void> {
    const { topic, partition } = batch;
    const messages: MessageToProduce<Buffer, string, Buffer, Buffer>[] = batch.records.map((r) => ({
      topic,
      partition,
      ...(r.key ? { key: r.key } : {}),
      ...(r.value !== null ? { value: r.value } : {}),
      headers: this.#headers(r.headers),
    }));
    try {
      await this.#producer.send({ messages });
    } catch (e) {
      throw fromPlatformatic(e);
    }
  }

  /** The decisionId is new on every record; every other name and value repeats, so its bytes are made once. */
  #headers(headers: KafkaRecord['headers']): Map<Buffer, Buffer> {
    const out = new Map<Buffer, Buffer>();
    for (const [name, value] of headers) out.set(this.#bytes(name), name === 'decisionId' ? Buffer.from(value) : this.#bytes(value));
    return out;
  }

  #bytes(text: string): Buffer {
    let b = this.#headerBytes.get(text);
    if (!b) {
      b = Buffer.from(text);
      if (this.#headerBytes.size < MAX_CACHED_HEADER_BYTES) this.#headerBytes.set(text, b);
    }
    return b;
  }

  async close(): Promise<void> {
    // force: pending requests fail at once rather than hold the sink's close.
    await new Promise<void>((resolve) => this.#producer.close(true, () => resolve()));
  }
}
