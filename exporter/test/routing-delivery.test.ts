// Routing belongs to delivery (issue 14, item 3): the exporter started from its configuration alone, through the
// package's API (startExporter(cfg, log), no transform passed in), applies each sink's filter and redaction.
import t from 'tap';
import path from 'node:path';
import pino from 'pino';
import { resolveConfig, startExporter } from '../src/index.js';
import { Client, readNdjson, record, shortDir } from './helpers/exporter.js';
import { waitFor } from '../../test/helpers/process.js';

t.test('startExporter(cfg) applies a sink filter and redaction; an unfiltered sink gets everything as stored', async (t) => {
  const dir = shortDir(t);
  const denied = path.join(dir, 'denied.ndjson');
  const all = path.join(dir, 'all.ndjson');
  const cfg = resolveConfig({
    socket: path.join(dir, 'exporter.sock'),
    queue: { path: path.join(dir, 'queue.db') },
    sinks: [
      {
        name: 'denied',
        type: 'file',
        path: denied,
        filter: { enforcementActions: ['deny'] },
        redact: [{ path: '/requestUsername', action: 'replace' }],
      },
      { name: 'all', type: 'file', path: all },
    ],
  });
  const ex = await startExporter(cfg, pino({ level: 'silent' }));
  t.teardown(() => ex.stop());
  const c = await Client.connect(cfg.socket);
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
