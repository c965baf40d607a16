// Kafka record batch (magic 2), the unit the broker appends, checksums and deduplicates (producer id + sequence).
// https://kafka.apache.org/documentation/#recordbatch
import { gzipSync } from 'node:zlib';
import { crc32c } from './crc32c.js';
import type { KafkaMessage } from './message.js';
import { varintBytes, writeVarint } from './varint.js';

/** From baseOffset to the record count: 61 bytes. */
const BATCH_HEADER_BYTES = 8 + 4 + 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
/** attributes (0), timestampDelta (0): every record of a batch carries the batch's timestamp. */
const RECORD_FIXED_BYTES = 2;
const GZIP = 1;

export interface BatchIdentity {
  /** -1n when the producer is not idempotent. */
  producerId: bigint;
  producerEpoch: number;
  /** The partition's sequence number of the first record (-1 when not idempotent). */
  firstSequence: number;
}

/** Bytes of one record without its length prefix. */
function recordBytes(m: KafkaMessage, offsetDelta: number): number {
  return RECORD_FIXED_BYTES + varintBytes(offsetDelta) + m.bodyBytes;
}

function recordsBytes(messages: readonly KafkaMessage[]): number {
  let n = 0;
  for (let i = 0; i < messages.length; i++) {
    const r = recordBytes(messages[i]!, i);
    n += varintBytes(r) + r;
  }
  return n;
}

function writeRecords(buf: Buffer, at: number, messages: readonly KafkaMessage[]): number {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    at = writeVarint(buf, at, recordBytes(m, i));
    buf[at++] = 0;
    buf[at++] = 0;
    at = writeVarint(buf, at, i);
    at = m.writeBody(buf, at);
  }
  return at;
}

/**
 * An encoded batch, or the plan for one: uncompressed batches are written straight into the request buffer, gzip
 * batches are compressed first (their size is only known afterwards).
 */
export class RecordBatch {
  readonly bytes: number;
  readonly #compressed: Buffer | undefined;

  constructor(
    readonly messages: readonly KafkaMessage[],
    readonly id: BatchIdentity,
    gzip: boolean,
  ) {
    if (gzip) {
      const raw = Buffer.allocUnsafe(recordsBytes(messages));
      writeRecords(raw, 0, messages);
      this.#compressed = gzipSync(raw);
      this.bytes = BATCH_HEADER_BYTES + this.#compressed.length;
    } else {
      this.bytes = BATCH_HEADER_BYTES + recordsBytes(messages);
    }
  }

  /** Writes the batch at buf[at] (exactly this.bytes); returns the offset after it. */
  write(buf: Buffer, at: number, timestamp: number): number {
    const start = at;
    buf.writeBigInt64BE(0n, at); // baseOffset: the broker assigns it
    buf.writeInt32BE(this.bytes - 12, at + 8); // batchLength: after baseOffset and itself
    buf.writeInt32BE(-1, at + 12); // partitionLeaderEpoch: set by the broker
    buf[at + 16] = 2; // magic
    const crcAt = at + 17;
    at += 21;
    const crcFrom = at;
    buf.writeInt16BE(this.#compressed ? GZIP : 0, at);
    buf.writeInt32BE(this.messages.length - 1, at + 2); // lastOffsetDelta
    buf.writeBigInt64BE(BigInt(timestamp), at + 6); // firstTimestamp
    buf.writeBigInt64BE(BigInt(timestamp), at + 14); // maxTimestamp
    buf.writeBigInt64BE(this.id.producerId, at + 22);
    buf.writeInt16BE(this.id.producerEpoch, at + 30);
    buf.writeInt32BE(this.id.firstSequence, at + 32);
    buf.writeInt32BE(this.messages.length, at + 36);
    at += 40;
    at = this.#compressed ? at + this.#compressed.copy(buf, at) : writeRecords(buf, at, this.messages);
    buf.writeUInt32BE(crc32c(buf, crcFrom, at), crcAt);
    if (at - start !== this.bytes) throw new Error(`record batch: wrote ${at - start} bytes, expected ${this.bytes}`);
    return at;
  }
}
