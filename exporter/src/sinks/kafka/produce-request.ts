// Produce request v3 (the first version carrying record batches; every broker since 0.11 and through 4.x accepts it).
// https://kafka.apache.org/protocol#The_Messages_Produce
import { decodeProduceV3Response, type ProduceResponse, type ProtocolRequest } from './kafkajs-internals.js';
import type { RecordBatch } from './record-batch.js';

export interface TopicBatches {
  topic: string;
  partitions: { partition: number; batch: RecordBatch }[];
}

const PRODUCE = 0;

export function produceRequest(acks: -1 | 1, timeoutMs: number, topics: readonly TopicBatches[]): ProtocolRequest {
  return {
    request: {
      apiKey: PRODUCE,
      apiVersion: 3,
      apiName: 'Produce',
      expectResponse: () => true,
      encode: async () => {
        const buf = encode(acks, timeoutMs, topics);
        return { buf, buffer: buf };
      },
    },
    response: { decode: decodeProduceV3Response, parse: async (data) => data as ProduceResponse },
  };
}

function encode(acks: -1 | 1, timeoutMs: number, topics: readonly TopicBatches[]): Buffer {
  const names = topics.map((t) => Buffer.from(t.topic));
  let size = 2 + 2 + 4 + 4;
  topics.forEach((t, i) => {
    size += 2 + names[i]!.length + 4;
    for (const p of t.partitions) size += 4 + 4 + p.batch.bytes;
  });
  const buf = Buffer.allocUnsafe(size);
  let at = buf.writeInt16BE(-1, 0); // transactional_id: null
  at = buf.writeInt16BE(acks, at);
  at = buf.writeInt32BE(timeoutMs, at);
  at = buf.writeInt32BE(topics.length, at);
  const now = Date.now();
  topics.forEach((t, i) => {
    at = buf.writeInt16BE(names[i]!.length, at);
    at += names[i]!.copy(buf, at);
    at = buf.writeInt32BE(t.partitions.length, at);
    for (const p of t.partitions) {
      at = buf.writeInt32BE(p.partition, at);
      at = buf.writeInt32BE(p.batch.bytes, at);
      at = p.batch.write(buf, at, now);
    }
  });
  return buf;
}
