// The Produce request (v7-v11) around a RecordBatch already encoded (record-batch.ts), made with the library's public
// createAPI and Writer, its answer read by the library's own parser of that version.
import { createAPI, Writer, produceV7, produceV8, produceV9, produceV10, produceV11, type API } from '@platformatic/kafka';

type ProduceResponse = Awaited<ReturnType<typeof produceV11.api.async>>;
/** acks, timeout (ms), topic, partition, the encoded RecordBatch. */
export type ProduceBatch = API<[acks: number, timeoutMs: number, topic: string, partition: number, batch: Buffer], ProduceResponse>;

const PARSERS = { 7: produceV7.parseResponse, 8: produceV8.parseResponse, 9: produceV9.parseResponse, 10: produceV10.parseResponse, 11: produceV11.parseResponse } as const;

/** The versions this request is written for, newest first; the broker's ApiVersions picks one. */
export const PRODUCE_VERSIONS = [11, 10, 9, 8, 7] as const;
export type ProduceVersion = (typeof PRODUCE_VERSIONS)[number];

/** v9 on: compact strings and arrays, tagged fields. */
const isFlexible = (version: ProduceVersion) => version >= 9;

export function produceBatchApi(version: ProduceVersion): ProduceBatch {
  const flexible = isFlexible(version);
  return createAPI(0, version, produceRequest(version), PARSERS[version], flexible, flexible);
}

/** The request's body (after the request header the connection writes) for one partition's encoded batch. */
export function produceRequest(version: ProduceVersion): (acks: number, timeoutMs: number, topic: string, partition: number, batch: Buffer) => Writer {
  const flexible = isFlexible(version);
  return (acks, timeoutMs, topic, partition, batch) => {
    const w = Writer.create()
      .appendString(null, flexible) // transactional_id
      .appendInt16(acks)
      .appendInt32(timeoutMs)
      .appendArray(
        [topic],
        (t) => {
          t.appendString(topic, flexible).appendArray(
            [partition],
            (p) => {
              p.appendInt32(partition);
              if (flexible) p.appendUnsignedVarInt(batch.length + 1);
              else p.appendInt32(batch.length);
              p.append(batch);
            },
            flexible,
            flexible,
          );
        },
        flexible,
        flexible,
      );
    if (flexible) w.appendTaggedFields();
    if (acks === 0) w.context['noResponse'] = true;
    return w;
  };
}
