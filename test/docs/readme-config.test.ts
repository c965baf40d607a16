// The README's exporter configuration is what a newcomer copies first: it must be a config the exporter accepts.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../helpers/peers.js';
import { checkConfig, resolveConfig } from '../../exporter/src/config/load.js';

t.test('the README example config is accepted by the exporter', async (t) => {
  const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  const block = /```yaml\n(socket: [\s\S]*?)```/.exec(readme);
  t.ok(block, 'README has a yaml block starting with socket:');
  const { config: cfg, warnings } = checkConfig(parse(block![1]!));
  t.same(warnings, [], 'written with the current keys: no deprecation warning');
  t.same(
    cfg.sinks.map((s) => s.type),
    ['http', 'file', 'kafka', 'dapr', 'console', 'otlp'],
    'one sink of each type',
  );
});

t.test('a config with a wrong key is refused with the key named', async (t) => {
  t.throws(() => resolveConfig({ socket: '/tmp/x.sock', queue: { path: '/tmp/q.db', onFull: 'sometimes' }, sinks: [{ name: 'f', type: 'file', path: '/tmp/f' }] }), /queue\.onFull/);
});
