// The queue's files on disk (issue 10, defects 6-8): private modes; a truncated, missing or damaged queue refused at
// start with the file and the way out; `exporter queue check|recover`; operations output piped into `head`; `status`
// saying why ingest is held back; the `sink` key once per log line.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Client, Receiver, quickRetry, record, runCli, shortDir, startExporter } from './helpers/exporter.js';
import { bins } from '../../test/helpers/peers.js';
import { freePort } from '../../test/helpers/ports.js';
import { waitFor } from '../../test/helpers/process.js';
import { perRecordQueueFile } from './helpers/per-record-queue.js';

const range = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}-${i}`);
const mode = (f: string) => (fs.statSync(f).mode & 0o777).toString(8);

async function send(socket: string, lines: string[]): Promise<void> {
  const c = await Client.connect(socket);
  for (let i = 0; i < lines.length; i += 500) await c.write(lines.slice(i, i + 500).join('\n') + '\n');
  await c.waitAck(lines.length, 60_000);
  c.destroy();
}

/** A queue of n undelivered records (the sink is down), the exporter stopped; returns the config to start it again. */
async function queueOf(t: Test, dir: string, n: number) {
  const port = await freePort();
  const cfg = {
    queue: { path: path.join(dir, 'data', 'queue.db') },
    sinks: [{ name: 'web', type: 'http', url: `http://127.0.0.1:${port}/ingest`, retry: quickRetry, batch: { maxRecords: 500 } }],
  };
  const ex = await startExporter(t, dir, cfg);
  await send(ex.socket, range('r', n).map((id) => record(id, { pad: 'x'.repeat(300) })));
  return { ex, cfg, port, queue: cfg.queue.path };
}

t.test('the data directory and every queue file are private to the exporter user', async (t) => {
  const dir = shortDir(t);
  const { ex, cfg, queue } = await queueOf(t, dir, 100);
  t.equal(mode(path.dirname(queue)), '700', 'data directory');
  for (const f of [queue, `${queue}-wal`, `${queue}-shm`, `${queue}.lock`, `${queue}.id`, `${queue}.reserve`]) t.equal(mode(f), '600', path.basename(f));
  await ex.proc.kill('SIGTERM');
  // A queue an older version left readable by others is narrowed at the next start.
  fs.chmodSync(queue, 0o644);
  const again = await startExporter(t, dir, cfg);
  t.equal(mode(queue), '600', 'narrowed on start');
  t.equal(mode(`${queue}-wal`), '600');
  await again.proc.kill('SIGTERM');
});

t.test('a queue truncated to 0 bytes, or missing, is refused while its marker says it existed; recover --fresh starts anew', async (t) => {
  const dir = shortDir(t);
  const { ex, cfg, queue } = await queueOf(t, dir, 2000);
  await ex.proc.kill('SIGTERM');
  fs.truncateSync(queue, 0);
  const refused = await runCli(['run', '--config', ex.cfgFile]);
  t.equal(refused.code, 1);
  t.match(refused.out, `the queue ${queue} is empty (0 bytes), but ${queue}.id says a queue`);
  t.match(refused.out, `exporter queue recover --queue ${queue}`);
  const check = await runCli(['queue', 'check', '--queue', queue]);
  t.equal(check.code, 1);
  t.match(check.out, /damaged\n.*empty \(0 bytes\)/);
  const salvage = await runCli(['queue', 'recover', '--queue', queue]);
  t.equal(salvage.code, 1, 'nothing to salvage in an empty file');
  t.match(salvage.out, /nothing to salvage: .* is empty \(0 bytes\).*--fresh/);

  fs.rmSync(queue);
  const missing = await runCli(['run', '--config', ex.cfgFile]);
  t.equal(missing.code, 1);
  t.match(missing.out, `the queue ${queue} is missing, but ${queue}.id says a queue`);

  const fresh = await runCli(['queue', 'recover', '--queue', queue, '--fresh']);
  t.equal(fresh.code, 0, fresh.out);
  t.match(fresh.out, /the exporter starts an empty queue/);
  const next = await startExporter(t, dir, cfg);
  t.pass('starts on an empty queue once told to');
  await next.proc.kill('SIGTERM');
});

t.test('a damaged queue: refused with the file and the steps; recover salvages what SQLite can read, delivered', async (t) => {
  const dir = shortDir(t);
  const { ex, cfg, port, queue } = await queueOf(t, dir, 5000);
  await ex.proc.kill('SIGTERM');
  const original = range('r', 5000);
  // Garbage over one 64 KiB page in the middle of the records.
  const fd = fs.openSync(queue, 'r+');
  const size = fs.fstatSync(fd).size;
  fs.writeSync(fd, Buffer.alloc(65536, 0xa5), 0, 65536, Math.floor(size / 2 / 65536) * 65536);
  fs.closeSync(fd);
  const check = await runCli(['queue', 'check', '--queue', queue]);
  t.equal(check.code, 1, 'check finds it');
  t.match(check.out, `${queue}: damaged`);

  const r = await runCli(['queue', 'recover', '--queue', queue, '-o', 'json']);
  t.equal(r.code, 0, r.out);
  const res = JSON.parse(r.out) as { salvaged: Record<string, number>; movedAside: string[] };
  const salvaged = res.salvaged['records']!;
  t.ok(salvaged > 0 && salvaged < 5000, `salvaged ${salvaged} of 5000 records`);
  t.equal(res.salvaged['sinks'], 1, 'the sink cursor');
  t.ok(fs.existsSync(res.movedAside[0]!), 'the damaged file is kept aside');
  t.equal((await runCli(['queue', 'check', '--queue', queue])).code, 0, 'the new file checks ok');

  const rx = await Receiver.start(t, 'ok', port);
  const again = await startExporter(t, dir, cfg);
  await waitFor('salvaged records delivered', () => rx.records.length >= salvaged, 60_000, 100);
  await new Promise((r) => setTimeout(r, 300));
  const got = rx.ids();
  t.equal(got.length, salvaged, 'exactly the salvaged records delivered');
  t.same(got, original.filter((id) => got.includes(id)), 'in their original order, all from the queue');
  await again.proc.kill('SIGTERM');

  // A file SQLite cannot read at all: the start error names it and the recovery steps.
  fs.writeFileSync(queue, 'this is not a database'.repeat(100));
  const bad = await runCli(['run', '--config', again.cfgFile]);
  t.equal(bad.code, 1);
  t.match(bad.out, `the queue ${queue} is damaged (SQLITE_NOTADB`);
  t.match(bad.out, `exporter queue check --queue ${queue}`);
});

t.test('operations output piped into head ends quietly; status says ingest is held back; sink key once per log line', async (t) => {
  const dir = shortDir(t);
  const port = await freePort();
  const ex = await startExporter(t, dir, {
    queue: { path: path.join(dir, 'queue.db'), maxBytes: '64Ki', onFull: 'block' },
    sinks: [{ name: 'web', type: 'http', url: `http://127.0.0.1:${port}/ingest`, retry: quickRetry }],
  });
  await send(ex.socket, Array.from({ length: 1000 }, (_, i) => `{"bad": ${i}`)); // 1000 ingest dead letters
  const piped = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${bins.exporter}" dead-letters list --limit 1000 --queue "${ex.queuePath}" | head -n 2`], {
    encoding: 'utf8',
  });
  t.equal(piped.status, 0, `exit 0 (stderr: ${piped.stderr})`);
  t.equal(piped.stderr, '', 'no EPIPE trace');
  t.equal(piped.stdout.split('\n').length, 3, 'two lines through head');

  const c = await Client.connect(ex.socket);
  void c.write(range('full', 1500).map((id) => record(id) + '\n').join(''));
  const st = (await waitFor('status shows the hold', async () => {
    const r = await runCli(['status', '--queue', ex.queuePath, '--exit-code']);
    return /ingest: held back since/.test(r.out) ? r : undefined;
  }, 30_000, 200))!;
  t.match(st.out, /ingest: held back since \S+ \(the queue is at queue.maxBytes/);
  t.match(st.out, /exporter status: ingest held back since \S+: queue full/);
  t.equal(st.code, 3);
  c.destroy();

  await waitFor('a delivery failure logged', () => /delivery failed/.test(ex.proc.output()), 30_000, 100);
  const lines = ex.proc.output().split('\n').filter((l) => l.includes('"sink":'));
  t.ok(lines.length > 0);
  t.same(lines.filter((l) => l.split('"sink":').length !== 2), [], 'every line with a sink key has it once');
});

t.test('a queue file in the per-record format of older exporters: migrated at start (logged), every record delivered once, in order', async (t) => {
  const dir = shortDir(t);
  const file = path.join(dir, 'data', 'queue.db');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // 1,200 records, the first 200 already delivered; 100 of them addressed to another sink only (a dead-letter retry).
  const ids = range('old', 1200);
  perRecordQueueFile(file, (db) => {
    db.prepare("INSERT INTO sinks (name, type, cursor, added_at) VALUES ('web', 'http', 200, 1)").run();
    const insert = db.prepare('INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?)');
    ids.forEach((id, i) => insert.run(i + 1, Date.now(), 600, i >= 1000 && i < 1100 ? 'other' : null, id, 'admission_decision', record(id)));
  });

  const port = await freePort();
  const rx = await Receiver.start(t, 'ok', port);
  const ex = await startExporter(t, dir, {
    queue: { path: file },
    sinks: [{ name: 'web', type: 'http', url: `http://127.0.0.1:${port}/ingest`, retry: quickRetry, batch: { maxRecords: 300 } }],
  });
  await send(ex.socket, range('new', 50).map((id) => record(id)));
  const want = [...ids.slice(200, 1000), ...ids.slice(1100), ...range('new', 50)];
  await waitFor('every record delivered', () => rx.records.length >= want.length, 60_000, 100);
  await new Promise((r) => setTimeout(r, 300));
  t.same(rx.ids(), want, 'the records the sink still owed, once each, in order, then the new ones');
  t.match(ex.proc.output(), /the queue file was in the per-record format of exporters before 2026-12-07: its 1200 records now stored in the batched format/);
  const st = await runCli(['status', '--queue', file, '-o', 'json']);
  t.equal(st.code, 0, st.out);
  t.equal((JSON.parse(st.out) as { sinks: { sink: string; depth: number }[] }).sinks.find((s) => s.sink === 'web')?.depth, 0, 'status: nothing left for the sink');
  await ex.proc.kill('SIGTERM');
});
