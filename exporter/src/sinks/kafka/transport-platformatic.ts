// The @platformatic/kafka transport, through its public API only. A Producer answers topic metadata, connects to the
// brokers and takes the idempotent producer's id; produce requests (produce-request.ts, their RecordBatch encoded in
// record-batch.ts) go out on those connections, with the sequence numbers kept here (sequences.ts): the library's own
// send() keeps them itself and advances them on an acknowledgement only, so an idempotent producer of the library has
// one request in flight per connection. Here a partition may have several (the sink's PartitionedProducer decides,
// asking pipelines()).
import { Producer } from '@platformatic/kafka';
import { readyPartitions, translateError, KafkaTransportError, type ErrorReader, type KafkaTransport, type PartitionBatch, type TransportOptions } from './transport.js';
import { ProducerSequences, type TakenSequence } from './sequences.js';
import { encodeRecordBatch, HeaderBytes } from './record-batch.js';
import { PRODUCE_VERSIONS, produceBatchApi, type ProduceBatch } from './produce-request.js';

const PLATFORMATIC_ERRORS: ErrorReader = {
  brokerType: (e) => (typeof e.apiId === 'string' ? e.apiId : undefined),
  // A timeout carries the network error's code (PLT_KFK_NETWORK) in this library.
  lostConnection: (chain) => chain.some((c) => c.code === 'PLT_KFK_NETWORK' || c.code === 'PLT_KFK_TIMEOUT' || c.code === 'PLT_KFK_AUTHENTICATION'),
  retriable: (chain) => !chain.some((c) => c.canRetry === false),
};

export const fromPlatformatic = (e: unknown): KafkaTransportError => translateError(e, PLATFORMATIC_ERRORS);

const SASL = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

const PRODUCE_KEY = 0;

/** A produce request handed to its connection (in call order), and its acknowledgement. */
interface Queued {
  acknowledged: Promise<void>;
}

export class PlatformaticTransport implements KafkaTransport {
  readonly #o: TransportOptions;
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  /** Header names and repeated values (eventType, schemaVersion, content-type, extras) as bytes, made once. */
  readonly #headerBytes = new HeaderBytes();
  readonly #sequences = new ProducerSequences();
  #produceApi: ProduceBatch | undefined;
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
      const version = PRODUCE_VERSIONS.find((v) => api && v >= api.minVersion && v <= api.maxVersion);
      this.#produceApi = version === undefined ? undefined : produceBatchApi(version);
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
    const encoded = encodeRecordBatch(batch.records, {
      gzip: this.#o.gzip,
      headers: this.#headerBytes,
      ...(taken ? { producer: { producerId: this.#producerId, producerEpoch: this.#producerEpoch, firstSequence: taken.first } } : {}),
    });
    this.#inFlight.set(id, (this.#inFlight.get(id) ?? 0) + 1);
    const answer = this.#answer(id, taken);
    this.#produceApi!(connection, this.#o.acks, this.#o.requestTimeoutMs, topic, partition, encoded, answer.callback);
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

  async close(): Promise<void> {
    // force: pending requests fail at once rather than hold the sink's close.
    await new Promise<void>((resolve) => this.#producer.close(true, () => resolve()));
  }
}
