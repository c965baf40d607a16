// The otlp sink in the real exporter against a real OpenTelemetry Collector (otlp receiver -> file exporter): the
// mapping to OpenTelemetry logs, protobuf and JSON, gzip, the collector down and restarted mid-stream (0 lost), and a
// permanent refusal (404) that dead-letters instead of retrying forever.
import t, { type Test } from 'tap';
import { Client, metric, record, shortDir, startExporter } from './helpers/exporter.js';
import { attributeMap, logRecords, startCollector, type LogRecordJson } from '../../test/peers/otelcol.js';
import { waitFor } from '../../test/helpers/process.js';

const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const fields = { allowed: false, operation: 'CREATE', resourceKind: 'Pod', resourceNamespace: 'team-a', resourceName: 'web-1' };

async function send(socket: string, ids: string[], extra: (id: string) => Record<string, unknown> = () => ({})): Promise<void> {
  const c = await Client.connect(socket);
  for (let i = 0; i < ids.length; i += 250) await c.write(ids.slice(i, i + 250).map((id) => record(id, { ...fields, ...extra(id) }) + '\n').join(''));
  await c.waitAck(ids.length, 60_000);
  c.destroy();
}

const decisionIdOf = (l: LogRecordJson) => attributeMap(l.attributes)['gatekeeper.decision_id'];

function checkMapping(t: Test, l: LogRecordJson, id: string): void {
  t.same(attributeMap(l.attributes), {
    'k8s.namespace.name': 'team-a',
    'k8s.pod.name': 'web-1',
    'gatekeeper.decision_id': id,
    'gatekeeper.event_type': 'admission_decision',
    'gatekeeper.allowed': false,
    'gatekeeper.operation': 'CREATE',
    'k8s.resource.kind': 'Pod',
    'k8s.resource.name': 'web-1',
  });
  t.equal(l.timeUnixNano, String(Date.parse('2026-11-24T10:00:00Z') * 1_000_000), 'time from the record');
  t.equal(l.severityNumber, 13);
  t.equal(l.severityText, 'WARN', 'a denied admission');
  t.equal(l.eventName, 'admission_decision');
  const body = (l.body as { kvlistValue: { values: { key: string; value: Record<string, unknown> }[] } }).kvlistValue.values;
  t.same(attributeMap(body), { decisionId: id, eventType: 'admission_decision', timestamp: '2026-11-24T10:00:00Z', ...fields, schemaVersion: '1' }, 'the record as the body');
}

for (const encoding of ['protobuf', 'json'] as const) {
  t.test(`${encoding}: the collector down and restarted mid-stream, exactly N log records, 0 lost`, async (t) => {
    const dir = shortDir(t);
    const col = await startCollector(dir);
    t.teardown(() => col.stop());
    const ex = await startExporter(t, dir, {
      sinks: [
        {
          name: 'otel',
          type: 'otlp',
          endpoint: col.endpoint,
          encoding,
          gzip: encoding === 'protobuf',
          clusterName: 'prod-eu',
          resourceAttributes: { 'deployment.environment.name': 'test' },
          batch: { maxRecords: 200 },
          retry: { initial: '50ms', multiplier: 2, max: '500ms', jitter: 0.1 },
        },
      ],
    });
    const ids = range(encoding, 3000);
    await send(ex.socket, ids.slice(0, 1000));
    await waitFor('first part delivered', async () => (await metric(ex.metricsUrl, 'exporter_records_delivered_total', { sink: 'otel' })) === 1000, 60_000);
    await col.stop();
    await send(ex.socket, ids.slice(1000, 2000));
    await waitFor('a failed attempt while down', async () => (await metric(ex.metricsUrl, 'exporter_delivery_failures_total', { sink: 'otel' })) > 0, 60_000);
    t.equal(await metric(ex.metricsUrl, 'exporter_sink_up', { sink: 'otel' }), 0, 'sink down while the collector is');
    await col.restart();
    await send(ex.socket, ids.slice(2000));
    await waitFor('all delivered', async () => (await metric(ex.metricsUrl, 'exporter_records_delivered_total', { sink: 'otel' })) === ids.length, 120_000);
    await col.stop(); // flushes the file exporter
    const received = col.received();
    const logs = logRecords(received);
    t.equal(logs.length, ids.length, 'exactly N log records');
    t.same([...new Set(logs.map(decisionIdOf))].length, ids.length, 'each record once');
    t.same(logs.map(decisionIdOf), ids, 'in order');
    t.equal(await metric(ex.metricsUrl, 'exporter_records_dead_lettered_total', { sink: 'otel' }), 0);
    t.same(attributeMap(received[0]!.resource?.attributes), { 'service.name': 'gk-exporter', 'k8s.cluster.name': 'prod-eu', 'deployment.environment.name': 'test' });
    checkMapping(t, logs[0]!, ids[0]!);
  });
}

t.test('a permanent refusal (404, a wrong path) dead-letters the records instead of retrying forever', async (t) => {
  const dir = shortDir(t);
  const col = await startCollector(dir);
  t.teardown(() => col.stop());
  const ex = await startExporter(t, dir, {
    sinks: [{ name: 'otel', type: 'otlp', endpoint: `${col.endpoint}/v1/nothing-here`, retry: { initial: '50ms', max: '200ms', maxAttempts: 2 } }],
  });
  await send(ex.socket, range('lost', 50));
  await waitFor('dead letters', async () => (await metric(ex.metricsUrl, 'exporter_records_dead_lettered_total', { sink: 'otel' })) === 50, 60_000);
  t.equal(await metric(ex.metricsUrl, 'exporter_records_delivered_total', { sink: 'otel' }), 0);
  await col.stop();
  t.equal(logRecords(col.received()).length, 0, 'the collector got nothing');
});

t.test('a request refused for its size: halved until the oversized record stands alone; it is dead-lettered, the rest delivered', async (t) => {
  const dir = shortDir(t);
  const col = await startCollector(dir, { maxRequestBodySize: 32 * 1024 });
  t.teardown(() => col.stop());
  const ex = await startExporter(t, dir, {
    sinks: [{ name: 'otel', type: 'otlp', endpoint: col.endpoint, gzip: false, retry: { initial: '50ms', max: '200ms', maxAttempts: 2 } }],
  });
  const ids = range('big', 40);
  await send(ex.socket, ids, (id) => (id === 'big-17' ? { message: 'x'.repeat(64 * 1024) } : {}));
  await waitFor('settled', async () => (await metric(ex.metricsUrl, 'exporter_records_delivered_total', { sink: 'otel' })) === 39, 60_000);
  await waitFor('one dead letter', async () => (await metric(ex.metricsUrl, 'exporter_records_dead_lettered_total', { sink: 'otel' })) === 1, 60_000);
  await col.stop();
  const got = logRecords(col.received()).map(decisionIdOf);
  t.same(got, ids.filter((id) => id !== 'big-17'), 'every other record, once, in order');
});
