// Produces record batches over kafkajs' cluster connections, with several requests in flight: while the broker appends
// one request, the next is encoded and on the wire. Idempotent: one producer id, a sequence number per partition, so
// the broker drops a batch it already has and refuses one that would skip or reorder (Kafka allows up to 5 in flight).
// That refusal needs the broker to hold state for the producer on the partition: a producer it has no state for (a new
// producer id, or one whose state expired or whose records were all deleted) is accepted at ANY sequence
// (ProducerAppendInfo.checkSequence: "accept writes with any sequence number"). So if the first batch for a partition
// failed (NOT_LEADER_OR_FOLLOWER on a partition still being created, MESSAGE_TOO_LARGE...) while the next one was in
// flight, the next one was appended and the first, retried, landed after it. Hence: in each pass (prepare() to
// prepare()) the first batch for a partition goes alone; the next waits for its acknowledgement, and is not sent if it failed.
import type { Kafka } from 'kafkajs';
import { backoffDelay, sleep, type BackoffPolicy } from '../../delivery/backoff.js';
import { clusterOf, createErrorFromCode, type Broker, type Cluster, type ProduceResponse } from './kafkajs-internals.js';
import type { KafkaMessage } from './message.js';
import { partitionForKey } from './murmur2.js';
import { produceRequest, type TopicBatches } from './produce-request.js';
import { RecordBatch } from './record-batch.js';

export interface ProducerOptions {
  idempotent: boolean;
  acks: -1 | 1;
  timeoutMs: number;
  gzip: boolean;
  allowAutoTopicCreation: boolean;
  /** Retries of a retriable InitProducerId error, paced by backoff. */
  retries: number;
  backoff: BackoffPolicy;
}

/** One record to produce: where it goes and what it is. */
export interface ProduceItem {
  topic: string;
  message: KafkaMessage;
}

/** The records (indexes into the items given to plan) of one request, and the request's outcome. */
export interface SentRequest {
  indexes: number[];
  /** Per index: the error the broker (or the connection) answered for it, undefined when acknowledged. */
  done: Promise<Map<number, unknown>>;
}

const INT32_MAX = 0x7fffffff;

/** A partition's first batch of the pass: acknowledged (true) or failed (false) once its request completes. */
type FirstBatch = Promise<boolean>;

/** Thrown by send() for a request not sent because the first batch of one of its partitions failed. */
export class FirstBatchFailed extends Error {
  readonly retriable = true;
  constructor(topic: string, partition: number) {
    super(`not sent: the first request of the pass for ${topic}/${partition} failed (the broker would take a later one at any sequence)`);
    this.name = 'KafkaSinkFirstBatchFailed';
  }
}

export class BatchProducer {
  readonly #cluster: Cluster;
  readonly #o: ProducerOptions;
  #producerId = -1n;
  #producerEpoch = 0;
  /** Next sequence number per "topic\npartition". */
  #sequences = new Map<string, number>();
  /** Set after an error: the next request starts a new producer id (sequences from 0), the broker's dedup state being unknown. */
  #stale = true;
  #sticky = Math.floor(Math.random() * 1024);
  /** Per "topic\npartition": its first batch of this pass, until acknowledged; then true. */
  #firstBatches = new Map<string, FirstBatch | true>();
  /** send() calls run one after the other: sequences are assigned in call order. */
  #sendTail: Promise<unknown> = Promise.resolve();

  constructor(kafka: Kafka, o: ProducerOptions) {
    this.#o = o;
    this.#cluster = clusterOf(kafka, { allowAutoTopicCreation: o.allowAutoTopicCreation, metadataMaxAge: 300_000 });
  }

  async connect(): Promise<void> {
    await this.#cluster.connect();
    await this.#ensureProducerId();
  }

  async disconnect(): Promise<void> {
    await this.#cluster.disconnect();
  }

  /** After a failure: start a new producer id before the next request. */
  invalidate(): void {
    this.#stale = true;
  }

  async refreshMetadata(): Promise<void> {
    await this.#cluster.refreshMetadata();
  }

  /**
   * Loads metadata for the topics and checks every partition has a leader; throws the broker's error otherwise
   * (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE: retriable).
   */
  async prepare(topics: Iterable<string>): Promise<void> {
    // A new pass: the broker may have dropped this producer's state since the last one (expiry, retention), and the
    // producer id may be new. Every partition's first batch goes alone again.
    this.#firstBatches = new Map();
    await this.#ensureProducerId();
    await this.#cluster.addMultipleTargetTopics([...new Set(topics)]);
    await this.#cluster.refreshMetadataIfNecessary();
    for (const topic of new Set(topics)) {
      const parts = this.#cluster.findTopicPartitionMetadata(topic);
      if (!parts.length) throw createErrorFromCode(3); // UNKNOWN_TOPIC_OR_PARTITION
      if (parts.some((p) => p.leader < 0)) throw createErrorFromCode(5); // LEADER_NOT_AVAILABLE
    }
  }

  /**
   * Sends the given items (after prepare() for their topics) as one produce request per leader broker, each partition's
   * records in the given order. Returns at once; the requests are on their way.
   */
  send(items: readonly ProduceItem[], indexes: readonly number[]): Promise<SentRequest[]> {
    const run = this.#sendTail.then(() => this.#send(items, indexes));
    this.#sendTail = run.catch(() => undefined);
    return run;
  }

  async #send(items: readonly ProduceItem[], indexes: readonly number[]): Promise<SentRequest[]> {
    // Keyless records of one call go to one partition (fewer, larger batches), the next call to the next one.
    const sticky = this.#sticky++;
    const byBroker = new Map<number, Map<string, Map<number, number[]>>>();
    const leadersOf = new Map<string, number[]>();
    for (const i of indexes) {
      const { topic, message } = items[i]!;
      let leaders = leadersOf.get(topic);
      if (!leaders) {
        // Metadata lists partitions in no particular order: index the leaders by partition number.
        leaders = [];
        for (const p of this.#cluster.findTopicPartitionMetadata(topic)) leaders[p.partitionId] = p.leader;
        leadersOf.set(topic, leaders);
      }
      const partition = message.key ? partitionForKey(message.key, leaders.length) : sticky % leaders.length;
      const leader = leaders[partition];
      if (leader === undefined || leader < 0) throw createErrorFromCode(5); // LEADER_NOT_AVAILABLE
      let topics = byBroker.get(leader);
      if (!topics) byBroker.set(leader, (topics = new Map()));
      let partitions = topics.get(topic);
      if (!partitions) topics.set(topic, (partitions = new Map()));
      const list = partitions.get(partition);
      if (list) list.push(i);
      else partitions.set(partition, [i]);
    }
    // A partition whose first batch of the pass is in flight: wait for its answer; if it failed, send nothing (the broker
    // would append this batch at any sequence, ahead of the failed one's retry).
    const firsts = this.#firstBatches;
    for (const topics of byBroker.values()) {
      for (const [topic, partitions] of topics) {
        for (const partition of partitions.keys()) {
          const first = firsts.get(`${topic}\n${partition}`);
          if (first === undefined || first === true) continue;
          if (!(await first)) throw new FirstBatchFailed(topic, partition);
        }
      }
    }
    const sent: SentRequest[] = [];
    for (const [nodeId, topics] of byBroker) {
      const broker = await this.#cluster.findBroker({ nodeId });
      const batches: TopicBatches[] = [];
      const reqIndexes: number[] = [];
      const indexesOf = new Map<string, number[]>();
      for (const [topic, partitions] of topics) {
        const tb: TopicBatches = { topic, partitions: [] };
        for (const [partition, list] of partitions) {
          const id = this.#o.idempotent
            ? { producerId: this.#producerId, producerEpoch: this.#producerEpoch, firstSequence: this.#nextSequence(topic, partition, list.length) }
            : { producerId: -1n, producerEpoch: -1, firstSequence: -1 };
          tb.partitions.push({ partition, batch: new RecordBatch(list.map((i) => items[i]!.message), id, this.#o.gzip) });
          indexesOf.set(`${topic}\n${partition}`, list);
          reqIndexes.push(...list);
        }
        batches.push(tb);
      }
      const done = this.#request(broker, batches, reqIndexes, indexesOf);
      for (const key of indexesOf.keys()) {
        if (firsts.has(key)) continue;
        // This request carries the partition's first batch of the pass: acknowledged when none of its records failed.
        const list = indexesOf.get(key)!;
        const first = done.then((errors) => {
          const ok = list.every((i) => !errors.has(i));
          if (ok && firsts.get(key) === first) firsts.set(key, true);
          return ok;
        });
        firsts.set(key, first);
      }
      sent.push({ indexes: reqIndexes, done });
    }
    return sent;
  }

  async #request(broker: Broker, batches: TopicBatches[], all: number[], indexesOf: Map<string, number[]>): Promise<Map<number, unknown>> {
    const errors = new Map<number, unknown>();
    let res: ProduceResponse;
    try {
      res = (await broker.connectionPool.send(produceRequest(this.#o.acks, this.#o.timeoutMs, batches))) as ProduceResponse;
    } catch (e) {
      this.#stale = true;
      if ((e as Error).name === 'KafkaJSConnectionClosedError') await broker.disconnect().catch(() => undefined);
      for (const i of all) errors.set(i, e);
      return errors;
    }
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode === 0) continue;
        this.#stale = true;
        const err = createErrorFromCode(p.errorCode);
        for (const i of indexesOf.get(`${t.topicName}\n${p.partition}`) ?? []) errors.set(i, err);
      }
    }
    return errors;
  }

  #nextSequence(topic: string, partition: number, count: number): number {
    const k = `${topic}\n${partition}`;
    const first = this.#sequences.get(k) ?? 0;
    const next = first + count;
    this.#sequences.set(k, next > INT32_MAX ? next - INT32_MAX - 1 : next);
    return first;
  }

  /** InitProducerId, retried like kafkajs' producer did (a new broker answers COORDINATOR_LOAD_IN_PROGRESS for a while). */
  async #ensureProducerId(): Promise<void> {
    if (!this.#o.idempotent || !this.#stale) return;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#cluster.refreshMetadataIfNecessary();
        const broker = await this.#cluster.findControllerBroker();
        const r = await broker.initProducerId({ transactionTimeout: 60_000 });
        this.#producerId = BigInt(r.producerId);
        this.#producerEpoch = r.producerEpoch;
        this.#sequences = new Map();
        this.#stale = false;
        return;
      } catch (e) {
        if (!(e as { retriable?: boolean }).retriable || attempt >= this.#o.retries) throw e;
        await sleep(backoffDelay(this.#o.backoff, attempt + 1));
      }
    }
  }
}
