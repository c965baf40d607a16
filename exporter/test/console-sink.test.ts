// The console sink in the real exporter binary: N records in, exactly N record lines on its standard output (ndjson and
// text), log lines apart; a closed standard output fails the sends (retryable) and never crashes the exporter.
import t from 'tap';
import { Client, metric, record, runCli, shortDir, startExporter, type RunningProc } from './helpers/exporter.js';
import { waitFor } from '../../test/helpers/process.js';

const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

async function send(socket: string, ids: string[], extra: Record<string, unknown> = {}): Promise<void> {
  const c = await Client.connect(socket);
  for (let i = 0; i < ids.length; i += 250) await c.write(ids.slice(i, i + 250).map((id) => record(id, extra) + '\n').join(''));
  await c.waitAck(ids.length, 60_000);
  c.destroy();
}

/** Complete lines the process wrote to its standard output so far. */
function stdoutLines(ex: RunningProc): () => string[] {
  let text = '';
  ex.proc.child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  return () => text.split('\n').slice(0, -1);
}

t.test('ndjson: exactly N record lines on stdout, each the committed record', async (t) => {
  const dir = shortDir(t);
  const ex = await startExporter(t, dir, { sinks: [{ name: 'out', type: 'console', batch: { maxRecords: 300 } }] });
  const lines = stdoutLines(ex);
  const ids = range('c', 2000);
  await send(ex.socket, ids, { allowed: false, resourceKind: 'Pod', resourceNamespace: 'team-a', resourceName: 'web' });
  await waitFor('all delivered', async () => (await metric(ex.metricsUrl, 'exporter_records_delivered_total', { sink: 'out' })) === ids.length, 60_000);
  const parsed = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  const records = parsed.filter((p) => p['svc'] !== 'exporter');
  const logs = parsed.filter((p) => p['svc'] === 'exporter');
  t.equal(records.length + logs.length, parsed.length);
  t.equal(records.length, ids.length, 'exactly one line per record');
  t.same(records.map((r) => r['decisionId']), ids, 'in order, none lost, none twice');
  t.same(records[0], { decisionId: 'c-0', eventType: 'admission_decision', timestamp: '2026-11-24T10:00:00Z', allowed: false, resourceKind: 'Pod', resourceNamespace: 'team-a', resourceName: 'web', schemaVersion: '1' });
});

t.test('text: one readable line per record', async (t) => {
  const dir = shortDir(t);
  const ex = await startExporter(t, dir, { sinks: [{ name: 'out', type: 'console', format: 'text' }] });
  const lines = stdoutLines(ex);
  const ids = range('txt', 500);
  await send(ex.socket, ids, { allowed: false, operation: 'CREATE', resourceKind: 'Pod', resourceNamespace: 'team-a', resourceName: 'web' });
  await waitFor('all delivered', async () => (await metric(ex.metricsUrl, 'exporter_records_delivered_total', { sink: 'out' })) === ids.length, 60_000);
  const text = lines().filter((l) => !l.startsWith('{'));
  t.equal(text.length, ids.length, 'exactly one line per record');
  t.same(text.map((l) => /decisionId=(\S+)$/.exec(l)?.[1]), ids);
  t.equal(text[0], '2026-11-24T10:00:00Z WARN admission_decision denied CREATE Pod team-a/web decisionId=txt-0');
});

t.test('stdout closed: sends fail as retryable, nothing counted delivered, the exporter keeps running', async (t) => {
  const dir = shortDir(t);
  const ex = await startExporter(t, dir, { sinks: [{ name: 'out', type: 'console', retry: { initial: '50ms', max: '200ms' } }] });
  ex.proc.child.stdout!.destroy(); // the reader is gone: the next write gets EPIPE
  const ids = range('pipe', 300);
  await send(ex.socket, ids);
  await waitFor('failed attempts', async () => (await metric(ex.metricsUrl, 'exporter_delivery_failures_total', { sink: 'out' })) >= 3, 60_000);
  t.equal(ex.proc.child.exitCode, null, 'still running');
  t.equal(await metric(ex.metricsUrl, 'exporter_records_delivered_total', { sink: 'out' }), 0, 'nothing delivered');
  t.equal(await metric(ex.metricsUrl, 'exporter_queue_depth', { sink: 'out' }), ids.length, 'every record still queued');
  t.equal(await metric(ex.metricsUrl, 'exporter_sink_up', { sink: 'out' }), 0);
  const st = await runCli(['status', '--queue', ex.queuePath, '-o', 'json']);
  const out = (JSON.parse(st.out) as { sinks: { sink: string; lastError: string | null }[] }).sinks.find((s) => s.sink === 'out');
  t.match(out?.lastError, /^stdout: .*(EPIPE|destroyed|closed)/, 'the cause is on record');
});
