// Several produce requests in flight on one partition (the @platformatic/kafka transport keeps the idempotent
// producer's sequence numbers): against a real broker, a request refused while the next one is in flight must leave
// the next one unappended, so each key keeps its order. KAFKA_MAJOR=4 runs them against the Kafka 4 broker.
import t from 'tap';
import pino from 'pino';
import { createSink } from './kafka-sink-from-config.js';
import { PlatformaticTransport } from '../../exporter/src/sinks/kafka/transport-platformatic.js';
import { KafkaTransportError, type TransportOptions } from '../../exporter/src/sinks/kafka/transport.js';
import { MessageHeaders } from '../../exporter/src/sinks/kafka/message.js';
import type { OutgoingRecord } from '../../exporter/src/sinks/sink.js';
import { startKafka, kcatReadAll, kafkaMajorFromEnv, type KafkaBroker } from '../peers/kafka.js';
import { decisionRecord, outgoing } from './records.js';
import { deliverLikeTheWorker } from './deliver.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const version = kafkaMajorFromEnv();
t.comment(`Kafka ${version}.x broker`);
let kafka: KafkaBroker;

t.before(async () => {
  kafka = await startKafka({ version });
});
t.teardown(async () => {
  await kafka?.stop();
});

const headers = new MessageHeaders({});
const message = (i: number, size = 100) => headers.message(`k-${i % 7}`, JSON.stringify({ i, pad: 'x'.repeat(size) }), `id-${i}`, 'violation_admission', '1');
const records = (from: number, n: number, size?: number) => Array.from({ length: n }, (_, k) => message(from + k, size));

function transportOptions(): TransportOptions {
  return {
    clientId: 'pipeline-test',
    brokers: [kafka.broker],
    connectionTimeoutMs: 3000,
    requestTimeoutMs: 10_000,
    tls: undefined,
    sasl: undefined,
    idempotent: true,
    acks: -1,
    gzip: false,
    retries: 3,
    log: logger,
  };
}

t.test('transport: a refused request with the next in flight on the partition: the next is not appended', async (t) => {
  const topic = 'pipeline-transport';
  await kafka.createTopic(topic, { configs: { 'max.message.bytes': '20000' } });
  const transport = new PlatformaticTransport(transportOptions());
  await transport.connect();
  await transport.partitionCount(topic, true);
  t.notOk(transport.pipelines(topic, 0), 'no request acknowledged yet: the first goes alone');
  await transport.produce({ topic, partition: 0, records: records(0, 10) });
  t.ok(transport.pipelines(topic, 0), 'acknowledged: the next may go while another is in flight');
  // Sent together: the second is too large for the topic, the third (fine alone) is in flight behind it.
  const outcomes = await Promise.allSettled([
    transport.produce({ topic, partition: 0, records: records(10, 10) }),
    transport.produce({ topic, partition: 0, records: records(20, 10, 30_000) }),
    transport.produce({ topic, partition: 0, records: records(30, 10) }),
  ]);
  t.equal(outcomes[0]!.status, 'fulfilled', 'the request before the refused one is acknowledged');
  t.equal(outcomes[1]!.status, 'rejected');
  t.match((outcomes[1] as PromiseRejectedResult).reason, { type: /^(MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE)$/ });
  t.equal(outcomes[2]!.status, 'rejected', 'the request behind the refused one is refused too');
  const behind = (outcomes[2] as PromiseRejectedResult).reason as KafkaTransportError;
  t.ok(behind instanceof KafkaTransportError && behind.retriable, `retriable (${behind.type ?? behind.message})`);
  t.notOk(transport.pipelines(topic, 0), 'after a failure: a new producer id, its first request alone');
  await transport.produce({ topic, partition: 0, records: records(30, 10) });
  const got = (await kcatReadAll(kafka.broker, topic)).map((m) => m.headers['decisionId']);
  t.same(got, [...records(0, 20), ...records(30, 10)].map((r) => r.decisionId), 'the log: 0-19, then 30-39 sent again, nothing else');
  await transport.close();
});

const deliver = async (sink: ReturnType<typeof createSink>, batch: readonly OutgoingRecord[], signal: AbortSignal): Promise<OutgoingRecord[]> =>
  (await deliverLikeTheWorker(sink, batch, signal, { maxAttempts: 100, pauseMs: 100 })).refused;

t.test('sink: records refused for good in the middle of pipelined requests: dead-lettered alone, every key in order', async (t) => {
  const topic = 'pipeline-sink';
  await kafka.createTopic(topic, { configs: { 'max.message.bytes': '20000' } });
  // ~10 records per request, 5 in flight on the one partition; records 1500 and 2500 are too large for the topic.
  const sink = createSink({ name: 'pipe', brokers: [kafka.broker], topic, maxBytesPerRequest: 10_000 }, { logger, transport: 'platformatic' });
  const ac = new AbortController();
  await sink.start(ac.signal);
  const tooLarge = new Set([1500, 2500]);
  const all = Array.from({ length: 4000 }, (_, i) =>
    outgoing(decisionRecord(i, { resourceName: `cm-${i % 13}`, ...(tooLarge.has(i) ? { extra: { blob: 'x'.repeat(25_000) } } : {}) })),
  );
  const refused: OutgoingRecord[] = [];
  for (let i = 0; i < all.length; i += 1000) refused.push(...(await deliver(sink, all.slice(i, i + 1000), ac.signal)));
  t.same(
    refused.map((r) => r.decisionId),
    [...tooLarge].map((i) => all[i]!.decisionId),
    'only the two records too large, alone',
  );
  const got = await kcatReadAll(kafka.broker, topic);
  const position = new Map(all.map((r, i) => [r.decisionId, i]));
  t.equal(new Set(got.map((m) => m.headers['decisionId'])).size, all.length - tooLarge.size, 'every other record');
  t.equal(got.length, all.length - tooLarge.size, 'each once (nothing was in doubt)');
  const lastByKey = new Map<string, number>();
  let outOfOrder = 0;
  for (const m of got.sort((a, b) => a.offset - b.offset)) {
    const i = position.get(m.headers['decisionId']!)!;
    if ((lastByKey.get(m.key!) ?? -1) > i) outOfOrder++;
    lastByKey.set(m.key!, i);
  }
  t.equal(outOfOrder, 0, 'per key, the order of the batches');
  await sink.close();
});
