import t from 'tap';
import path from 'node:path';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { Secret } from '../src/config/secret.js';

t.test('inline, env and file sources', async (t) => {
  t.equal(await Secret.from('abc', 'k').value(), 'abc');
  t.equal(await Secret.from({ value: 'def' }, 'k').value(), 'def');
  t.equal(await Secret.from({ env: 'TOKEN' }, 'k', { env: { TOKEN: 'from-env' } }).value(), 'from-env');
  const dir = t.testdir({ tok: 'from-file\r\n\n' });
  t.equal(await Secret.from({ file: path.join(dir, 'tok') }, 'k').value(), 'from-file');
});

t.test('bad specs and missing sources name the key', async (t) => {
  t.throws(() => Secret.from({ env: 'NOPE_NOT_SET' }, 'sinks[a].bearerToken', { env: {} }), /sinks\[a\]\.bearerToken: environment variable NOPE_NOT_SET is not set/);
  t.throws(() => Secret.from({ nope: 1 } as never, 'sinks[a].password'), /sinks\[a\]\.password: expected/);
  await t.rejects(Secret.from({ file: '/nonexistent/x' }, 'k').load(), /cannot read secret file \/nonexistent\/x/);
});

t.test('a file secret follows rotation (atomic rename, as kubelet does) and survives a brief absence', async (t) => {
  const dir = t.testdir({ tok: 'one' });
  const file = path.join(dir, 'tok');
  const s = Secret.from({ file }, 'k', { refreshMs: 0 });
  t.equal(await s.value(), 'one');
  writeFileSync(path.join(dir, 'tok.new'), 'two-rotated');
  renameSync(path.join(dir, 'tok.new'), file);
  t.equal(await s.value(), 'two-rotated');
  rmSync(file);
  t.equal(await s.value(), 'two-rotated', 'last good value while the file is missing');
  const cached = Secret.from({ file: path.join(dir, 'other') }, 'k', { refreshMs: 60_000 });
  writeFileSync(path.join(dir, 'other'), 'a');
  t.equal(await cached.value(), 'a');
  writeFileSync(path.join(dir, 'other'), 'bb');
  t.equal(await cached.value(), 'a', 'not re-checked within refreshMs');
  cached.invalidate();
  t.equal(await cached.value(), 'bb', 'invalidate() forces a look');
});

t.test('never printed', async (t) => {
  const s = Secret.from('hunter2', 'k');
  t.equal(String(s), '[redacted]');
  t.equal(JSON.stringify({ s }), '{"s":"[redacted]"}');
  t.notMatch(inspect({ s }), /hunter2/);
  t.notMatch(`${s}`, /hunter2/);
  t.equal(Secret.from({ file: '/etc/tok' }, 'k').describe(), 'file /etc/tok');
});
