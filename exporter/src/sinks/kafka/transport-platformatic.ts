// The @platformatic/kafka transport, through its public API only. A Producer answers topic metadata, connects to the
// brokers and takes the idempotent producer's id; produce requests go through the library's Produce API on those
// connections, with the sequence numbers kept here (sequences.ts): the library's own send() keeps them itself and
// advances them on an acknowledgement only, so an idempotent producer of the library has one request in flight per
// connection. Here a partition may have several (the sink's PartitionedProducer decides, asking pipelines()).
import { Producer, produceV7, produceV8, produceV9, produceV10, produceV11, NumericMap, type MessageRecord } from '@platformatic/kafka';
import { readyPartitions, translateError, KafkaTransportError, type ErrorReader, type KafkaTransport, type PartitionBatch, type TransportOptions } from './transport.js';
import { ProducerSequences, type TakenSequence } from './sequences.js';
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

/** The Produce versions the library implements, newest first; the broker's ApiVersions picks one. */
const PRODUCE_APIS = [produceV11, produceV10, produceV9, produceV8, produceV7].map((m) => m.api);
type ProduceApi = (typeof PRODUCE_APIS)[number];
const PRODUCE_KEY = 0;

/** A produce request handed to its connection (in call order), and its acknowledgement. */
interface Queued {
  acknowledged: Promise<void>;
}

export class PlatformaticTransport implements KafkaTransport {
  readonly #o: TransportOptions;
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  /** Header names and repeated values (eventType, schemaVersion, content-type, extras) as bytes, made once. */
  readonly #headerBytes = new Map<string, Buffer>();
  readonly #sequences = new ProducerSequences();
  #produceApi: ProduceApi | undefined;
  #producerId = -1n;
  #producerEpoch = -1;
  /** The producer id of the sequences' generation, once taken (a failure starts a generation without one). */
  #idGeneration = -1;
  /** produce() calls take their sequence numbers and reach their connection one after the other, in call order. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Per "topic:partition": requests sent and not answered yet. */
  readonly #inFlight = new Map<string, number>();

  constructor(o: TransportOptions) {
    this.#o = o;
    this.#producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
      clientId: o.clientId,
      bootstrapBrokers: o.brokers,
      connectTimeout: o.connectionTimeoutMs,
      requestTimeout: o.requestTimeoutMs + 5000,
      timeout: o.requestTimeoutMs,
      retries: o.retries,
      retryDelay: 100,
      // Not the library's idempotent producer (it would allow one request in flight per connection): the producer id
      // is taken with initIdempotentProducer() and the sequence numbers kept here.
      idempotent: false,
      maxInflights: 5,
      autocreateTopics: true,
      ...(o.tls ? { tls: o.tls === true ? {} : o.tls } : {}),
      ...(o.sasl ? { sasl: { mechanism: SASL[o.sasl.mechanism], username: o.sasl.username, password: o.sasl.password } } : {}),
    });
  }

  async connect(): Promise<void> {
    try {
      await this.#producer.metadata({ topics: [] });
      const api = (await this.#producer.listApis()).find((a) => a.apiKey === PRODUCE_KEY);
      this.#produceApi = PRODUCE_APIS.find((p) => api && p.version >= api.minVersion && p.version <= api.maxVersion);
      if (!this.#produceApi) throw new KafkaTransportError(`the broker offers Produce v${api?.minVersion}-${api?.maxVersion}, the client v7-v11`, { retriable: false, reconnect: true });
      if (this.#o.idempotent) await this.#takeProducerId();
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

  pipelines(topic: string, partition: number): boolean {
    return this.#o.idempotent && this.#sequences.pipelines(`${topic}:${partition}`);
  }

  async produce(batch: PartitionBatch): Promise<void> {
    const generation = this.#sequences.generation;
    const queued = this.#queue.then(() => this.#enqueue(batch, generation));
    this.#queue = queued.catch(() => undefined);
    await (await queued).acknowledged;
  }

  /** Takes the batch's sequence numbers and hands it to its leader's connection; resolves once it is queued there. */
  async #enqueue(batch: PartitionBatch, generation: number): Promise<Queued> {
    const { topic, partition } = batch;
    // A request decided on before a failure must not go out with the next producer id's numbers: its partition's
    // first request of that id has to go alone.
    if (generation !== this.#sequences.generation) {
      throw new KafkaTransportError(`not sent: an earlier request failed (${topic}/${partition})`, { retriable: true, reconnect: false });
    }
    let connection;
    try {
      if (this.#o.idempotent && this.#idGeneration !== generation) await this.#takeProducerId();
      const md = await this.#producer.metadata({ topics: [topic] });
      const leader = md.topics.get(topic)?.partitions[partition]?.leader ?? -1;
      connection = (await this.#producer.connectToBrokers([leader])).get(leader);
      if (!connection) throw new KafkaTransportError(`${topic}/${partition}: no connection to its leader (${leader})`, { type: 'LEADER_NOT_AVAILABLE', retriable: true, reconnect: false });
    } catch (e) {
      throw fromPlatformatic(e);
    }
    const id = `${topic}:${partition}`;
    // The caller decided before its awaits; here it is checked again where nothing can change until the request is
    // queued: after a failure (a new generation) no partition pipelines, so its next request waits for the others.
    if (generation !== this.#sequences.generation || (this.#inFlight.get(id) && !this.pipelines(topic, partition))) {
      throw new KafkaTransportError(`not sent: an earlier request failed (${topic}/${partition})`, { retriable: true, reconnect: false });
    }
    const taken: TakenSequence | undefined = this.#o.idempotent ? this.#sequences.take(id, batch.records.length) : undefined;
    const messages = batch.records.map((r) => this.#message(topic, partition, r));
    const options = {
      compression: this.#o.gzip ? ('gzip' as const) : ('none' as const),
      ...(taken ? { producerId: this.#producerId, producerEpoch: this.#producerEpoch, sequences: new NumericMap([[id, taken.first]]) } : {}),
    };
    this.#inFlight.set(id, (this.#inFlight.get(id) ?? 0) + 1);
    const answer = this.#answer(id, taken);
    this.#produceApi!(connection, this.#o.acks, this.#o.requestTimeoutMs, messages, options, answer.callback);
    return { acknowledged: answer.acknowledged };
  }

  /**
   * The request's acknowledgement. Made here, apart from #enqueue, so that its callback does not keep the encoded
   * request's messages alive (a closure holds its whole scope) while the request is in flight.
   */
  #answer(id: string, taken: TakenSequence | undefined): { acknowledged: Promise<void>; callback: (e: unknown) => void } {
    let settle: (e: unknown) => void = () => undefined;
    const acknowledged = new Promise<void>((resolve, reject) => {
      settle = (e) => (e ? reject(fromPlatformatic(e)) : resolve());
    });
    const callback = (e: unknown) => {
      this.#inFlight.set(id, this.#inFlight.get(id)! - 1);
      if (!e) {
        if (taken) this.#sequences.acknowledged(id, taken);
      } else if (taken && taken.generation === this.#sequences.generation) {
        // The requests behind it on this producer id are refused as out of order, or, if its outcome is unknown,
        // it may have been appended: the next request takes a new producer id.
        this.#sequences.reset();
      }
      settle(e);
    };
    return { acknowledged, callback };
  }

  async #takeProducerId(): Promise<void> {
    const generation = this.#sequences.generation;
    await this.#producer.initIdempotentProducer({});
    this.#producerId = this.#producer.producerId!;
    this.#producerEpoch = this.#producer.producerEpoch!;
    this.#idGeneration = generation;
  }

  #message(topic: string, partition: number, r: KafkaRecord): MessageRecord {
    return {
      topic,
      partition,
      // A tombstone has no value: the library writes a missing value as null.
      value: (r.value === null ? undefined : Buffer.from(r.value)) as Buffer,
      ...(r.key ? { key: r.key } : {}),
      headers: this.#headers(r.headers),
    };
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
