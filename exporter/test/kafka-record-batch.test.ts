// The Kafka RecordBatch the sink writes itself (record-batch.ts), against @platformatic/kafka's own encoder and reader:
// for the same records, timestamp and producer the bytes must be the same, gzip included, and read back alike; and the
// Produce request around it (produce-request.ts), v7 to v11, the same bytes as the library's request of that version.
import t from 'tap';
import { createRecordsBatch, jsCRC32C, readRecordsBatch, Reader, produceV7, produceV8, produceV9, produceV10, produceV11, type MessageRecord } from '@platformatic/kafka';
import { encodeRecordBatch, HeaderBytes } from '../src/sinks/kafka/record-batch.js';
import { PRODUCE_VERSIONS, produceRequest } from '../src/sinks/kafka/produce-request.js';
import { MessageHeaders, type KafkaRecord } from '../src/sinks/kafka/message.js';

const NOW = 1_796_000_000_123;
const headers = new MessageHeaders({ cluster: 'prod-eu', team: 'платформа' });

function records(n: number): KafkaRecord[] {
  const out: KafkaRecord[] = [];
  for (let i = 0; i < n; i++) {
    const value = i % 7 === 3 ? null : JSON.stringify({ i, msg: i % 5 === 0 ? 'x'.repeat(9000 + i) : `ünïcødé ✓ ${i}` });
    const key = i % 4 === 1 ? undefined : `ns-${i % 3}/pod-${i}`;
    out.push(headers.message(key, value, `d-${i}-é`, i % 2 ? 'admission_decision' : 'audit_violation', '1'));
  }
  return out;
}

/** The same records as the library's messages, its headers as bytes. */
function libraryMessages(recs: KafkaRecord[]): MessageRecord[] {
  return recs.map((r) => ({
    topic: 't',
    partition: 0,
    timestamp: BigInt(NOW),
    value: (r.value === null ? undefined : Buffer.from(r.value)) as Buffer,
    ...(r.key ? { key: r.key } : {}),
    headers: new Map(r.headers.map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
  }));
}

const producer = { producerId: 4242n, producerEpoch: 3, firstSequence: 1_000 };

for (const gzip of [false, true]) {
  t.test(`the same bytes as the library's encoder (${gzip ? 'gzip' : 'uncompressed'})`, async (t) => {
    for (const n of [1, 3, 200]) {
      const recs = records(n);
      const ours = encodeRecordBatch(recs, { gzip, headers: new HeaderBytes(), producer, now: NOW });
      const theirs = createRecordsBatch(libraryMessages(recs), {
        compression: gzip ? 'gzip' : 'none',
        producerId: producer.producerId,
        producerEpoch: producer.producerEpoch,
        sequences: { getWithDefault: () => producer.firstSequence } as never,
      }).buffer;
      t.ok(ours.equals(theirs), `${n} records: identical (${ours.length} bytes)`);
    }
  });
}

t.test('read back by the library: fields, headers, tombstones, producer and CRC', async (t) => {
  const recs = records(20);
  const buf = encodeRecordBatch(recs, { gzip: false, headers: new HeaderBytes(2), now: NOW });
  const batch = readRecordsBatch(Reader.from(buf));
  t.equal(batch.length, buf.length - 12, 'batchLength counts what follows it');
  t.equal(batch.magic, 2);
  t.equal(batch.producerId, -1n, 'no producer: id -1');
  t.equal(batch.producerEpoch, -1);
  t.equal(batch.firstSequence, -1);
  t.equal(batch.lastOffsetDelta, 19);
  t.equal(batch.firstTimestamp, BigInt(NOW));
  t.equal(batch.crc, jsCRC32C(buf.subarray(21)) >>> 0, 'CRC-32C over attributes to the end');
  t.equal(batch.records.length, 20);
  batch.records.forEach((r, i) => {
    const want = recs[i]!;
    t.equal(r.offsetDelta, i);
    t.same(r.key === null ? null : r.key.toString(), want.key?.toString() ?? null, `record ${i}: key`);
    t.same(r.value === null ? null : r.value.toString(), want.value, `record ${i}: value (null: a tombstone)`);
    t.same(r.headers.map(([k, v]) => [k!.toString(), v!.toString()]), want.headers, `record ${i}: headers in order`);
  });
});

t.test('the Produce request of every version: the same bytes as the library\'s', async (t) => {
  const library = { 7: produceV7, 8: produceV8, 9: produceV9, 10: produceV10, 11: produceV11 } as const;
  const recs = records(5);
  for (const version of PRODUCE_VERSIONS) {
    for (const acks of [-1, 1]) {
      const ours = produceRequest(version)(acks, 30_000, 'decisions', 2, encodeRecordBatch(recs, { gzip: false, headers: new HeaderBytes(), producer, now: NOW }));
      const messages = libraryMessages(recs).map((m) => ({ ...m, topic: 'decisions', partition: 2 }));
      const theirs = library[version].createRequest(acks, 30_000, messages, {
        producerId: producer.producerId,
        producerEpoch: producer.producerEpoch,
        sequences: { getWithDefault: () => producer.firstSequence } as never,
      });
      t.ok(ours.buffer.equals(theirs.buffer), `v${version}, acks ${acks}: identical (${ours.length} bytes)`);
    }
  }
});
