// An idempotent producer's sequence numbers, kept by the transport instead of its library so that a partition can
// have several requests in flight: a request takes its sequence numbers when it is sent, not when the previous one is
// acknowledged. After any failure the transport takes a new producer id (reset()): the requests behind the failed one
// were refused by the broker as out of order, or, if its outcome is unknown, may have been appended; either way no
// sequence number of the old id is reused.

/** Kafka's sequence numbers wrap from Int32.MAX_VALUE to 0. */
const SEQUENCE_SPAN = 2 ** 31;

/**
 * How recent a partition's last acknowledgement must be for its next request to go while another is in flight. The
 * broker takes the first batch of a producer it holds no state for at ANY sequence: if that batch were refused, the
 * one sent behind it would be appended ahead of it. Once a batch of this producer id was acknowledged the broker holds
 * its state, and a batch out of sequence is refused; the state lasts producer.id.expiration.ms (1 day by default)
 * after the producer's last write, far beyond this.
 */
export const PIPELINE_WINDOW_MS = 10_000;

export interface TakenSequence {
  first: number;
  /** The producer id's generation the numbers belong to (reset() starts the next one). */
  generation: number;
}

export class ProducerSequences {
  #generation = 0;
  readonly #next = new Map<string, number>();
  readonly #ackedAt = new Map<string, number>();

  get generation(): number {
    return this.#generation;
  }

  /** The first sequence number of a request of count records on the partition, and advances past them. */
  take(partition: string, count: number): TakenSequence {
    const first = this.#next.get(partition) ?? 0;
    this.#next.set(partition, (first + count) % SEQUENCE_SPAN);
    return { first, generation: this.#generation };
  }

  acknowledged(partition: string, taken: TakenSequence): void {
    if (taken.generation === this.#generation) this.#ackedAt.set(partition, performance.now());
  }

  /** Whether the broker holds this producer id's state for the partition (a recent acknowledgement). */
  pipelines(partition: string): boolean {
    const at = this.#ackedAt.get(partition);
    return at !== undefined && performance.now() - at < PIPELINE_WINDOW_MS;
  }

  /** For a new producer id: every partition starts again at 0, its first request alone. */
  reset(): void {
    this.#generation++;
    this.#next.clear();
    this.#ackedAt.clear();
  }
}
