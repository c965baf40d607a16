// The example consumers in examples/consumers, run as a team would run them, against the real exporter delivering to a
// real Kafka broker and through a real daprd (pubsub.redis): records sent twice (as at-least-once delivery does) are
// seen once, and the summary counts are exact.
import path from 'node:path';
import t, { type Test } from 'tap';
import { Client, metric, shortDir, startExporter } from '../../exporter/test/helpers/exporter.js';
import { repoRoot } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, waitFor, type Started } from '../helpers/process.js';
import { startDaprd, redisPubsub } from '../peers/dapr.js';
import { kcatReadAll, startKafka } from '../peers/kafka.js';
import { startRedis } from '../peers/redis.js';
import { RecentIds, Summary, tombstoneRecord } from '../../examples/consumers/summary.mjs';
import { decisionRecord } from './records.js';

const consumersDir = path.join(repoRoot, 'examples/consumers');

function records(): Record<string, unknown>[] {
  const admission = (i: number, allowed: boolean) => decisionRecord(i, { eventType: 'admission_decision', extra: { allowed, operation: 'CREATE' } });
  const violation = (i: number, eventType: string, kind: string, name: string, action: string) =>
    decisionRecord(i, { eventType, enforcementAction: action, extra: { kind, name } });
  const lifecycle = (i: number, eventType: string, timestamp: string) =>
    decisionRecord(i, {
      eventType,
      extra: { kind: 'K8sRequiredLabels', name: 'must-have-owner', timestamp, violationKey: `K8sRequiredLabels/must-have-owner:/ConfigMap/team-a/cm-${i}`, ...(eventType === 'violation_resolved' ? { resolution: 'fixed' } : {}) },
    });
  return [
    ...[true, true, false, true, false, true].map((allowed, i) => admission(i, allowed)),
    ...[0, 1, 2].map((i) => violation(i, 'violation_admission', 'K8sRequiredLabels', 'must-have-owner', 'deny')),
    ...[3, 4].map((i) => violation(i, 'violation_admission', 'K8sNoPrivilegedContainers', 'no-privileged', 'warn')),
    decisionRecord(20, { eventType: 'audit_started' }),
    ...[5, 6, 7].map((i) => violation(i, 'violation_audited', 'K8sRequiredLabels', 'must-have-owner', 'deny')),
    decisionRecord(21, { eventType: 'audit_completed', extra: { totals: { violations: 3 } } }),
    // The lifecycle: cm-5 and cm-6 start violating, cm-5 is fixed; cm-7's pair is resolved without being opened here.
    ...[5, 6].map((i) => lifecycle(i, 'violation_opened', '2026-11-24T11:00:00.000Z')),
    ...[5, 7].map((i) => lifecycle(i, 'violation_resolved', '2026-11-24T11:01:00.000Z')),
  ];
}

const EXPECTED = {
  unique: 20,
  duplicates: 8,
  byEventType: { admission_decision: 6, violation_admission: 5, audit_started: 1, violation_audited: 3, audit_completed: 1, violation_opened: 2, violation_resolved: 2 },
  byVerdict: { allowed: 4, denied: 2 },
  violationsByConstraint: { 'K8sRequiredLabels/must-have-owner (deny)': 6, 'K8sNoPrivilegedContainers/no-privileged (warn)': 2 },
  openViolationsByConstraint: { 'K8sRequiredLabels/must-have-owner': 1 },
};

/** Sends every record, then 8 of them again (same decisionId: what a resend after a lost ack delivers). */
async function sendWithDuplicates(socket: string, sent: Record<string, unknown>[]): Promise<void> {
  const again = [0, 2, 6, 9, 11, 12, 15, 17].map((i) => sent[i]!);
  const client = await Client.connect(socket);
  await client.write([...sent, ...again].map((r) => JSON.stringify(r) + '\n').join(''));
  await client.waitAck(sent.length + again.length);
  client.destroy();
}

interface Consumer {
  proc: Started;
  /** The last summary line it printed, and the ids of the records it printed (PRINT_RECORDS=1). */
  latest(): { summary?: typeof EXPECTED; ids: string[] };
}

function startConsumer(t: Test, script: string, env: Record<string, string>): Consumer {
  const proc = start(process.execPath, [path.join(consumersDir, script)], {
    env: { ...process.env, PRINT_RECORDS: '1', SUMMARY_EVERY_MS: '200', ...env },
  });
  t.teardown(() => proc.kill('SIGKILL'));
  return {
    proc,
    latest() {
      // The last piece may be a line still being written.
      const lines = proc.output().split('\n').slice(0, -1).filter((l) => l.startsWith('{'));
      const parsed = lines.map((l) => JSON.parse(l) as { summary?: typeof EXPECTED; record?: { decisionId: string } });
      return { summary: parsed.filter((p) => p.summary).pop()?.summary, ids: parsed.flatMap((p) => (p.record ? [p.record.decisionId] : [])) };
    },
  };
}

async function expectExactly(t: Test, consumer: Consumer, sent: Record<string, unknown>[], expected: typeof EXPECTED): Promise<void> {
  const deliveries = expected.unique + expected.duplicates;
  const seen = (await waitFor(
    `the consumer's summary to count ${deliveries} deliveries; output: ${consumer.proc.output().slice(-2000)}`,
    () => {
      const l = consumer.latest();
      return l.summary && l.summary.unique + l.summary.duplicates >= deliveries ? l : undefined;
    },
    90_000,
    200,
  ))!;
  t.same(seen.summary, expected, 'counts by eventType, verdict and constraint, duplicates dropped');
  t.same([...seen.ids].sort(), sent.map((r) => r['decisionId'] as string).sort(), 'each decisionId seen exactly once');
  await consumer.proc.kill('SIGTERM');
  t.equal(await consumer.proc.exited, 0, 'stops cleanly on SIGTERM');
}

t.test('deduplication memory is bounded by entries and by time', async (t) => {
  let now = 0;
  const ids = new RecentIds({ maxEntries: 2, windowMs: 1000, now: () => now });
  t.same(['a', 'b', 'a', 'c', 'a'].map((id) => ids.add(id)), [true, true, false, true, true], 'the oldest id is forgotten past maxEntries');
  t.equal(ids.size, 2);
  t.equal(ids.add('a'), false);
  now = 1001;
  t.equal(ids.add('a'), true, 'an id older than the window is forgotten');
  t.equal(ids.size, 1);
});

t.test('the lifecycle view keeps the latest event per violation, whatever order they arrive in', async (t) => {
  const summary = new Summary();
  const event = (decisionId: string, eventType: string, minute: number, resourceName: string) =>
    summary.add({ decisionId, eventType, timestamp: `2026-11-24T11:0${minute}:00.000Z`, kind: 'K8sRequiredLabels', name: 'owner', resourceKind: 'Pod', resourceNamespace: 'a', resourceName });
  event('1', 'violation_resolved', 2, 'late-open');
  event('2', 'violation_opened', 1, 'late-open');
  event('3', 'violation_opened', 1, 'still-open');
  event('4', 'violation_opened', 3, 'reopened');
  event('5', 'violation_resolved', 2, 'reopened');
  t.same(summary.openViolationsByConstraint, { 'K8sRequiredLabels/owner': 2 }, 'still-open and reopened');

  // The engine's records carry violationKey; a tombstone of the lifecycle topic resolves the pair it is keyed by.
  const keyed = new Summary();
  const key = 'K8sAllowedRepos/prod:apps/Deployment/a/web';
  keyed.add({ decisionId: '6', eventType: 'violation_opened', timestamp: '2026-11-24T11:01:00.000Z', violationKey: key, kind: 'K8sAllowedRepos', name: 'prod' });
  keyed.add({ decisionId: '7', eventType: 'violation_opened', timestamp: '2026-11-24T11:01:00.000Z', violationKey: `${key}-2`, kind: 'K8sAllowedRepos', name: 'prod' });
  t.same(keyed.openViolationsByConstraint, { 'K8sAllowedRepos/prod': 2 });
  t.equal(tombstoneRecord(key, { eventType: 'violation_opened', decisionId: '8' }, 0), undefined, 'only a resolved record becomes a tombstone');
  keyed.add(tombstoneRecord(key, { eventType: 'violation_resolved', decisionId: '8' }, Date.parse('2026-11-24T11:02:00.000Z'))!);
  t.same(keyed.openViolationsByConstraint, { 'K8sAllowedRepos/prod': 1 }, 'the tombstone resolved its pair');
});

t.test('the Kafka consumer sees each record once and counts exactly, resolved violations read from tombstones', async (t) => {
  t.setTimeout(240_000);
  const kafka = await startKafka();
  t.teardown(() => kafka.stop());
  await kafka.createTopic('gatekeeper-decisions', { partitions: 2 });
  const dir = shortDir(t);
  const exp = await startExporter(t, dir, {
    // violation_resolved goes out as a tombstone (key: the pair): the consumer reads it back from the key and headers.
    sinks: [{ name: 'kafka', type: 'kafka', brokers: [kafka.broker], topic: 'gatekeeper-decisions', violationLifecycle: { tombstones: true }, retry: { initial: '100ms', max: '1s', maxAttempts: 100 } }],
  });
  const sent = records();
  await sendWithDuplicates(exp.socket, sent);
  const delivered = await waitFor('delivery to Kafka', async () => {
    const n = await metric(exp.metricsUrl, 'exporter_records_delivered_total', { sink: 'kafka' });
    return n >= 28 ? n : undefined;
  }, 60_000, 200);
  t.equal(delivered, 28, 'every line delivered, duplicates included');
  const tombstones = (await kcatReadAll(kafka.broker, 'gatekeeper-decisions')).filter((m) => m.value === null);
  t.same(tombstones.map((m) => m.key).sort(), [5, 7].map((i) => `K8sRequiredLabels/must-have-owner:/ConfigMap/team-a/cm-${i}`), 'the resolved records are tombstones on the topic');
  const consumer = startConsumer(t, 'kafka-consumer.mjs', { KAFKA_BROKERS: kafka.broker, KAFKA_TOPIC: 'gatekeeper-decisions', KAFKA_GROUP: 'example-test' });
  await expectExactly(t, consumer, sent, EXPECTED);
});

t.test('the Dapr subscriber sees each record once, in each shape the sink publishes, and counts exactly', async (t) => {
  t.setTimeout(240_000);
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const appPort = await freePort();
  const consumer = startConsumer(t, 'dapr-subscriber.mjs', { APP_PORT: String(appPort), PUBSUB_NAME: 'pubsub', TOPIC: 'gatekeeper-decisions' });
  await waitFor('the subscriber app', async () => (await fetch(`http://127.0.0.1:${appPort}/summary`).catch(() => undefined))?.ok, 30_000, 100);
  const components = [redisPubsub('pubsub', redis.address)];
  const pub = await startDaprd({ appId: 'exporter', components });
  t.teardown(() => pub.stop());
  const sub = await startDaprd({ appId: 'consumer', components, appPort });
  t.teardown(() => sub.stop());
  const dir = shortDir(t);
  const exp = await startExporter(
    t,
    dir,
    // Three sinks publishing every record to the one topic: as a string (Gatekeeper's way), as a JSON object, raw.
    {
      sinks: [{ dataContentType: 'text/plain' }, { dataContentType: 'application/json' }, { envelope: 'raw' }].map((shape, i) => ({
        name: `dapr-${i}`,
        type: 'dapr',
        component: 'pubsub',
        topic: 'gatekeeper-decisions',
        ...shape,
        retry: { initial: '100ms', max: '1s', maxAttempts: 100 },
      })),
    },
    { env: { DAPR_HTTP_PORT: String(pub.httpPort) } },
  );
  const sent = records();
  await sendWithDuplicates(exp.socket, sent);
  const expected = { ...EXPECTED, duplicates: 2 * 28 + EXPECTED.duplicates };
  const served = await waitFor('GET /summary to count every delivery', async () => {
    const s = (await (await fetch(`http://127.0.0.1:${appPort}/summary`)).json()) as typeof EXPECTED;
    return s.unique + s.duplicates >= 3 * 28 ? s : undefined;
  }, 90_000, 200);
  t.same(served, expected, 'GET /summary: 28 lines delivered by each of three sinks, 20 records');
  await expectExactly(t, consumer, sent, expected);
});
