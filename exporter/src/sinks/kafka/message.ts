// One record's Kafka message (key, value, headers), sized at routing time and written straight into the produce request
// buffer: no intermediate Buffer per header or per message, which is where kafkajs spent most of its time and garbage.
import { varintBytes, varintPrefixed, writeVarint } from './varint.js';

/** A message ready to be placed in a record batch: its key (for the partition) and the bytes after the offset delta. */
export class KafkaMessage {
  constructor(
    readonly key: Buffer | null,
    /** null: a tombstone (no value). */
    readonly value: string | null,
    readonly valueBytes: number,
    readonly decisionId: string,
    readonly decisionIdBytes: number,
    /** Pre-encoded headers after decisionId (eventType, schemaVersion, content-type). */
    readonly tailHeaders: Buffer,
    readonly headers: MessageHeaders,
    /** Bytes from the key length to the end of the headers. */
    readonly bodyBytes: number,
  ) {}

  /** Writes key, value and headers at buf[at]; returns the offset after them. */
  writeBody(buf: Buffer, at: number): number {
    if (this.key === null) at = writeVarint(buf, at, -1);
    else {
      at = writeVarint(buf, at, this.key.length);
      at += this.key.copy(buf, at);
    }
    if (this.value === null) at = writeVarint(buf, at, -1);
    else {
      at = writeVarint(buf, at, this.valueBytes);
      at += buf.write(this.value, at, this.valueBytes, 'utf8');
    }
    const h = this.headers;
    at = writeVarint(buf, at, h.count);
    at += h.before.copy(buf, at);
    at += h.decisionIdName.copy(buf, at);
    at = writeVarint(buf, at, this.decisionIdBytes);
    at += buf.write(this.decisionId, at, this.decisionIdBytes, 'utf8');
    at += this.tailHeaders.copy(buf, at);
    return at;
  }
}

const MAX_CACHED_PAIRS = 256;

/**
 * The headers every message carries: the static extras, decisionId, eventType, schemaVersion and content-type, in
 * that order. The pairs that repeat (eventType and schemaVersion values, content-type, extras) are encoded once.
 */
export class MessageHeaders {
  readonly count: number;
  /** The static extra headers, encoded. */
  readonly before: Buffer;
  readonly decisionIdName = varintPrefixed(Buffer.from('decisionId'));
  readonly #contentType = pair('content-type', 'application/json');
  readonly #tails = new Map<string, Buffer>();

  constructor(extra: Record<string, string>) {
    const own = new Set(['decisionId', 'eventType', 'schemaVersion', 'content-type']);
    const kept = Object.entries(extra).filter(([k]) => !own.has(k));
    this.before = Buffer.concat(kept.map(([k, v]) => pair(k, v)));
    this.count = kept.length + own.size;
  }

  message(key: string | undefined, value: string | null, decisionId: string, eventType: string, schemaVersion: string): KafkaMessage {
    const keyBytes = key === undefined ? null : Buffer.from(key);
    const valueBytes = value === null ? 0 : Buffer.byteLength(value);
    const decisionIdBytes = Buffer.byteLength(decisionId);
    const tail = this.#tail(eventType, schemaVersion);
    const bodyBytes =
      (keyBytes ? varintBytes(keyBytes.length) + keyBytes.length : 1) +
      (value === null ? 1 : varintBytes(valueBytes) + valueBytes) +
      varintBytes(this.count) +
      this.before.length +
      this.decisionIdName.length +
      varintBytes(decisionIdBytes) +
      decisionIdBytes +
      tail.length;
    return new KafkaMessage(keyBytes, value, valueBytes, decisionId, decisionIdBytes, tail, this, bodyBytes);
  }

  #tail(eventType: string, schemaVersion: string): Buffer {
    const id = `${eventType}\n${schemaVersion}`;
    let tail = this.#tails.get(id);
    if (!tail) {
      tail = Buffer.concat([pair('eventType', eventType), pair('schemaVersion', schemaVersion), this.#contentType]);
      if (this.#tails.size < MAX_CACHED_PAIRS) this.#tails.set(id, tail);
    }
    return tail;
  }
}

function pair(name: string, value: string): Buffer {
  return Buffer.concat([varintPrefixed(Buffer.from(name)), varintPrefixed(Buffer.from(value))]);
}
