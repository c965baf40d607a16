// Config: bad configs refused at start naming the key; env vars and flags override the file; the embedded default.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Client, readNdjson, record, runCli, shortDir } from './helpers/exporter.js';
import { bins } from '../../test/helpers/peers.js';
import { start, waitFor } from '../../test/helpers/process.js';

const cases: [string, string, RegExp][] = [
  [
    'a bad sink URL',
    'socket: /tmp/x.sock\nqueue: {path: /tmp/x.db}\nsinks:\n  - {name: local, type: file, path: /tmp/x.ndjson}\n  - {name: web, type: http, url: "ftp:/nope"}\n',
    /sinks\[1\]\.url: must be a URL/,
  ],
  ['an unknown key', 'socket: /tmp/x.sock\nqueue: {path: /tmp/x.db, maxbytes: 10}\nsinks: [{name: l, type: file, path: /tmp/x}]\n', /queue\.maxbytes: is not a known key/],
  ['a bad size', 'socket: /tmp/x.sock\nqueue: {path: /tmp/x.db, maxBytes: lots}\nsinks: [{name: l, type: file, path: /tmp/x}]\n', /queue\.maxBytes: must be a size/],
  ['a bad policy', 'socket: /tmp/x.sock\nqueue: {path: /tmp/x.db, onFull: wait}\nsinks: [{name: l, type: file, path: /tmp/x}]\n', /queue\.onFull: must be one of "block", "drop-oldest"/],
  ['a missing socket', 'queue: {path: /tmp/x.db}\nsinks: [{name: l, type: file, path: /tmp/x}]\n', /socket: is required/],
  ['an unknown sink type', 'socket: /tmp/x.sock\nqueue: {path: /tmp/x.db}\nsinks: [{name: l, type: carrier-pigeon}]\n', /sinks\[0\]\.type: unknown sink type "carrier-pigeon"/],
  ['a sink missing its key', 'socket: /tmp/x.sock\nqueue: {path: /tmp/x.db}\nsinks: [{name: l, type: file}]\n', /sinks\[0\]\.path: is required/],
  [
    'duplicate sink names',
    'socket: /tmp/x.sock\nqueue: {path: /tmp/x.db}\nsinks: [{name: l, type: file, path: /tmp/a}, {name: l, type: file, path: /tmp/b}]\n',
    /sinks\[1\]\.name: "l" is used by another sink/,
  ],
  ['a bad retry', 'socket: /tmp/x.sock\nqueue: {path: /tmp/x.db}\nsinks: [{name: l, type: file, path: /tmp/a, retry: {multiplier: 0.5}}]\n', /sinks\[0\]\.retry\.multiplier: must be >= 1/],
  ['a bad metrics address', 'socket: /tmp/x.sock\nqueue: {path: /tmp/x.db}\nsinks: [{name: l, type: file, path: /tmp/a}]\nmetrics: {address: "localhost"}\n', /metrics\.address: must be host:port/],
  ['a bad pending bound', 'socket: /tmp/x.sock\nqueue: {path: /tmp/x.db}\ningest: {maxPendingBytes: 1Ki}\nsinks: [{name: l, type: file, path: /tmp/a}]\n', /ingest\.maxPendingBytes: must be at least 64Ki/],
  ['a bad validation mode', 'socket: /tmp/x.sock\nqueue: {path: /tmp/x.db}\ningest: {validate: strict}\nsinks: [{name: l, type: file, path: /tmp/a}]\n', /ingest\.validate: must be one of "basic", "full"/],
  ['invalid YAML', 'socket: [unclosed\n', /not valid YAML/],
];

t.test('bad configs are refused at start, naming the key and the reason', async (t) => {
  const dir = shortDir(t);
  for (const [label, yaml, want] of cases) {
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, yaml);
    const r = await runCli(['run', '--config', file]);
    t.equal(r.code, 2, `${label}: exit code 2`);
    t.match(r.out, want, label);
  }
  const r = await runCli(['run', '--config', path.join(dir, 'missing.yaml')]);
  t.match(r.out, /missing\.yaml: cannot read/);
  const json = path.join(dir, 'bad.json');
  fs.writeFileSync(json, JSON.stringify({ socket: '/tmp/x.sock', queue: { path: '/tmp/q.db' }, sinks: [] }));
  t.match((await runCli(['run', '--config', json])).out, /sinks: at least one sink is required/);
  const env = await runCli(['run', '--data-dir', dir], { EXPORTER_QUEUE_ON_FULL: 'sometimes' });
  t.match(env.out, /queue\.onFull: must be one of/, 'env values are validated like the file');
});

t.test('env vars override the file, flags override env; the embedded --data-dir default works end to end', async (t) => {
  const dir = shortDir(t);
  const cfg = path.join(dir, 'exporter.yaml');
  fs.writeFileSync(
    cfg,
    `socket: ${dir}/from-file.sock\nqueue:\n  path: ${dir}/from-file.db\nsinks:\n  - name: local\n    type: file\n    path: ${dir}/out.ndjson\n`,
  );
  const p = start(process.execPath, [bins.exporter, '--config', cfg, '--queue-path', `${dir}/from-flag.db`], {
    env: { ...process.env, EXPORTER_SOCKET: `${dir}/from-env.sock`, EXPORTER_QUEUE_PATH: `${dir}/from-env.db`, EXPORTER_LOG_LEVEL: 'debug' },
  });
  t.teardown(() => p.kill('SIGKILL'));
  await waitFor('socket from env', () => fs.existsSync(`${dir}/from-env.sock`), 30_000, 50);
  t.ok(fs.existsSync(`${dir}/from-flag.db`), 'queue path from the flag (over env and file)');
  t.notOk(fs.existsSync(`${dir}/from-file.sock`));
  t.notOk(fs.existsSync(`${dir}/from-env.db`));
  await p.kill('SIGTERM');

  const data = path.join(dir, 'data');
  const d = start(process.execPath, [bins.exporter, 'run', '--data-dir', data]);
  t.teardown(() => d.kill('SIGKILL'));
  await waitFor('embedded default socket', () => fs.existsSync(path.join(data, 'exporter.sock')), 30_000, 50);
  const c = await Client.connect(path.join(data, 'exporter.sock'));
  await c.write(record('embedded-1') + '\n');
  await c.waitAck(1);
  c.destroy();
  await waitFor('in decisions.ndjson', () => readNdjson(path.join(data, 'decisions.ndjson')).length === 1, 30_000, 100);
  t.equal(readNdjson(path.join(data, 'decisions.ndjson'))[0]!['decisionId'], 'embedded-1');
  t.notMatch(d.output(), /metrics listening/, 'no network listener unless metrics.address is set');
  const st = await runCli(['status', '--data-dir', data]);
  t.match(st.out, /^local\s+file\s+(?:up|down|not ready)\s+0\s/m);
  await d.kill('SIGTERM');
  t.equal(await d.exited, 0);
});
