// Ingest over the Unix socket, against the real exporter process: rejects with error lines, counts, dead letters,
// connections that go on; socket file handling.
import t from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Client, metric, readNdjson, record, runCli, shortDir, startExporter } from './helpers/exporter.js';
import { waitFor } from '../../test/helpers/process.js';

const fileSink = (dir: string) => [{ name: 'local', type: 'file', path: path.join(dir, 'out.ndjson'), fsync: false }];

t.test('bad lines get an error line, are counted and dead-lettered, and the connection goes on', async (t) => {
  const dir = shortDir(t);
  const ex = await startExporter(t, dir, { sinks: fileSink(dir), ingest: { maxLineBytes: '1Ki' } });
  const c = await Client.connect(ex.socket);
  const binary = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x7b, 0x0a]); // invalid UTF-8, then '{' and the newline
  await c.write(record('ok-1') + '\n');
  await c.write('{"eventType": "admission_decision", oops}\n'); // line 2: malformed
  await c.write('\n   \n'); // blank lines: ignored, not counted
  await c.write(record('big', { pad: 'x'.repeat(5000) }) + '\n'); // line 3: oversized
  await c.write(binary); // line 4: binary garbage
  await c.write('[1,2,3]\n'); // line 5: not an object
  await c.write('{"decisionId":"no-type"}\n'); // line 6: schema
  // line 7 arrives in pieces, the oversized one too (line 8)
  const split = record('ok-2');
  await c.write(split.slice(0, 10));
  await c.write(split.slice(10) + '\n');
  await c.write('{"pad":"' + 'y'.repeat(700));
  await c.write('z'.repeat(700) + '"}\n');
  await c.write(record('ok-3') + '\n'); // line 9
  await c.waitAck(9);
  t.equal(c.acked, 9, 'every non-blank line is acknowledged, rejected ones included');
  t.same(
    c.errors.map((e) => [e.line, e.reason]),
    [
      [2, 'malformed_json'],
      [3, 'oversized'],
      [4, 'invalid_utf8'],
      [5, 'not_an_object'],
      [6, 'schema'],
      [8, 'oversized'],
    ],
  );
  t.ok(c.errors.every((e) => typeof e.error === 'string' && e.error.length > 0), 'each error says what is wrong');

  const out = path.join(dir, 'out.ndjson');
  await waitFor('records in the file sink', () => readNdjson(out).length === 3);
  t.same(
    readNdjson(out).map((r) => r['decisionId']),
    ['ok-1', 'ok-2', 'ok-3'],
  );
  for (const [reason, n] of Object.entries({ malformed_json: 1, oversized: 2, invalid_utf8: 1, not_an_object: 1, schema: 1 })) {
    t.equal(await metric(ex.metricsUrl, 'exporter_records_rejected_total', { reason }), n, `rejected{reason=${reason}}`);
  }
  t.equal(await metric(ex.metricsUrl, 'exporter_records_received_total'), 9);
  t.equal(await metric(ex.metricsUrl, 'exporter_dead_letters', { sink: '_ingest' }), 6);

  // half-written line at disconnect
  const d = await Client.connect(ex.socket);
  await d.write(record('whole') + '\n' + '{"decisionId":"half","eventTy');
  await d.endAndWait();
  t.equal(d.acked, 2, 'the truncated tail is handled (dead letter) and acknowledged before the close');
  t.equal(d.errors[0]?.reason, 'truncated');
  t.equal(await metric(ex.metricsUrl, 'exporter_records_rejected_total', { reason: 'truncated' }), 1);

  const list = await runCli(['dead-letters', 'list', '--queue', ex.queuePath, '--sink', '_ingest', '-o', 'json']);
  t.equal(list.code, 0, list.out);
  const dls = JSON.parse(list.out) as { reason: string; raw: string; sink: string | null }[];
  t.same(
    dls.map((x) => x.reason),
    ['malformed_json', 'oversized', 'invalid_utf8', 'not_an_object', 'schema', 'oversized', 'truncated'],
  );
  t.equal(dls[0]!.raw, '{"eventType": "admission_decision", oops}', 'the raw line is kept');
  t.ok(dls[1]!.raw.length <= 64 * 1024 && dls[1]!.raw.startsWith('{"decisionId":"big"'), 'oversized: the head of the line is kept');
  t.equal(dls[6]!.raw, '{"decisionId":"half","eventTy');
  c.destroy();
});

t.test('a record reaches the sink as the text received: byte for byte when complete, non-ASCII and escapes too', async (t) => {
  const dir = shortDir(t);
  const ex = await startExporter(t, dir, { sinks: fileSink(dir) });
  const c = await Client.connect(ex.socket);
  const complete = (id: string, extra: string) =>
    `{"schemaVersion":"1","decisionId":"${id}","timestamp":"2026-11-24T10:00:00Z","eventType":"admission_decision"${extra}}`;
  const lines = [
    complete('plain', ',"n":1'),
    complete('utf8', ',"message":"é — 日本語 😀","ns":"équipe"'),
    complete('escapes', ', "message" : "\\u00e9 \\"quoted\\" \\ud83d\\ude00" , "a":[1, 2]'),
  ];
  // Stored as built by the exporter: surrounding whitespace trimmed; schemaVersion spliced in.
  const padded = complete('padded', '');
  const spliced = complete('spliced', '').replace('"schemaVersion":"1",', '');
  await c.write(Buffer.from([...lines, `  ${padded}\t`, spliced].join('\n') + '\n'));
  await c.waitAck(5);
  t.same(c.errors, []);
  const out = path.join(dir, 'out.ndjson');
  await waitFor('records in the file sink', () => readNdjson(out).length === 5);
  const written = fs.readFileSync(out, 'utf8').split('\n');
  t.same(written.slice(0, 4), [...lines, padded], 'the text received, byte for byte');
  t.same(JSON.parse(written[4]!), { schemaVersion: '1', ...(JSON.parse(spliced) as object) }, 'schemaVersion spliced in');
  t.equal(JSON.parse(written[1]!).message, 'é — 日本語 😀');
  c.destroy();
});

t.test('ingest.validate: full checks each record against the whole record schema; basic lets the same record through', async (t) => {
  // resourceLabels' values must be strings (proto-docs/record.md); basic checks only the envelope.
  const typed = record('typed', { eventType: 'violation_audited', auditId: 'a', kind: 'K', name: 'n', enforcementAction: 'deny' });
  const badLabels = record('bad-labels', { eventType: 'violation_audited', auditId: 'a', kind: 'K', name: 'n', enforcementAction: 'deny', resourceLabels: { app: 3 } });
  const noAction = record('no-action', { eventType: 'violation_audited', auditId: 'a', kind: 'K', name: 'n' });
  for (const validate of ['full', 'basic'] as const) {
    const dir = shortDir(t);
    const ex = await startExporter(t, dir, { sinks: fileSink(dir), ingest: { validate } });
    const c = await Client.connect(ex.socket);
    await c.write([typed, badLabels, noAction].join('\n') + '\n');
    await c.waitAck(3);
    const out = path.join(dir, 'out.ndjson');
    if (validate === 'full') {
      t.same(c.errors.map((e) => [e.line, e.reason]), [[2, 'schema'], [3, 'schema']], 'full: both rejected as schema errors');
      t.match(c.errors[0]!.error, /resourceLabels\.app/, 'the error names the field');
      t.match(c.errors[1]!.error, /enforcementAction: required/);
      await waitFor('the valid record in the file sink', () => readNdjson(out).length === 1);
      t.equal(await metric(ex.metricsUrl, 'exporter_records_rejected_total', { reason: 'schema' }), 2);
    } else {
      t.same(c.errors, [], 'basic: all three accepted');
      await waitFor('all three in the file sink', () => readNdjson(out).length === 3);
    }
    c.destroy();
  }
});

t.test('a client that never reads acks still gets everything stored and delivered', async (t) => {
  const dir = shortDir(t);
  const ex = await startExporter(t, dir, { sinks: fileSink(dir), ingest: { ackBufferBytes: '1Ki' } });
  const s = net.connect(ex.socket); // never reads: no 'data' listener
  await new Promise((r) => s.once('connect', r));
  const n = 20_000;
  let batch = '';
  // ~600 bytes each: 12 MB in all, so the WAL crosses its 2 MiB limit however ingest groups the commits (with ~100-byte
  // records, 2 MB in a few large commits under load could stay below it: no checkpoint, a failed run).
  const pad = 'x'.repeat(500);
  for (let i = 0; i < n; i++) batch += record(`nr-${i}`, { pad }) + '\n';
  await new Promise<void>((resolve, reject) => s.write(batch, (e) => (e ? reject(e) : resolve())));
  const out = path.join(dir, 'out.ndjson');
  await waitFor('all records delivered', () => readNdjson(out).length >= n, 60_000, 200);
  const ids = readNdjson(out).map((r) => r['decisionId']);
  t.equal(ids.length, n);
  t.equal(ids[n - 1], `nr-${n - 1}`);
  t.equal(await metric(ex.metricsUrl, 'exporter_records_received_total'), n);
  // 20,000 records (~12 MB) committed, delivered and deleted, through a WAL limited to 2 MiB: the queue's checkpoint
  // thread copied it back, and is not reported failed.
  t.ok(await waitFor('a checkpoint counted', async () => (await metric(ex.metricsUrl, 'exporter_queue_checkpoints_total')) > 0, 30_000, 100), 'exporter_queue_checkpoints_total > 0');
  t.equal(await metric(ex.metricsUrl, 'exporter_queue_checkpoint_thread_failed'), 0);
  s.destroy();
});

t.test('many concurrent connections: each gets its own cumulative acks', async (t) => {
  const dir = shortDir(t);
  const ex = await startExporter(t, dir, { sinks: fileSink(dir) });
  const clients = await Promise.all(Array.from({ length: 20 }, () => Client.connect(ex.socket)));
  await Promise.all(
    clients.map(async (c, ci) => {
      for (let k = 0; k < 5; k++) {
        let s = '';
        for (let i = 0; i < 100; i++) s += record(`c${ci}-${k * 100 + i}`) + '\n';
        await c.write(s);
      }
    }),
  );
  await Promise.all(clients.map((c) => c.waitAck(500)));
  t.ok(clients.every((c) => c.acked === 500 && c.errors.length === 0));
  t.ok((await metric(ex.metricsUrl, 'exporter_ingest_batch_records_count')) < 20 * 500, 'lines are committed in batches, not one by one');
  await waitFor('delivered', () => readNdjson(path.join(dir, 'out.ndjson')).length === 10_000, 60_000, 200);
  for (const c of clients) c.destroy();
});

t.test('ingest.maxPendingBytes bounds the lines held in memory: reading pauses at the bound and resumes', async (t) => {
  const dir = shortDir(t);
  // Only the bytes bound can bind here: ~2 KB records, 64 KiB of them pending at most (plus the chunk being split).
  const ex = await startExporter(t, dir, { sinks: fileSink(dir), ingest: { maxPendingBytes: '64Ki', maxPendingRecords: 100_000, batchMaxRecords: 10_000 } });
  const c = await Client.connect(ex.socket);
  const n = 4000;
  let batch = '';
  for (let i = 0; i < n; i++) batch += record(`pb-${i}`, { pad: 'p'.repeat(2000) }) + '\n';
  await c.write(batch);
  await c.waitAck(n, 60_000);
  t.equal(c.errors.length, 0);
  const commits = await metric(ex.metricsUrl, 'exporter_ingest_batch_records_count');
  const small = await metric(ex.metricsUrl, 'exporter_ingest_batch_records_bucket', { le: '100' });
  t.ok(commits >= n / 100, `at least ${n / 100} commits (${commits})`);
  t.equal(small, commits, 'no commit held more than 100 lines (64 KiB pending + one read chunk)');
  await waitFor('delivered', () => readNdjson(path.join(dir, 'out.ndjson')).length === n, 60_000, 200);
  c.destroy();
});

t.test('group commit: a line after a quiet spell is committed at once, a trickle waits for ingest.batchLinger, a full batch does not', async (t) => {
  const dir = shortDir(t);
  const ex = await startExporter(t, dir, { sinks: fileSink(dir), ingest: { batchLinger: '1h', batchMaxRecords: 4 } });
  const c = await Client.connect(ex.socket);
  await c.write(record('gc-1') + '\n');
  await c.waitAck(1); // would take an hour if the first line waited
  for (const id of ['gc-2', 'gc-3', 'gc-4']) await c.write(record(id) + '\n');
  await new Promise((r) => setTimeout(r, 300));
  t.equal(c.acked, 1, 'three lines right after a commit wait for the linger (not acknowledged yet)');
  await c.write(record('gc-5') + '\n'); // the fourth pending line: a full batch
  await c.waitAck(5);
  t.equal(await metric(ex.metricsUrl, 'exporter_ingest_batch_records_count'), 2, 'two commits: the first line, then the four together');
  await waitFor('delivered', () => readNdjson(path.join(dir, 'out.ndjson')).length === 5, 30_000, 50);
  c.destroy();
});

t.test('socket: mode 0660, parent created, stale file replaced, a live one refused', async (t) => {
  const dir = shortDir(t);
  const sock = path.join(dir, 'run', 'nested', 'exporter.sock');
  // a stale socket file left by a process that died while listening
  fs.mkdirSync(path.dirname(sock), { recursive: true });
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  t.ok(fs.existsSync(sock), 'stale socket file present');
  const ex = await startExporter(t, dir, { socket: sock, sinks: fileSink(dir) });
  const st = fs.statSync(sock);
  t.ok(st.isSocket());
  t.equal((st.mode & 0o777).toString(8), '660', 'socket mode 0660');
  const c = await Client.connect(sock);
  await c.write(record('after-stale') + '\n');
  await c.waitAck(1);
  c.destroy();

  // a second exporter on the same live socket (different queue) is refused with a clear error
  const dir2 = shortDir(t);
  const second = await runCli(['run', '--socket', sock, '--queue-path', path.join(dir2, 'q.db'), '--data-dir', dir2]);
  t.not(second.code, 0);
  t.match(second.out, /another process is listening on/);
  // and a second exporter on the same queue too
  const third = await runCli(['run', '--socket', path.join(dir2, 'other.sock'), '--queue-path', ex.queuePath, '--data-dir', dir2]);
  t.not(third.code, 0);
  t.match(third.out, /in use by another exporter/);
  t.ok(fs.existsSync(sock), 'the live socket was not touched');

  // configurable mode
  const dir3 = shortDir(t);
  const ex3 = await startExporter(t, dir3, { sinks: fileSink(dir3), socketMode: '0600' });
  t.equal((fs.statSync(ex3.socket).mode & 0o777).toString(8), '600');
});
