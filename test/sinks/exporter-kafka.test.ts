// The real exporter process (exporter/dist/cli/main.js) delivering into a real Kafka broker; kcat checks what arrived.
import t from 'tap';
import { startKafka, kcatReadAll, type KafkaBroker } from '../peers/kafka.js';
import { waitFor } from '../helpers/process.js';
import { Client, metric, shortDir, startExporter } from '../../exporter/test/helpers/exporter.js';
import { decisionRecord } from './records.js';

let kafka: KafkaBroker;
t.before(async () => {
  kafka = await startKafka();
});
t.teardown(async () => {
  await kafka?.stop();
});

t.test('N records through the exporter into Kafka; broker killed mid-stream and restarted: nothing lost', async (t) => {
  t.setTimeout(300_000);
  const N = 20_000;
  await kafka.createTopic('all-decisions', { partitions: 2 });
  await kafka.createTopic('team-a-deny');
  const dir = shortDir(t);
  const exp = await startExporter(t, dir, {
    sinks: [
      {
        name: 'kafka-all',
        type: 'kafka',
        brokers: [kafka.broker],
        topic: 'all-decisions',
        compression: 'gzip',
        requestTimeout: '5s',
        connectionTimeout: '1s',
        batch: { maxRecords: 2000, linger: '20ms' },
        retry: { initial: '100ms', max: '1s', maxAttempts: 1000 },
      },
      {
        name: 'kafka-team-a',
        type: 'kafka',
        brokers: [kafka.broker],
        topic: 'team-a-deny',
        filter: { namespaces: ['team-a'], enforcementActions: ['deny'] },
        redact: [
          { path: '/requestUsername', action: 'replace' },
          { path: '/object/data', when: { resourceKinds: ['Secret'] } },
        ],
        retry: { initial: '100ms', max: '1s', maxAttempts: 1000 },
      },
    ],
  });
  const client = await Client.connect(exp.socket);
  const sent: Record<string, unknown>[] = [];
  for (let i = 0; i < N; i++) {
    const ns = i % 3 === 0 ? 'team-b' : 'team-a';
    const action = i % 5 === 0 ? 'warn' : 'deny';
    const kind = i % 7 === 0 ? 'Secret' : 'ConfigMap';
    sent.push(decisionRecord(i, { resourceNamespace: ns, enforcementAction: action, resourceKind: kind, extra: { object: { kind, data: { k: `v${i}` } } } }));
  }
  const half = N / 2;
  await client.write(sent.slice(0, half).map((r) => JSON.stringify(r) + '\n').join(''));
  await client.waitAck(half, 60_000);
  await kafka.kill();
  await client.write(sent.slice(half).map((r) => JSON.stringify(r) + '\n').join(''));
  await client.waitAck(N, 60_000);
  await waitFor('a delivery failure while the broker is down', async () => (await metric(exp.metricsUrl, 'exporter_delivery_failures_total', { sink: 'kafka-all' })) > 0, 60_000, 200);
  await kafka.restart();
  await waitFor(
    'the backlog to drain',
    async () => (await metric(exp.metricsUrl, 'exporter_records_delivered_total', { sink: 'kafka-all' })) >= N,
    180_000,
    500,
  );
  const all = await kcatReadAll(kafka.broker, 'all-decisions');
  const ids = new Set(all.map((m) => m.headers['decisionId']));
  const missing = sent.filter((r) => !ids.has(r['decisionId'] as string));
  t.equal(missing.length, 0, `every decisionId read back by kcat (${all.length} messages for ${N} records)`);

  const wanted = sent.filter((r) => r['resourceNamespace'] === 'team-a' && r['enforcementAction'] === 'deny');
  await waitFor(
    'the routed sink to drain',
    async () =>
      (await metric(exp.metricsUrl, 'exporter_records_delivered_total', { sink: 'kafka-team-a' })) >= wanted.length,
    120_000,
    500,
  );
  const routed = await kcatReadAll(kafka.broker, 'team-a-deny');
  const routedIds = new Set(routed.map((m) => m.headers['decisionId']));
  t.equal(wanted.filter((r) => !routedIds.has(r['decisionId'] as string)).length, 0, 'every team-a deny record routed');
  const values = routed.map((m) => JSON.parse(m.value) as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
  t.ok(values.every((v) => v.resourceNamespace === 'team-a' && v.enforcementAction === 'deny'), 'nothing else routed');
  t.ok(values.every((v) => v.requestUsername === '[redacted]'), 'user names redacted at the consumer');
  t.ok(values.filter((v) => v.resourceKind === 'Secret').every((v) => v.object.data === undefined), 'Secret data removed');
  t.ok(values.filter((v) => v.resourceKind === 'ConfigMap').every((v) => v.object.data !== undefined), 'other objects keep theirs');
  t.ok(all.every((m) => (JSON.parse(m.value) as { requestUsername: string }).requestUsername === 'alice@example.com'), 'the unfiltered sink is not redacted');
  client.destroy();
});
