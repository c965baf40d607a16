// Routing belongs to delivery (issue 14, item 3): the exporter started from its configuration alone, through the
// package's API (startExporter(cfg, log), no transform passed in), applies each sink's filter and redaction.
import t, { type Test } from 'tap';
import path from 'node:path';
import pino from 'pino';
import { resolveConfig, startExporter } from '../src/index.js';
import { Client, readNdjson, record, shortDir } from './helpers/exporter.js';
import { waitFor } from '../../test/helpers/process.js';
import { openSqlite } from '../src/queue/sqlite.js';

/** An exporter started through the package's API on these sinks (their paths inside dir), a client to it, its log lines. */
async function started(t: Test, dir: string, sinks: object[]) {
  const cfg = resolveConfig({ socket: path.join(dir, 'exporter.sock'), queue: { path: path.join(dir, 'queue.db') }, sinks });
  const logs: Record<string, unknown>[] = [];
  const ex = await startExporter(cfg, pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }));
  t.teardown(() => ex.stop());
  return { ex, logs, client: await Client.connect(cfg.socket) };
}

t.test('startExporter(cfg) applies a sink filter and redaction; an unfiltered sink gets everything as stored', async (t) => {
  const dir = shortDir(t);
  const denied = path.join(dir, 'denied.ndjson');
  const all = path.join(dir, 'all.ndjson');
  const { ex, client: c } = await started(t, dir, [
    { name: 'denied', type: 'file', path: denied, filter: { enforcementActions: ['deny'] }, redact: [{ path: '/requestUsername', action: 'replace' }] },
    { name: 'all', type: 'file', path: all },
  ]);
  const lines = Array.from({ length: 30 }, (_, i) =>
    record(`r-${i}`, { enforcementAction: i % 3 === 0 ? 'deny' : 'warn', requestUsername: 'alice' }),
  );
  await c.write(lines.map((l) => l + '\n').join(''));
  await c.waitAck(30);
  c.destroy();
  await waitFor('all delivered', () => readNdjson(all).length === 30 && readNdjson(denied).length === 10, 30_000, 50);
  const got = readNdjson(denied);
  t.same(got.map((r) => r['decisionId']), Array.from({ length: 10 }, (_, i) => `r-${i * 3}`), 'only the deny records, in order');
  t.ok(got.every((r) => r['requestUsername'] === '[redacted]'), 'the user name is redacted in every one');
  t.same(got[0]!['masked'], ['/requestUsername'], 'and listed as masked');
  t.ok(readNdjson(all).every((r) => r['requestUsername'] === 'alice'), 'the sink without routing gets the records as stored');
  await waitFor('filtered counted', async () => (await ex.metrics.registry.getSingleMetricAsString('exporter_records_filtered_total')).includes('sink="denied"} 20'));
  t.match(await ex.metrics.registry.getSingleMetricAsString('exporter_records_filtered_total'), /sink="denied"} 20/, '20 left out by the filter');
});

t.test('ingest stores what the filters read with each record (facts), and the sinks route on them: the same records out', async (t) => {
  const dir = shortDir(t);
  const teamA = path.join(dir, 'team-a.ndjson');
  const { client: c, logs } = await started(t, dir, [
    {
      name: 'team-a',
      type: 'file',
      path: teamA,
      filter: { namespaces: ['team-a'], exclude: { namespaceLabels: { tier: ['test'] } } },
      redact: [{ path: '/requestUsername', action: 'replace', when: { resourceKinds: ['Secret'] } }],
    },
    // Never delivers (nothing listens there): every record stays in the queue, to be read back below.
    { name: 'held', type: 'http', url: 'http://127.0.0.1:1/never', retry: { initial: '1s', max: '1s', maxAttempts: 1000 } },
  ]);
  const lines = Array.from({ length: 40 }, (_, i) =>
    record(`r-${i}`, {
      resourceNamespace: i % 2 ? 'team-a' : 'team-b',
      resourceName: `o-${i}`,
      resourceKind: i % 4 === 1 ? 'Secret' : 'ConfigMap',
      namespaceLabels: i % 8 === 5 ? { tier: 'test' } : { tier: 'prod' },
      requestUsername: 'alice',
    }),
  );
  await c.write(lines.map((l) => l + '\n').join(''));
  await c.waitAck(40);
  c.destroy();
  await waitFor('team-a delivered', () => readNdjson(teamA).length === 15, 30_000, 50);
  const got = readNdjson(teamA);
  const expected = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 2 === 1 && i % 8 !== 5);
  t.same(got.map((r) => r['decisionId']), expected.map((i) => `r-${i}`), 'team-a records without the test tier, in order');
  t.same(got.map((r) => r['requestUsername']), expected.map((i) => (i % 4 === 1 ? '[redacted]' : 'alice')), 'the user name redacted on Secrets only');
  const db = openSqlite(path.join(dir, 'queue.db'), { readonly: true, fileMustExist: true });
  t.teardown(() => db.close());
  const rows = db.prepare('SELECT facts FROM records ORDER BY last_seq').all() as { facts: string | null }[];
  const facts = rows.flatMap((r) => JSON.parse(r.facts!) as unknown[]);
  t.equal(facts.length, 40, 'every record stored with its facts');
  const said = logs.find((l) => String(l['msg']).includes('routing facts'));
  t.same([said?.['criteria'], said?.['namespaceLabels']], [['namespaces', 'resourceKinds'], ['tier']], 'the log says which facts ingest stores');
  t.same(facts[1], { namespaces: ['team-a'], resourceKinds: ['Secret'], namespaceLabels: { tier: 'prod' } }, 'what the filter and the redaction read, and no more');
});
