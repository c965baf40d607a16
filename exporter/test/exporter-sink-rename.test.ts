// A sink renamed or removed keeps its queued backlog (issue 10, defect 1): nothing pruned, a warning with the count,
// `exporter status`, a metric; `previousNames` hands the backlog to the new name; `exporter sinks drop` lets it go.
import t from 'tap';
import { Client, Receiver, metric, quickRetry, record, runCli, shortDir, startExporter } from './helpers/exporter.js';
import { freePort } from '../../test/helpers/ports.js';
import { waitFor } from '../../test/helpers/process.js';
import type { QueueStatus } from '../src/ops/status.js';

const range = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}-${i}`);

async function send(socket: string, ids: string[]): Promise<void> {
  const c = await Client.connect(socket);
  for (let i = 0; i < ids.length; i += 500) await c.write(ids.slice(i, i + 500).map((id) => record(id) + '\n').join(''));
  await c.waitAck(ids.length, 60_000);
  c.destroy();
}

async function status(queue: string): Promise<QueueStatus> {
  const r = await runCli(['status', '--queue', queue, '-o', 'json']);
  return JSON.parse(r.out) as QueueStatus;
}

t.test('10,000 records of a failing sink survive its rename until previousNames hands them to the new name', async (t) => {
  const dir = shortDir(t);
  const down = await freePort(); // nothing listens: "web" fails
  const web = { name: 'web', type: 'http', url: `http://127.0.0.1:${down}/ingest`, retry: quickRetry };
  const first = await startExporter(t, dir, { sinks: [web] });
  const ids = range('web', 10_000);
  await send(first.socket, ids);
  await first.proc.kill('SIGTERM');

  // Renamed without saying so: "web2" is a new sink (startFrom newest); "web" is gone from the configuration.
  const up = await freePort();
  const rx2 = await Receiver.start(t, 'ok', up);
  const web2 = { name: 'web2', type: 'http', url: `http://127.0.0.1:${up}/ingest`, retry: quickRetry };
  const second = await startExporter(t, dir, { sinks: [web2] });
  t.match(second.proc.output(), /"removedSink":"web","records":10000,.*no longer configured but still holds 10000 queued records/, 'start-up warning with the count');
  t.equal(await metric(second.metricsUrl, 'exporter_orphaned_sink_records', { sink: 'web' }), 10_000, 'metric');
  // web2 delivering (each delivered batch prunes what every sink has passed) must not take web's records with it.
  await send(second.socket, range('new', 10));
  await waitFor('web2 delivered its 10', () => rx2.records.length === 10, 30_000, 50);
  let st = await status(second.queuePath);
  t.equal(st.records, 10_010, 'nothing pruned');
  const orphan = st.sinks.find((s) => s.sink === 'web')!;
  t.same([orphan.active, orphan.orphaned, orphan.startFrom], [false, 10_000, 'newest'], 'status: web removed, holding 10,000');
  t.equal(st.sinks.find((s) => s.sink === 'web2')!.startFrom, 'newest', 'status shows where a new sink started');
  const text = await runCli(['status', '--queue', second.queuePath, '--exit-code']);
  t.equal(text.code, 3, 'status --exit-code fails while a removed sink holds records');
  t.match(text.out, /web: removed from the configuration, still holds 10000 queued records/);
  await second.proc.kill('SIGTERM');
  await rx2.close();

  // Declared: web2 had the name "web"; its cursor moves back to web's (the 10 web2 already has go again: at least once).
  const rx3 = await Receiver.start(t, 'ok', up);
  const third = await startExporter(t, dir, { sinks: [{ ...web2, previousNames: ['web'] }] });
  await waitFor('backlog delivered', () => rx3.records.length >= 10_010, 120_000, 100);
  const got = rx3.ids();
  t.equal(got.length, 10_010, 'delivered: 10,000 + the 10 web2 had already sent');
  t.same(got.slice(0, 10_000), ids, 'every one of web\'s 10,000, in order: 0 lost');
  t.equal(new Set(got).size, 10_010, 'no record twice apart from those 10');
  t.match(third.proc.output(), /"from":"web","to":"web2"/);
  await waitFor('queue pruned', async () => (await metric(third.metricsUrl, 'exporter_queue_bytes')) === 0, 30_000, 100);
  t.equal(await metric(third.metricsUrl, 'exporter_orphaned_sink_records', { sink: 'web' }), 0);
  st = await status(third.queuePath);
  t.same(
    st.sinks.map((s) => [s.sink, s.active]),
    [['web2', true]],
    'the old name is gone',
  );
});

t.test('exporter sinks list|drop: dropping a removed sink says what it drops; a configured sink cannot be dropped', async (t) => {
  const dir = shortDir(t);
  const down = await freePort();
  const web = { name: 'web', type: 'http', url: `http://127.0.0.1:${down}/ingest`, retry: quickRetry };
  const file = { name: 'local', type: 'file', path: `${dir}/out.ndjson`, fsync: false };
  const first = await startExporter(t, dir, { sinks: [web, file] });
  await send(first.socket, range('a', 250));
  await first.proc.kill('SIGTERM');

  const second = await startExporter(t, dir, { sinks: [file] });
  const list = await runCli(['sinks', 'list', '--queue', second.queuePath]);
  t.match(list.out, /^web \(http\): removed, holds 250 queued records, startFrom newest$/m);
  t.match(list.out, /^local \(file\): configured, 0 pending, startFrom newest$/m);
  const refused = await runCli(['sinks', 'drop', 'local', '--queue', second.queuePath]);
  t.equal(refused.code, 1);
  t.match(refused.out, /sink "local" is configured/);
  const drop = await runCli(['sinks', 'drop', 'web', '--queue', second.queuePath, '-o', 'json']);
  t.equal(drop.code, 0, drop.out);
  t.same(JSON.parse(drop.out), { sink: 'web', dropped: 250 });
  await waitFor('queue pruned', async () => (await metric(second.metricsUrl, 'exporter_queue_bytes')) === 0, 30_000, 100);
  await waitFor('metric cleared', async () => !(await (await fetch(`${second.metricsUrl}/metrics`)).text()).includes('exporter_orphaned_sink_records{'), 30_000, 200);
  const unknown = await runCli(['sinks', 'drop', 'web', '--queue', second.queuePath]);
  t.equal(unknown.code, 1);
  t.match(unknown.out, /no sink named "web"/);
});

t.test('previousNames must not take a configured sink\'s backlog', async (t) => {
  const dir = shortDir(t);
  const r = await runCli(['run', '--config', await writeCfg(dir)]);
  t.equal(r.code, 2);
  t.match(r.out, /sinks\[1\]\.previousNames: "a" is a configured sink's name/);
});

async function writeCfg(dir: string): Promise<string> {
  const fs = await import('node:fs');
  const file = `${dir}/bad.json`;
  const sink = (name: string, extra = {}) => ({ name, type: 'file', path: `${dir}/${name}.ndjson`, ...extra });
  fs.writeFileSync(file, JSON.stringify({ socket: `${dir}/s.sock`, queue: { path: `${dir}/q.db` }, sinks: [sink('a'), sink('b', { previousNames: ['a'] })] }));
  return file;
}
