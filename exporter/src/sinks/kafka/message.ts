// One record's Kafka message: its key, its value (the record's JSON as committed) and its headers, in the order the
// contract gives them (proto-docs/sinks/kafka.md): the static extras, then decisionId, eventType, schemaVersion and
// content-type. A transport hands them to its library as they are.

export type Header = readonly [name: string, value: string];

export interface KafkaRecord {
  /** The key's bytes (they choose the partition), null for none. */
  readonly key: Buffer | null;
  /** null: a tombstone (no value). */
  readonly value: string | null;
  readonly headers: readonly Header[];
  readonly decisionId: string;
  /** Key, value and headers in bytes: what the sink counts against maxBytesPerRequest. */
  readonly bytes: number;
}

const OWN = ['decisionId', 'eventType', 'schemaVersion', 'content-type'];
const CONTENT_TYPE: Header = ['content-type', 'application/json'];

/** Builds every message's headers from the sink's static extras. */
export class MessageHeaders {
  readonly #extras: Header[];
  readonly #extraBytes: number;

  constructor(extra: Record<string, string>) {
    this.#extras = Object.entries(extra).filter(([k]) => !OWN.includes(k));
    this.#extraBytes = this.#extras.reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  }

  message(key: string | undefined, value: string | null, decisionId: string, eventType: string, schemaVersion: string): KafkaRecord {
    const keyBytes = key === undefined ? null : Buffer.from(key);
    const headers: Header[] = [...this.#extras, ['decisionId', decisionId], ['eventType', eventType], ['schemaVersion', schemaVersion], CONTENT_TYPE];
    // The fixed header names and content-type: 60 bytes; values counted as UTF-16 length (close enough for sizing).
    const bytes = (keyBytes?.length ?? 0) + (value === null ? 0 : Buffer.byteLength(value)) + this.#extraBytes + 60 + decisionId.length + eventType.length + schemaVersion.length;
    return { key: keyBytes, value, headers, decisionId, bytes };
  }
}
