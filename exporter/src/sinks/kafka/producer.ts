// Places records on partitions and keeps each partition's order across requests, over any transport.
// A partition's next batch waits for the acknowledgement of the one before, and is not sent if it failed, unless the
// transport pipelines the partition (transport.pipelines(): an idempotent producer whose sequence numbers the transport
// keeps, and whose state the broker holds for the partition); then it goes at once, and the broker refuses it as out
// of order if the one before failed. Waiting keeps a retried batch from landing behind the one that followed it: the
// broker takes the first batch of a producer it holds no state for at ANY sequence (a new producer id, or one whose
// state expired), so a failed first batch retried after its successor would be appended out of order.
import type { KafkaRecord } from './message.js';
import { partitionForKey } from './murmur2.js';
import type { KafkaTransport } from './transport.js';

/** One record to produce: where it goes and what it is. */
export interface ProduceItem {
  topic: string;
  message: KafkaRecord;
}

/** The records (indexes into the items given to send) of one request, and the request's outcome. */
export interface SentRequest {
  indexes: number[];
  /** Per index: the error the broker (or the connection) answered for it; absent when acknowledged. */
  done: Promise<Map<number, unknown>>;
}

/** Thrown by send() for records not sent because an earlier batch of their partition failed in this pass. */
export class EarlierBatchFailed extends Error {
  readonly retriable = true;
  constructor(topic: string, partition: number) {
    super(`not sent: an earlier request of the pass for ${topic}/${partition} failed`);
    this.name = 'KafkaSinkEarlierBatchFailed';
  }
}

export class PartitionedProducer {
  readonly #transport: KafkaTransport;
  readonly #partitions = new Map<string, number>();
  #freshMetadata = false;
  #sticky = Math.floor(Math.random() * 1024);
  /** Per "topic\npartition": settles when the last batch sent in this pass is answered (its failure lands in #failed). */
  #tails = new Map<string, Promise<void>>();
  /** The partitions ("topic\npartition") with a failed batch in this pass. */
  #failed = new Set<string>();
  /** send() calls run one after the other: each partition's batches go in call order. */
  #sendTail: Promise<unknown> = Promise.resolve();

  constructor(transport: KafkaTransport) {
    this.#transport = transport;
  }

  /** The next prepare() reads metadata from the brokers, not from the cache (after a leader moved). */
  refreshMetadata(): void {
    this.#freshMetadata = true;
  }

  /** Loads the topics' partition counts; throws the transport's error (UNKNOWN_TOPIC_OR_PARTITION...: retriable). */
  async prepare(topics: Iterable<string>): Promise<void> {
    this.#tails = new Map();
    this.#failed = new Set();
    const fresh = this.#freshMetadata;
    for (const topic of new Set(topics)) this.#partitions.set(topic, await this.#transport.partitionCount(topic, fresh));
    this.#freshMetadata = false;
  }

  /**
   * Sends the given items (after prepare() for their topics), one batch per partition, each partition's records in
   * the given order. Resolves once every batch is on its way.
   */
  send(items: readonly ProduceItem[], indexes: readonly number[]): Promise<SentRequest> {
    const run = this.#sendTail.then(() => this.#send(items, indexes));
    this.#sendTail = run.catch(() => undefined);
    return run;
  }

  async #send(items: readonly ProduceItem[], indexes: readonly number[]): Promise<SentRequest> {
    // Keyless records of one call go to one partition (fewer, larger batches), the next call to the next one.
    const sticky = this.#sticky++;
    const byPartition = new Map<string, { topic: string; partition: number; indexes: number[] }>();
    for (const i of indexes) {
      const { topic, message } = items[i]!;
      const count = this.#partitions.get(topic)!;
      const partition = message.key ? partitionForKey(message.key, count) : sticky % count;
      const id = `${topic}\n${partition}`;
      const group = byPartition.get(id);
      if (group) group.indexes.push(i);
      else byPartition.set(id, { topic, partition, indexes: [i] });
    }
    for (const [id, { topic, partition }] of byPartition) {
      const previous = this.#tails.get(id);
      if (previous && !this.#transport.pipelines(topic, partition)) await previous;
      if (this.#failed.has(id)) throw new EarlierBatchFailed(topic, partition);
    }
    const outcomes: Promise<[number[], unknown]>[] = [];
    for (const [id, { topic, partition, indexes: list }] of byPartition) {
      const outcome = this.#transport.produce({ topic, partition, records: list.map((i) => items[i]!.message) }).then(
        (): [number[], unknown] => [list, undefined],
        (e: unknown): [number[], unknown] => [list, e],
      );
      this.#tails.set(
        id,
        outcome.then(([, e]) => {
          if (e !== undefined) this.#failed.add(id);
        }),
      );
      outcomes.push(outcome);
    }
    const done = Promise.all(outcomes).then((results) => {
      const errors = new Map<number, unknown>();
      for (const [list, e] of results) if (e !== undefined) for (const i of list) errors.set(i, e);
      return errors;
    });
    return { indexes: [...indexes], done };
  }
}
