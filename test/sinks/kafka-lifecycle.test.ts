// The violation lifecycle on a compacted Kafka topic, against a real broker read by kcat: violation_opened and
// violation_resolved are keyed by their pair; with tombstones a resolved pair goes out as a tombstone (null value, its
// headers kept) and the broker's log cleaner then removes the pair from the topic, leaving only open violations.
import t from 'tap';
import pino from 'pino';
import { createSink } from './kafka-sink-from-config.js';
import { resolveConfig } from '../../exporter/src/config/load.js';
import type { OutgoingRecord } from '../../exporter/src/sinks/sink.js';
import { startKafka, kcatReadAll, type KafkaBroker } from '../peers/kafka.js';
import { decisionRecord, outgoing } from './records.js';
import { waitFor } from '../helpers/process.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let kafka: KafkaBroker;

t.before(async () => {
  // The cleaner looks for dirty logs every 200 ms instead of 15 s, so compaction shows within the test.
  kafka = await startKafka({ brokerProps: { 'log.cleaner.backoff.ms': '200' } });
});
t.teardown(async () => {
  await kafka?.stop();
});

const pair = (name: string) => `K8sRequiredLabels/must-have-owner:/ConfigMap/team-a/${name}`;
function lifecycle(eventType: 'violation_opened' | 'violation_resolved', name: string): OutgoingRecord {
  return outgoing(decisionRecord(0, {
    eventType,
    resourceName: name,
    extra: { auditId: '2026-12-06T05:00:00.000Z', violationKey: pair(name), firstSeen: '2026-12-06T05:00:00.000Z', firstAuditId: '2026-12-06T05:00:00.000Z', ...(eventType === 'violation_resolved' ? { lastAuditId: '2026-12-06T05:00:00.000Z', resolution: 'fixed' } : {}) },
  }));
}

async function send(sink: ReturnType<typeof createSink>, batch: OutgoingRecord[], signal: AbortSignal): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await sink.send(batch, signal);
      if (!res.failures?.length) return;
    } catch (e) {
      if (attempt > 100) throw e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

t.test('keyed by pair; resolved as a tombstone; the compacted topic keeps only open violations', async (t) => {
  const topic = 'violations-open';
  await kafka.createTopic(topic, {
    partitions: 2,
    // Segments roll after 100 ms (the cleaner never touches the active one); tombstones are dropped at the next clean.
    configs: { 'cleanup.policy': 'compact', 'segment.ms': '100', 'min.cleanable.dirty.ratio': '0.01', 'delete.retention.ms': '0' },
  });
  const sink = createSink({ name: 'open', brokers: [kafka.broker], topic, violationLifecycle: { tombstones: true } }, { logger });
  const ac = new AbortController();
  await sink.start(ac.signal);

  const openA = lifecycle('violation_opened', 'a');
  const openB = lifecycle('violation_opened', 'b');
  const resolveA = lifecycle('violation_resolved', 'a');
  await send(sink, [openA, openB, resolveA], ac.signal);
  const sent = await kcatReadAll(kafka.broker, topic);
  t.same(sent.map((m) => m.headers['decisionId']).sort(), [openA, openB, resolveA].map((r) => r.decisionId).sort());
  const byId = new Map(sent.map((m) => [m.headers['decisionId'], m]));
  t.equal(byId.get(openA.decisionId)!.key, pair('a'), 'keyed by the pair, not the resource');
  t.equal(byId.get(openA.decisionId)!.value, openA.json);
  const tomb = byId.get(resolveA.decisionId)!;
  t.equal(tomb.key, pair('a'));
  t.equal(tomb.value, null, 'the resolved record is a tombstone');
  t.equal(tomb.headers['eventType'], 'violation_resolved', 'its headers say what it was');
  t.equal(tomb.partition, byId.get(openA.decisionId)!.partition, "on its opened record's partition");

  // A later segment makes the first one cleanable: compaction drops pair a (opened, then tombstone) and keeps b.
  await new Promise((r) => setTimeout(r, 150));
  const openC = lifecycle('violation_opened', 'c');
  await send(sink, [openC], ac.signal);
  const compacted = await waitFor('the log cleaner removes pair a', async () => {
    const now = await kcatReadAll(kafka.broker, topic);
    if (!now.some((m) => m.key === pair('a'))) return now;
    // The newest segment of a partition stays active: another record keeps the segments rolling.
    await send(sink, [lifecycle('violation_opened', 'c')], ac.signal);
    return undefined;
  }, 120_000, 500);
  t.same([...new Set(compacted.map((m) => m.key))].sort(), [pair('b'), pair('c')], 'the topic holds the open pairs only');
  await sink.close();
});

t.test('tombstones off: resolved keeps its value; key: sink uses the sink key', async (t) => {
  const sink = createSink({ name: 'plain', brokers: [kafka.broker], topic: 'violations-all', violationLifecycle: { key: 'sink' } }, { logger });
  const ac = new AbortController();
  await sink.start(ac.signal);
  const resolved = lifecycle('violation_resolved', 'x');
  await send(sink, [resolved], ac.signal);
  const [m] = await kcatReadAll(kafka.broker, 'violations-all');
  t.equal(m!.value, resolved.json);
  t.equal(m!.key, 'team-a/x', "the sink's key (resource)");
  await sink.close();

  const keyed = createSink({ name: 'keyed', brokers: [kafka.broker], topic: 'violations-keyed' }, { logger });
  await keyed.start(ac.signal);
  const opened = lifecycle('violation_opened', 'y');
  const resolvedY = lifecycle('violation_resolved', 'y');
  await send(keyed, [opened, resolvedY], ac.signal);
  const got = await kcatReadAll(kafka.broker, 'violations-keyed');
  t.same(got.map((g) => [g.key, g.value]), [[pair('y'), opened.json], [pair('y'), resolvedY.json]], 'default: keyed by pair, tombstones off');
  await keyed.close();
});

t.test('the exporter config validates the option', async (t) => {
  const base = { socket: '/tmp/x.sock', queue: { path: '/tmp/q.db' } };
  const sink = (violationLifecycle: unknown) => ({ ...base, sinks: [{ name: 'k', type: 'kafka', brokers: ['k:9092'], topic: 't', violationLifecycle }] });
  t.ok(resolveConfig(sink({ key: 'pair', tombstones: true })));
  t.throws(() => resolveConfig(sink({ key: 'resource' })), /violationLifecycle/);
  t.throws(() => resolveConfig(sink({ tombstone: true })), /violationLifecycle/);
});
