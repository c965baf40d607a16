// The file sink on a real filesystem: ndjson append, size-based rotation, torn-tail repair, fsync before send() resolves.
import t from 'tap';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { byStampThenAttempt, createSink, rotatedName, type FileSinkConfig } from '../src/sinks/file/sink.js';
import { resolveSinkConfig } from '../src/config/resolve.js';

/** A file sink from its keys as the config file writes them, called as the delivery worker calls a Sink (FileSink's own start() and send() take no signal). */
const fileSink = (cfg: Record<string, unknown>): Sink => createSink(resolveSinkConfig<FileSinkConfig>({ type: 'file', ...cfg }));
import { SinkError, type OutgoingRecord, type Sink } from '../src/sinks/sink.js';

const never = new AbortController().signal;

function records(n: number, from = 1, pad = 0): OutgoingRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const seq = from + i;
    const decisionId = `id-${seq}`;
    return { seq, decisionId, eventType: 'violation_audited', json: JSON.stringify({ decisionId, n: seq, pad: 'x'.repeat(pad) }) };
  });
}
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).n as number);

t.test('appends ndjson, and continues the same file after a restart', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'sub', 'decisions.ndjson');
  const s = fileSink({ name: 'local', type: 'file', path: file });
  await s.start(never);
  t.same(s.health(), { ready: true });
  await s.send(records(3), never);
  t.same(lines(file), [1, 2, 3], 'the data is in the file when send() resolves');
  await s.close();
  t.equal((statSync(file).mode & 0o777).toString(8), '640');

  const s2 = fileSink({ name: 'local', type: 'file', path: file });
  await s2.start(never);
  await s2.send(records(2, 4), never);
  await s2.close();
  t.same(lines(file), [1, 2, 3, 4, 5]);
  t.ok(readFileSync(file, 'utf8').endsWith('}\n'));
});

t.test('rotates by size, keeps maxFiles rotated files, order preserved across files', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'decisions.ndjson');
  const one = records(1, 1, 50)[0]!.json.length + 1;
  const s = fileSink({ name: 'local', type: 'file', path: file, maxBytes: one * 10, maxFiles: 3 });
  t.teardown(() => s.close());
  await s.start(never);
  for (let b = 0; b < 10; b++) await s.send(records(7, 1 + b * 7, 50), never); // 70 records: 7 files' worth
  const rotated = readdirSync(dir).filter((f) => f !== 'decisions.ndjson').sort(byStampThenAttempt); // as the sink orders them: a second rotation in the same millisecond is name-1
  t.equal(rotated.length, 3, `maxFiles rotated files kept: ${rotated.join(', ')}`);
  for (const f of rotated) t.match(f, /^decisions\.\d{8}T\d{9}Z(-\d+)?\.ndjson$/);
  for (const f of [...rotated, 'decisions.ndjson']) t.ok(statSync(path.join(dir, f)).size <= one * 10, `${f} within maxBytes`);
  const all = [...rotated.map((f) => path.join(dir, f)), file].flatMap(lines);
  t.equal(all.at(-1), 70, 'ends with the newest record');
  t.ok(all[0]! > 1, `the oldest files were pruned (now starts at ${all[0]})`);
  t.same(all, Array.from({ length: all.length }, (_, i) => all[0]! + i), 'contiguous and in order across files');
});

t.test('a record larger than maxBytes gets a file of its own', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'd.ndjson');
  const s = fileSink({ name: 'local', type: 'file', path: file, maxBytes: '200B', maxFiles: 10 });
  t.teardown(() => s.close());
  await s.send([...records(1, 1), ...records(1, 2, 500), ...records(1, 3)], never);
  const files = readdirSync(dir).filter((f) => f !== 'd.ndjson').sort(byStampThenAttempt);
  t.same(files.map((f) => lines(path.join(dir, f))), [[1], [2]]);
  t.same(lines(file), [3]);
});

t.test('a partial last line left by a crash is cut off at start', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'd.ndjson');
  writeFileSync(file, records(2).map((r) => r.json + '\n').join('') + '{"decisionId":"id-3","n":3,"pa');
  const s = fileSink({ name: 'local', type: 'file', path: file });
  t.teardown(() => s.close());
  await s.start(never);
  await s.send(records(2, 3), never);
  t.same(lines(file), [1, 2, 3, 4]);

  const only = path.join(dir, 'torn-only.ndjson');
  appendFileSync(only, '{"no newline at all"');
  const s2 = fileSink({ name: 'x', type: 'file', path: only });
  t.teardown(() => s2.close());
  await s2.send(records(1), never);
  t.same(lines(only), [1]);
});

t.test('an unwritable path: unhealthy at start, retryable SinkError on send', async (t) => {
  const dir = t.testdir({ 'plain-file': 'x' });
  const s = fileSink({ name: 'bad', type: 'file', path: path.join(dir, 'plain-file', 'd.ndjson') });
  await s.start(never);
  t.equal(s.health().ready, false);
  t.match(s.health().detail, /EEXIST|ENOTDIR|not a directory/);
  try {
    await s.send(records(1), never);
    t.fail('send should throw');
  } catch (e) {
    t.type(e, SinkError);
    t.equal((e as SinkError).retryable, true);
    t.match((e as Error).message, /plain-file/);
  }
});

t.test('config errors name the key', async (t) => {
  t.throws(() => fileSink({ name: 'f', type: 'file', path: '' }), /sinks\[f\]\.path/);
  t.throws(() => fileSink({ name: 'f', type: 'file', path: '/tmp/x', maxBytes: 'big' }), /sinks\[f\]\.maxBytes/);
  t.throws(() => fileSink({ name: 'f', type: 'file', path: '/tmp/x', maxFiles: -1 }), /sinks\[f\]\.maxFiles/);
  t.throws(() => fileSink({ name: 'f', type: 'file', path: '/tmp/x', mode: '0999' }), /sinks\[f\]\.mode/);
});

t.test('rotated names sort by time', async (t) => {
  t.equal(rotatedName('/v/decisions.ndjson', new Date('2026-11-24T10:58:00.123Z')), '/v/decisions.20261124T105800123Z.ndjson');
  t.equal(rotatedName('/v/log', new Date('2026-11-24T10:58:00.123Z'), 2), '/v/log.20261124T105800123Z-2');
});

const hasStrace = spawnSync('strace', ['-V']).status === 0;
t.test('fsync reaches the file before send() resolves (observed with strace)', { skip: hasStrace ? false : 'strace not installed' }, async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'd.ndjson');
  const here = path.dirname(fileURLToPath(import.meta.url));
  const script = path.join(dir, 'child.ts');
  writeFileSync(
    script,
    `import { createSink } from ${JSON.stringify(path.join(here, '../src/sinks/file/sink.ts'))};
import { resolveSinkConfig } from ${JSON.stringify(path.join(here, '../src/config/resolve.ts'))};
const s = createSink(resolveSinkConfig({ name: 'f', type: 'file', path: ${JSON.stringify(file)} }));
await s.start(new AbortController().signal);
await s.send([{ seq: 1, decisionId: 'a', eventType: 'x', json: '{"decisionId":"a"}' }], new AbortController().signal);
process.stdout.write('SEND-RESOLVED\\n');
await s.close();
`,
  );
  // -y prints each fd's path; -f follows libuv's threadpool, whose calls may be split into "<unfinished ...>" and
  // "<... fsync resumed>" lines: the resumed line is when the call returned.
  const out = execFileSync('strace', ['-f', '-qq', '-y', '-e', 'trace=write,pwrite64,writev,fsync,fdatasync', '-o', path.join(dir, 'trace'),
    process.execPath, '--import', 'tsx', script], { cwd: path.join(here, '..', '..'), encoding: 'utf8' });
  t.match(out, /SEND-RESOLVED/);
  const trace = readFileSync(path.join(dir, 'trace'), 'utf8').split('\n');
  const onFile = (call: string) => new RegExp(`^(\\d+)\\s+${call}\\(\\d+<[^>]*d\\.ndjson>`);
  const dataWrite = trace.findIndex((l) => onFile('(write|pwrite64|writev)').test(l) && l.includes('decisionId'));
  const syncStart = trace.findIndex((l) => onFile('f(data)?sync').test(l));
  t.ok(dataWrite >= 0, 'the record was written to the file');
  t.ok(syncStart > dataWrite, `fsync after the write (write at line ${dataWrite}, fsync at ${syncStart})`);
  let syncDone = syncStart;
  if (syncStart >= 0 && trace[syncStart]!.includes('<unfinished')) {
    const pid = onFile('f(data)?sync').exec(trace[syncStart]!)![1];
    syncDone = trace.findIndex((l, i) => i > syncStart && new RegExp(`^${pid}\\s+<\\.\\.\\. f(data)?sync resumed>`).test(l));
  }
  t.match(trace[syncDone] ?? '', /= 0\s*$/, 'fsync succeeded');
  const resolved = trace.findIndex((l) => /write\(1(<[^>]*>)?, "SEND-RESOLVED/.test(l));
  t.ok(resolved > syncDone, `send() resolved after fsync returned (fsync done at line ${syncDone}, resolved at ${resolved})`);
});
