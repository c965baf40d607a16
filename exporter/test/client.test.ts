// ExportClient against the real exporter process (exporter/dist/cli/main.js): acks, reconnects, kill -9, buffer-full
// policies, spill replay, back-pressure, metrics, and the no-op client.
import t, { type Test } from 'tap';
import path from 'node:path';
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Registry } from 'prom-client';
import pino from 'pino';
import { waitFor } from '../../test/helpers/process.js';
import { Receiver, quickRetry, readNdjson, startExporter, type RunningProc } from './helpers/exporter.js';
import { freePort } from '../../test/helpers/ports.js';
import { createExportClient, ExportClient, noopExportClient, admissionDecision, type ExportClientOptions } from '../src/client/index.js';

/** A short directory: a Unix socket path must fit in 108 bytes, which tap's fixture paths do not. */
function shortDir(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gkc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const fast = { initialMs: 20, maxMs: 200, multiplier: 2, jitter: 0.1 };

function fileSinkCfg(dir: string, extra: Record<string, unknown> = {}) {
  return { sinks: [{ name: 'local', type: 'file', path: path.join(dir, 'out.ndjson'), batch: { linger: '5ms' } }], log: { level: 'warn' }, ...extra };
}

function client(t: Test, opts: ExportClientOptions): ExportClient {
  const c = new ExportClient({ reconnect: fast, ...opts });
  t.teardown(() => c.close());
  return c;
}

function rec(i: number) {
  return admissionDecision({ admissionUID: `uid-${i}`, allowed: i % 3 !== 0, operation: 'CREATE', resourceKind: 'Pod', resourceName: `pod-${i}`, n: i });
}

/** Waits until the file sink holds every one of `ids`; returns the ids in file order. */
async function sinkHas(file: string, ids: string[], timeoutMs = 60_000): Promise<string[]> {
  let got: string[] = [];
  await waitFor(
    `file sink holding ${ids.length} records`,
    () => {
      got = readNdjson(file).map((r) => r['decisionId'] as string);
      const have = new Set(got);
      return ids.every((id) => have.has(id));
    },
    timeoutMs,
    100,
  ).catch((e) => {
    const have = new Set(got);
    throw new Error(`${(e as Error).message}: ${ids.filter((id) => !have.has(id)).length} missing of ${ids.length}`);
  });
  return got;
}

const firstOccurrence = (ids: string[]) => [...new Set(ids)];

t.test('records reach the sink; acks empty the buffer; a rejected line is counted and acknowledged', async (t) => {
  const dir = shortDir(t);
  const ex = await startExporter(t, dir, fileSinkCfg(dir));
  const c = client(t, { socketPath: ex.socket });
  const recs = Array.from({ length: 2000 }, (_, i) => rec(i));
  for (const r of recs) c.send(r);
  c.send('{"this is not json');
  t.equal(await c.flush(30_000), true, 'flush: everything acknowledged');
  const s = c.stats();
  t.equal(s.accepted, 2001);
  t.equal(s.acked, 2001, 'the rejected line is acknowledged too (kept as a dead letter)');
  t.same(s.rejected, { malformed_json: 1 });
  t.equal(s.buffered, 0);
  t.equal(s.bufferedBytes, 0);
  t.equal(s.connected, true);
  const got = await sinkHas(path.join(dir, 'out.ndjson'), recs.map((r) => r.decisionId));
  t.same(got, recs.map((r) => r.decisionId), 'in order, once each');
});

t.test('the exporter killed with SIGKILL mid-stream and restarted: nothing acknowledged or buffered is lost', async (t) => {
  const dir = shortDir(t);
  let ex: RunningProc = await startExporter(t, dir, fileSinkCfg(dir));
  const c = client(t, { socketPath: ex.socket, buffer: { maxRecords: 100_000 } });
  const ids: string[] = [];
  const total = 30_000;
  let killedAt = -1;
  let restartedAt = -1;
  for (let i = 0; i < total; i++) {
    const r = rec(i);
    ids.push(r.decisionId);
    c.send(r);
    if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    if (i === 10_000) {
      await waitFor('some acks before the kill', () => c.stats().acked > 2000, 30_000, 10);
      await ex.proc.kill('SIGKILL');
      killedAt = c.stats().acked;
    }
    if (i === 20_000) {
      t.equal(c.stats().connected, false, 'disconnected while the exporter is down');
      ex = await startExporter(t, dir, fileSinkCfg(dir));
      restartedAt = i;
    }
  }
  t.ok(killedAt > 0 && restartedAt > 0);
  t.equal(await c.flush(60_000), true, 'flush after the restart: everything acknowledged');
  const s = c.stats();
  t.ok(s.reconnects >= 1, `reconnected (${s.reconnects})`);
  t.equal(s.dropped.buffer_full, 0);
  t.same(s.rejected, {}, 'no line arrived garbled (a resend from a reused buffer slab would be malformed JSON)');
  t.ok(s.acked >= total, `acked ${s.acked} >= ${total} (lines resent after the kill may be acknowledged twice)`);
  const got = await sinkHas(path.join(dir, 'out.ndjson'), ids, 90_000);
  t.equal(new Set(got).size, total, `every decisionId reached the sink (${got.length - total} duplicates)`);
  t.same(firstOccurrence(got), ids, 'first occurrences in send order');
});

t.test('lines written but never acknowledged (exporter holding back, then killed) are resent after the restart', async (t) => {
  const dir = shortDir(t);
  const port = await freePort(); // the sink is down at first: the small queue fills and the exporter stops acking
  const cfg = {
    queue: { path: path.join(dir, 'queue.db'), maxBytes: '64Ki', onFull: 'block' },
    sinks: [{ name: 'web', type: 'http', url: `http://127.0.0.1:${port}/ingest`, retry: quickRetry }],
    log: { level: 'warn' },
  };
  let ex = await startExporter(t, dir, cfg);
  const c = client(t, { socketPath: ex.socket });
  const recs = Array.from({ length: 2000 }, (_, i) => rec(i));
  for (const r of recs) c.send(r);
  // Holding back: some lines acknowledged, more written, and neither count moving. Not "all 2000 written": once the queue
  // is full the exporter stops reading, so how many lines the socket took first depends on the timing.
  let last = c.stats();
  await waitFor('the exporter holding back', () => {
    const s = c.stats();
    const still = s.sent === last.sent && s.acked === last.acked;
    last = s;
    return still && s.acked > 0 && s.sent > s.acked;
  }, 120_000, 500);
  const before = c.stats();
  t.ok(before.acked < before.sent, `acked ${before.acked} of ${before.sent} written`);
  await ex.proc.kill('SIGKILL');
  await waitFor('disconnect noticed', () => !c.stats().connected, 10_000, 10);
  const rx = await Receiver.start(t, 'ok', port);
  ex = await startExporter(t, dir, cfg);
  t.equal(await c.flush(60_000), true, 'everything acknowledged after the restart');
  const s = c.stats();
  t.equal(s.resent, before.sent - before.acked, 'exactly the unacknowledged lines were resent');
  t.same(s.rejected, {}, 'no line arrived garbled');
  t.equal(s.reconnects, 1);
  await waitFor('all delivered', () => new Set(rx.ids()).size >= recs.length, 60_000, 100);
  t.same(firstOccurrence(rx.ids()), recs.map((r) => r.decisionId), 'every record delivered, first occurrences in order');
});

t.test('drop-newest: with the exporter down, records past the buffer are dropped and counted', async (t) => {
  const dir = shortDir(t);
  const socket = path.join(dir, 'exporter.sock');
  const c = client(t, { socketPath: socket, buffer: { maxRecords: 100 } });
  const recs = Array.from({ length: 150 }, (_, i) => rec(i));
  for (const r of recs) c.send(r);
  let s = c.stats();
  t.equal(s.buffered, 100);
  t.equal(s.dropped.buffer_full, 50);
  t.equal(s.connected, false);
  await startExporter(t, dir, fileSinkCfg(dir));
  t.equal(await c.flush(30_000), true);
  s = c.stats();
  t.equal(s.acked, 100);
  const got = await sinkHas(path.join(dir, 'out.ndjson'), recs.slice(0, 100).map((r) => r.decisionId));
  t.same(got, recs.slice(0, 100).map((r) => r.decisionId), 'the first 100, none of the dropped');
});

t.test('the buffer bound in bytes applies too', async (t) => {
  const dir = shortDir(t);
  const c = client(t, { socketPath: path.join(dir, 'nobody.sock'), buffer: { maxRecords: 1000, maxBytes: 2000 } });
  const big = { eventType: 'x', pad: 'p'.repeat(900) };
  for (let i = 0; i < 5; i++) c.send(big);
  t.equal(c.stats().buffered, 2);
  t.ok(c.stats().bufferedBytes <= 2000);
  t.equal(c.stats().dropped.buffer_full, 3);
});

t.test('spill: records past the buffer go to the spill file and are replayed, in order, when the exporter is back', async (t) => {
  const dir = shortDir(t);
  const socket = path.join(dir, 'exporter.sock');
  const spill = path.join(dir, 'client-spill', 'spill.ndjson');
  const c = client(t, { socketPath: socket, buffer: { maxRecords: 50 }, onFull: 'spill', spill: { path: spill } });
  const recs = Array.from({ length: 2000 }, (_, i) => rec(i));
  for (const r of recs) c.send(r);
  await waitFor('the spill file written', () => c.stats().spillBytes > 0, 10_000, 10);
  let s = c.stats();
  t.equal(s.buffered, 50);
  t.equal(s.spilled, 1950);
  t.equal(s.dropped.buffer_full + s.dropped.spill_full, 0, 'nothing dropped');
  await startExporter(t, dir, fileSinkCfg(dir));
  t.equal(await c.flush(60_000), true);
  s = c.stats();
  t.equal(s.acked, 2000);
  t.equal(s.spilled, 0);
  t.equal(s.spillBytes, 0);
  const got = await sinkHas(path.join(dir, 'out.ndjson'), recs.map((r) => r.decisionId));
  t.same(got, recs.map((r) => r.decisionId), 'all 2000, in send order');
});

t.test('a spill file left by a previous process is replayed by the next one, its unacknowledged buffer first (a torn last line dropped)', async (t) => {
  const dir = shortDir(t);
  const socket = path.join(dir, 'exporter.sock');
  const spill = path.join(dir, 'spill.ndjson');
  const first = new ExportClient({ socketPath: socket, reconnect: fast, buffer: { maxRecords: 10 }, onFull: 'spill', spill: { path: spill } });
  const recs = Array.from({ length: 100 }, (_, i) => rec(i));
  for (const r of recs) first.send(r);
  t.equal(await first.close({ flushTimeoutMs: 50 }), false, 'close: the exporter is down, nothing acknowledged');
  t.equal(first.stats().dropped.shutdown, 0, 'the 10 in memory are kept in the spill file, ahead of the 90 spilled');
  appendFileSync(spill, '{"eventType":"torn","decisionId":"to'); // a crash in the middle of a spill write
  await startExporter(t, dir, fileSinkCfg(dir));
  const second = client(t, { socketPath: socket, buffer: { maxRecords: 10 }, onFull: 'spill', spill: { path: spill } });
  t.equal(await second.flush(60_000), true);
  const want = recs.map((r) => r.decisionId);
  const got = await sinkHas(path.join(dir, 'out.ndjson'), want);
  t.same(got, want, 'all 100 records, in order, and not the torn line');
  t.equal(statSync(spill).size, 0, 'the spill file is emptied once read back');
});

t.test('one spill file per client: a second client on the same path is refused with a clear error', async (t) => {
  const dir = shortDir(t);
  const spill = { path: path.join(dir, 'spill.ndjson') };
  const a = client(t, { socketPath: path.join(dir, 'nobody.sock'), spill });
  await a.opened();
  const b = client(t, { socketPath: path.join(dir, 'nobody.sock'), spill });
  await t.rejects(b.opened(), /spill file .*spill\.ndjson is in use/);
  await a.close();
  const c = client(t, { socketPath: path.join(dir, 'nobody.sock'), spill });
  await c.opened();
  t.pass('free again once the first client closed');
});

t.test('every drop is counted and logged, at most one line per interval (the first at once, the rest at close)', async (t) => {
  const dir = shortDir(t);
  const lines: Array<{ msg: string; records?: number; dropped?: Record<string, number> }> = [];
  const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const c = new ExportClient({ socketPath: path.join(dir, 'nobody.sock'), reconnect: fast, buffer: { maxRecords: 10 }, dropLogIntervalMs: 600_000, logger });
  for (let i = 0; i < 1000; i++) c.send(rec(i));
  const drops = () => lines.filter((l) => /dropped records/.test(l.msg));
  t.equal(drops().length, 1, 'one line for the first drop');
  t.same(drops()[0]!.dropped, { buffer_full: 1 });
  t.equal(c.stats().dropped.buffer_full, 990);
  await c.close();
  t.equal(drops().length, 2, 'and one summary at close');
  t.same(drops()[1]!.dropped, { buffer_full: 989, shutdown: 10 });
  t.equal(drops().reduce((n, l) => n + l.records!, 0), 1000, 'every drop in the log: 990 buffer_full + 10 shutdown');
});

t.test('spill is bounded: past spill.maxBytes records are dropped as spill_full', async (t) => {
  const dir = shortDir(t);
  const c = client(t, {
    socketPath: path.join(dir, 'nobody.sock'),
    buffer: { maxRecords: 10 },
    onFull: 'spill',
    spill: { path: path.join(dir, 'spill.ndjson'), maxBytes: 5000 },
  });
  for (let i = 0; i < 100; i++) c.send(rec(i));
  const s = c.stats();
  t.equal(s.buffered, 10);
  t.ok(s.spilled > 0 && s.spilled < 90, `some spilled (${s.spilled})`);
  t.equal(s.spilled + s.dropped.spill_full, 90, 'the rest counted as spill_full');
});

t.test('send() never blocks or throws: an exporter that stops reading (queue full, onFull block)', async (t) => {
  const dir = shortDir(t);
  const ex = await startExporter(t, dir, {
    ...fileSinkCfg(dir),
    // A sink that cannot deliver and a tiny queue: the exporter stops reading the socket.
    sinks: [{ name: 'web', type: 'http', url: 'http://127.0.0.1:1/never', retry: { initial: '1s', max: '1s', maxAttempts: 1000 } }],
    queue: { path: path.join(dir, 'queue.db'), maxBytes: '64Ki', onFull: 'block' },
  });
  const c = client(t, { socketPath: ex.socket, buffer: { maxRecords: 5000 } });
  const total = 50_000;
  for (let i = 0; i < total; i++) {
    c.send(rec(i));
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  const s = c.stats();
  t.ok(s.dropped.buffer_full > 0, `records dropped while the exporter holds back (${s.dropped.buffer_full})`);
  t.equal(s.accepted + s.dropped.buffer_full, total, 'every record either accepted or counted as dropped');
  t.ok(s.buffered <= 5000);
  t.equal(await c.flush(200), false, 'flush gives up at its timeout');
});

t.test('unserialisable and oversized records are counted, never thrown', async (t) => {
  const dir = shortDir(t);
  const c = client(t, { socketPath: path.join(dir, 'nobody.sock'), maxLineBytes: 4096 });
  const circular: Record<string, unknown> = { eventType: 'x' };
  circular['self'] = circular;
  c.send(circular);
  c.send({ eventType: 'x', n: 10n } as unknown as object);
  c.send({ eventType: 'x', pad: 'z'.repeat(5000) });
  c.send('é'.repeat(2100)); // 4200 bytes in UTF-8: the limit is in bytes
  c.send({ eventType: 'x', pad: 'z'.repeat(4000) });
  const s = c.stats();
  t.equal(s.dropped.unserializable, 2);
  t.equal(s.dropped.too_large, 2);
  t.equal(s.accepted, 1);
});

t.test('counters on a prom-client registry', async (t) => {
  const dir = shortDir(t);
  const ex = await startExporter(t, dir, fileSinkCfg(dir));
  const registry = new Registry();
  const c = client(t, { socketPath: ex.socket, registry, buffer: { maxRecords: 10 } });
  for (let i = 0; i < 15; i++) c.send(rec(i));
  await c.flush(30_000);
  const text = await registry.metrics();
  t.match(text, /^exporter_client_records_acked_total 10$/m);
  t.match(text, /^exporter_client_records_accepted_total 10$/m);
  t.match(text, /^exporter_client_records_dropped_total\{reason="buffer_full"\} 5$/m);
  t.match(text, /^exporter_client_buffered_records 0$/m);
  t.match(text, /^exporter_client_connected 1$/m);
  t.match(text, /^exporter_client_reconnects_total 0$/m);
});

t.test('not configured: the no-op client', async (t) => {
  const c = createExportClient(undefined);
  t.equal(c, noopExportClient);
  t.equal(c.enabled, false);
  c.send({ eventType: 'x' });
  t.equal(await c.flush(10), true);
  t.equal(c.stats().accepted, 0);
  await c.close();
  t.equal(createExportClient({ socketPath: '' }), noopExportClient);
  t.throws(() => new ExportClient({ socketPath: '/x', onFull: 'spill' }), /spill needs spill\.path/);
  t.throws(() => new ExportClient({ socketPath: '/x', buffer: { maxRecords: 0 } }), /buffer\.maxRecords/);
});

t.test('after close(), send() is counted as dropped (closed)', async (t) => {
  const dir = shortDir(t);
  const c = new ExportClient({ socketPath: path.join(dir, 'nobody.sock'), reconnect: fast });
  c.send(rec(1));
  await c.close();
  c.send(rec(2));
  t.equal(c.stats().dropped.shutdown, 1);
  t.equal(c.stats().dropped.closed, 1);
});
