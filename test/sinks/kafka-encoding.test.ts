// The Kafka sink's own wire pieces against independent implementations: kafkajs' CRC-32C and its Java-compatible
// murmur2 partitioner, and kafkajs' record batch decoder reading what the sink encodes.
import t from 'tap';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { crc32c } from '../../exporter/src/sinks/kafka/crc32c.js';
import { murmur2, partitionForKey } from '../../exporter/src/sinks/kafka/murmur2.js';
import { MessageHeaders } from '../../exporter/src/sinks/kafka/message.js';
import { RecordBatch } from '../../exporter/src/sinks/kafka/record-batch.js';

const require = createRequire(import.meta.url);
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (b: Buffer) => number;
const Decoder = require('kafkajs/src/protocol/decoder.js');
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<{
  records: { key: Buffer | null; value: Buffer; headers: Record<string, Buffer>; offset: string }[];
  producerId: string;
  firstSequence: number;
  inTransaction: boolean;
}>;

t.test('CRC-32C: the standard check value, and kafkajs on every length and alignment', async (t) => {
  t.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  let bad = 0;
  for (let n = 0; n < 600; n++) {
    const b = randomBytes(n + 16);
    if (crc32c(b, 16 - (n % 16)) !== kafkajsCrc32c(b.subarray(16 - (n % 16)))) bad++;
  }
  t.equal(bad, 0);
});

t.test('murmur2 and the key partition match the Java client (kafkajs default partitioner)', async (t) => {
  let bad = 0;
  for (let n = 0; n < 2000; n++) {
    const key = n % 2 ? randomBytes(n % 97) : Buffer.from(`team-${n}/checkout-${n * 7}-é`);
    if (murmur2(key) !== kafkajsMurmur2(key)) bad++;
    if (partitionForKey(key, 7) !== (kafkajsMurmur2(key) & 0x7fffffff) % 7) bad++;
  }
  t.equal(bad, 0);
});

t.test('a record batch decodes with kafkajs: keys, values, headers, producer id and sequence', async (t) => {
  const headers = new MessageHeaders({ cluster: 'prod-eu-1', decisionId: 'ignored: the record wins' });
  const messages = Array.from({ length: 300 }, (_, i) =>
    headers.message(i % 3 ? `ns/nämé-${i}` : undefined, JSON.stringify({ i, text: 'ü'.repeat(i) }), `id-${i}`, 'violation_admission', '1'),
  );
  for (const gzip of [false, true]) {
    const batch = new RecordBatch(messages, { producerId: 123456789012n, producerEpoch: 3, firstSequence: 2_000_000 }, gzip);
    const buf = Buffer.alloc(batch.bytes);
    t.equal(batch.write(buf, 0, Date.now()), batch.bytes);
    const decoded = await decodeRecordBatch(new Decoder(buf));
    t.equal(decoded.producerId, '123456789012');
    t.equal(decoded.firstSequence, 2_000_000);
    t.equal(decoded.records.length, 300);
    const r = decoded.records[299]!;
    t.equal(r.key?.toString(), 'ns/nämé-299');
    t.equal(decoded.records[0]!.key, null);
    t.same(JSON.parse(r.value.toString()), { i: 299, text: 'ü'.repeat(299) });
    t.same(
      Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString()])),
      { cluster: 'prod-eu-1', decisionId: 'id-299', eventType: 'violation_admission', schemaVersion: '1', 'content-type': 'application/json' },
      `headers (${gzip ? 'gzip' : 'uncompressed'})`,
    );
    t.same(Object.keys(r.headers), ['cluster', 'decisionId', 'eventType', 'schemaVersion', 'content-type'], 'header order');
  }
});
