// The config resolved once: defaults filled in from the schemas, durations and sizes as strings with the old forms
// accepted with a warning naming the new key, every problem named by its key, secrets redacted when printed.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { checkConfig, ConfigError, resolveSinkConfig } from '../src/config/resolve.js';
import { formatDuration, formatSize } from '../src/config/units.js';
import { printableConfig } from '../src/cli/config-commands.js';
import type { HttpSinkConfig } from '../src/sinks/http/config.js';
import { runCli, shortDir } from './helpers/exporter.js';
import { exporterConfigSchema } from '../src/config/full-schema.js';
import { formatErrors, validatorFor } from '../src/config/validate.js';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const base = { socket: '/tmp/x.sock', queue: { path: '/tmp/x.db' }, sinks: [{ name: 'f', type: 'file', path: '/tmp/f' }] };

function problems(raw: unknown): string[] {
  try {
    checkConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

t.test('an empty config gets every default, resolved to ms and bytes', async (t) => {
  const { config, effective, warnings } = checkConfig(base);
  t.same(warnings, []);
  t.equal(config.ingest.batchLingerMs, 25);
  t.equal(config.ingest.idleTimeoutMs, 600_000);
  t.equal(config.ingest.maxPartialBytes, 32 * 1024 ** 2);
  t.equal(config.queue.maxBytes, 1024 ** 3);
  t.equal(config.queue.maxAgeMs, 0);
  t.equal(config.shutdownTimeoutMs, 10_000);
  t.equal(config.socketMode, 0o660);
  t.same(config.sinks[0]!.batch, { maxRecords: 1000, maxBytes: 4 * 1024 ** 2, lingerMs: 50 });
  t.same(config.sinks[0]!.retry, { initialMs: 200, multiplier: 2, maxMs: 30_000, jitter: 0.2, maxAttempts: 5 });
  t.match(config.sinks[0], { maxBytes: 100 * 1024 ** 2, maxFiles: 5, fsync: true });
  t.match(effective, { ingest: { batchLinger: '25ms', idleTimeout: '10m' }, queue: { maxBytes: '1Gi' }, shutdownTimeout: '10s' }, 'the effective config is in the file form');
  t.match((effective['sinks'] as unknown[])[0], { batch: { linger: '50ms', maxBytes: '4Mi' }, retry: { initial: '200ms', max: '30s' } });
});

t.test('the …Ms keys and bare numbers still work, each with a warning naming what to write', async (t) => {
  const { config, warnings } = checkConfig({
    ...base,
    queue: { path: '/tmp/x.db', maxBytes: 1048576 },
    ingest: { batchLingerMs: 5 },
    sinks: [{ name: 'w', type: 'http', url: 'http://127.0.0.1:1/', timeouts: { connectMs: 2000 }, retry: { initialMs: 100, maxMs: '1m' }, batch: { lingerMs: 20 } }],
  });
  t.equal(config.queue.maxBytes, 1048576);
  t.equal(config.ingest.batchLingerMs, 5);
  const w = config.sinks[0] as unknown as HttpSinkConfig & { retry: { initialMs: number; maxMs: number } };
  t.same(w.timeouts, { connectMs: 2000, requestMs: 30_000 });
  t.same([w.retry.initialMs, w.retry.maxMs, config.sinks[0]!.batch.lingerMs], [100, 60_000, 20]);
  t.same(warnings.sort(), [
    'ingest.batchLingerMs is deprecated: write ingest.batchLinger: 5ms',
    'queue.maxBytes: a bare number is deprecated: write queue.maxBytes: 1Mi',
    'sinks[0].batch.lingerMs is deprecated: write sinks[0].batch.linger: 20ms',
    'sinks[0].retry.initialMs is deprecated: write sinks[0].retry.initial: 100ms',
    'sinks[0].retry.maxMs is deprecated: write sinks[0].retry.max: 1m',
    'sinks[0].timeouts.connectMs is deprecated: write sinks[0].timeouts.connect: 2s',
  ]);
});

t.test('every problem at once, each naming its key', async (t) => {
  const p = problems({
    socket: '/tmp/x.sock',
    queue: { path: '/tmp/x.db', maxBytes: '1Ki', maxAge: 'soon' },
    ingest: { batchLinger: '3ms', batchLingerMs: 4 },
    sinks: [
      { name: 'w', type: 'http', url: 'http://x', timeouts: { request: '0s' } },
      { name: 'k', type: 'kafka', brokers: ['a:1'], topic: 't', maxBytesPerRequest: '10B', requestTimeout: 30 },
      { name: 'd', type: 'dapr', component: 'p', readinessInterval: 'often' },
      { name: 'd2', type: 'dapr', component: 'p', readinessInterval: '5ms' },
    ],
  });
  t.same(p.sort(), [
    'ingest.batchLinger: also given under its deprecated name batchLingerMs; keep only batchLinger',
    'queue.maxAge: must be a duration: a number with a unit (ms, s, m, h, d), e.g. "250ms", "30s", "7d"',
    'queue.maxBytes: must be at least 4Ki',
    'sinks[0].timeouts.request: must be at least 1ms',
    'sinks[1].maxBytesPerRequest: must be at least 1Ki',
    'sinks[2].readinessInterval: must be a duration: a number with a unit (ms, s, m, h, d), e.g. "250ms", "30s", "7d"',
    'sinks[3].readinessInterval: must be at least 10ms',
  ]);
});

t.test('one sink resolved alone names its key by the sink name', async (t) => {
  const cfg = resolveSinkConfig<HttpSinkConfig>({ name: 'web', type: 'http', url: 'http://127.0.0.1:1/', batch: { maxBytes: '1Mi' } });
  t.match(cfg, { method: 'POST', format: 'ndjson', gzip: false, errorBodyBytes: 512, batch: { maxRecords: 1000, maxBytes: 1024 ** 2 } });
  t.throws(() => resolveSinkConfig({ name: 'web', type: 'http', url: 'http://x', gzip: 'yes' }), /sinks\[web\]\.gzip: must be boolean/);
});

t.test('the units round-trip: what a warning suggests reads back to the same value', async (t) => {
  for (const ms of [0, 1, 250, 1000, 1500, 60_000, 600_000, 3_600_000, 86_400_000 * 7]) {
    t.equal(checkConfig({ ...base, shutdownTimeout: formatDuration(ms) }).config.shutdownTimeoutMs, ms, formatDuration(ms));
  }
  for (const bytes of [4096, 65_536, 900_000, 1024 ** 2, 3 * 1024 ** 3]) {
    t.equal(checkConfig({ ...base, queue: { path: '/q', maxBytes: formatSize(bytes) } }).config.queue.maxBytes, bytes, formatSize(bytes));
  }
});

t.test('printed, inline secrets are redacted; files and variables named', async (t) => {
  const { effective } = checkConfig({
    ...base,
    sinks: [
      { name: 'w', type: 'http', url: 'http://x', bearerToken: 'tok-123', headers: { 'x-a': { value: 'val-456' }, 'x-b': { file: '/run/b' } } },
      { name: 'k', type: 'kafka', brokers: ['a:1'], topic: 't', sasl: { mechanism: 'plain', username: 'user', password: { env: 'KAFKA_PW' } } },
    ],
  });
  const text = JSON.stringify(printableConfig(effective));
  t.notMatch(text, /tok-123|val-456|"user"/);
  t.match(printableConfig(effective), { sinks: [{ bearerToken: '[redacted]', headers: { 'x-a': { value: '[redacted]' }, 'x-b': { file: '/run/b' } } }, { sasl: { password: { env: 'KAFKA_PW' } } }] });
});

t.test('exporter config check and config defaults', async (t) => {
  const dir = shortDir(t);
  const file = path.join(dir, 'c.yaml');
  fs.writeFileSync(file, `socket: ${dir}/x.sock\nqueue: {path: ${dir}/q.db}\ningest: {batchLingerMs: 10}\nsinks: [{name: w, type: http, url: "http://127.0.0.1:1/", bearerToken: s3cret}]\n`);
  const ok = await runCli(['config', 'check', file]);
  t.equal(ok.code, 0);
  t.match(ok.out, /warning: ingest\.batchLingerMs is deprecated: write ingest\.batchLinger: 10ms/);
  t.match(ok.out, /ok, 1 sink, 1 deprecation warnings/);
  const shown = await runCli(['config', 'defaults', '--config', file, '-o', 'json']);
  t.equal(shown.code, 0);
  const printed = JSON.parse(shown.out.slice(shown.out.indexOf('{')));
  t.match(printed, { ingest: { batchLinger: '10ms', maxPartialBytes: '32Mi' }, sinks: [{ bearerToken: '[redacted]', timeouts: { request: '30s' } }] });
  t.notMatch(shown.out, /s3cret/);
  const yaml = await runCli(['config', 'defaults', '--data-dir', dir]);
  t.match(parse(yaml.out), { sinks: [{ type: 'file', maxBytes: '100Mi' }] }, 'the embedded default, as YAML');
  fs.writeFileSync(file, 'socket: /tmp/x.sock\nqueue: {path: /tmp/q.db, maxAge: soon}\nsinks: [{name: f, type: file, path: /tmp/f}]\n');
  const bad = await runCli(['config', 'check', file]);
  t.equal(bad.code, 2);
  t.match(bad.out, /queue\.maxAge: must be a duration/);
});

t.test('the whole-file schema in proto-docs is generated (exporter/scripts/gen-schema.mjs) and agrees with the loader', async (t) => {
  const schema = exporterConfigSchema();
  t.equal(fs.readFileSync(path.join(repo, 'proto-docs/schema/exporter-config.schema.json'), 'utf8'), JSON.stringify(schema, null, 2) + '\n');
  const readme = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');
  const example = parse(/```yaml\n(socket: [\s\S]*?)```/.exec(readme)![1]!);
  const validate = validatorFor(schema);
  t.ok(validate(structuredClone(example)), `the README example is valid: ${formatErrors('', validate.errors).join('; ')}`);
  const bad = { ...base, sinks: [{ name: 'k', type: 'kafka', brokers: ['a:1'], topic: 't', lingerMs: 5 }] };
  t.notOk(validate(bad));
  t.match(formatErrors('', validate.errors), ['sinks[0].lingerMs: is not a known key']);
});
