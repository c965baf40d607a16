// `exporter status` shows what the running exporter saves about its sinks: health (a Dapr sidecar not ready), up/down,
// failures in a row, the next attempt, the last success; and whether that state is fresh (an exporter is running),
// from a graceful stop, or stale (the exporter was killed). --exit-code for probes and scripts.
import t from 'tap';
import { Client, Receiver, record, runCli, shortDir, startExporter } from './helpers/exporter.js';
import { freePort } from '../../test/helpers/ports.js';
import { waitFor } from '../../test/helpers/process.js';
import type { QueueStatus, SinkStatus } from '../src/ops/status.js';

async function status(queue: string): Promise<QueueStatus> {
  const r = await runCli(['status', '--queue', queue, '-o', 'json']);
  if (r.code !== 0) throw new Error(r.out);
  return JSON.parse(r.out) as QueueStatus;
}
const sink = (s: QueueStatus, name: string): SinkStatus => s.sinks.find((k) => k.sink === name)!;

async function send(socket: string, ids: string[]): Promise<void> {
  const c = await Client.connect(socket);
  await c.write(ids.map((id) => record(id) + '\n').join(''));
  await c.waitAck(ids.length);
  c.destroy();
}

t.test('live sink state: a Dapr sidecar not there, an HTTP receiver down then up; fresh, stopped, stale', async (t) => {
  const dir = shortDir(t);
  const daprPort = await freePort(); // nothing listens: the sidecar "is not up yet"
  const webPort = await freePort();
  const cfg = {
    queue: { path: `${dir}/queue.db`, statusInterval: '300ms' },
    sinks: [
      { name: 'pubsub', type: 'dapr', component: 'pubsub', url: `http://127.0.0.1:${daprPort}`, readinessInterval: '100ms' },
      { name: 'web', type: 'http', url: `http://127.0.0.1:${webPort}/ingest`, retry: { initial: '300ms', max: '300ms', jitter: 0 } },
      { name: 'local', type: 'file', path: `${dir}/out.ndjson` },
    ],
  };
  const ex = await startExporter(t, dir, cfg);

  // The Dapr sink waits for its sidecar without failing the exporter, and says so in /readyz and in status.
  const readyz = await fetch(`${ex.metricsUrl}/readyz`);
  t.equal(readyz.status, 200, 'a sink not ready does not make the exporter unready');
  t.match(await readyz.text(), new RegExp(`sink pubsub: not ready: .*Dapr sidecar at http://127\\.0\\.0\\.1:${daprPort}`));
  let st = await waitFor('pubsub reported not ready', async () => {
    const s = await status(ex.queuePath);
    // Every sink starts as "not started": wait until the prober has spoken and the file sink has started.
    return /Dapr sidecar/.test(sink(s, 'pubsub').live?.detail ?? '') && sink(s, 'local').live?.up ? s : undefined;
  });
  t.equal(st.exporter.state, 'running');
  t.equal(st.exporter.pid, ex.proc.child.pid);
  t.ok(st.exporter.ageSeconds! < 5, 'fresh');
  t.match(sink(st, 'pubsub').live, { ready: false, up: false, stale: false, detail: new RegExp(`Dapr sidecar at http://127\\.0\\.0\\.1:${daprPort}`) });
  t.match(sink(st, 'local').live, { ready: true, up: true, consecutiveFailures: 0 });

  // The HTTP receiver is down: failures in a row and the next attempt.
  await send(ex.socket, ['live-1', 'live-2']);
  st = await waitFor('web reported down', async () => {
    const s = await status(ex.queuePath);
    const l = sink(s, 'web').live!;
    return !l.up && l.consecutiveFailures >= 2 && l.nextRetryAt ? s : undefined;
  });
  t.match(sink(st, 'web').live, { ready: false, up: false, lastSuccessAt: null, detail: /ECONNREFUSED/ });
  t.ok(Date.parse(sink(st, 'web').live!.nextRetryAt!) - Date.now() < 5000, 'next attempt within the backoff');
  t.ok(sink(st, 'local').live!.lastSuccessAt, 'the file sink delivered');

  // The state is saved once a second, and a save during an attempt has no next attempt: read until one shows it.
  const text = await waitFor('status showing the next attempt', async () => {
    const r = await runCli(['status', '--queue', ex.queuePath]);
    return /^ {2}web: .*next attempt in/m.test(r.out) ? r : undefined;
  }, 30_000, 200);
  t.equal(text.code, 0, 'without --exit-code, status succeeds whatever it shows');
  t.match(text.out, /exporter: running \(pid \d+/);
  t.match(text.out, /^pubsub +dapr +not ready /m);
  t.match(text.out, /^web +http +not ready /m); // the HTTP sink counts an unreachable receiver as not ready
  t.match(text.out, /^local +file +up /m);
  // The prober writes "waiting for", a failed publish "cannot reach": whichever ran last (the records above go to every sink).
  t.match(text.out, new RegExp(`^  pubsub: (waiting for|cannot reach) the Dapr sidecar at http://127\\.0\\.0\\.1:${daprPort}`, 'm'));
  t.match(text.out, /^ {2}web: .*\d+ failed attempts in a row; next attempt in [\d.]+s; last success none/m);

  const probe = await runCli(['status', '--queue', ex.queuePath, '--exit-code']);
  t.equal(probe.code, 3, '--exit-code: a problem');
  t.match(probe.out, /exporter status: sink pubsub not ready: .*Dapr sidecar/);
  t.match(probe.out, /exporter status: sink web not ready: .*ECONNREFUSED/);

  // The receiver comes up: up again, with the last success.
  const rx = await Receiver.start(t, 'ok', webPort);
  await waitFor('records delivered', () => rx.records.length === 2, 30_000);
  st = await waitFor('web reported up', async () => {
    const s = await status(ex.queuePath);
    return sink(s, 'web').live?.up ? s : undefined;
  });
  t.match(sink(st, 'web').live, { ready: true, up: true, consecutiveFailures: 0, nextRetryAt: null });
  t.ok(Date.parse(sink(st, 'web').live!.lastSuccessAt!) > Date.now() - 30_000);

  // Killed: nobody writes any more; after 3 intervals the state shows as stale, with its age.
  await ex.proc.kill('SIGKILL');
  st = await waitFor('state stale', async () => {
    const s = await status(ex.queuePath);
    return s.exporter.state === 'stale' ? s : undefined;
  });
  t.ok(st.exporter.ageSeconds! >= 0.9);
  t.ok(st.sinks.every((k) => k.live?.stale), 'every sink state marked stale');
  const stale = await runCli(['status', '--queue', ex.queuePath, '--exit-code']);
  t.equal(stale.code, 3);
  t.match(stale.out, /exporter: not reporting for [\d.]+s \(pid \d+ on .*\): down or stuck/);
  t.match(stale.out, /^web +http +up \(stale\)/m);
  t.match(stale.out, /exporter status: exporter stale/);

  // Started again, then stopped gracefully: "stopped at".
  const ex2 = await startExporter(t, dir, { ...cfg, sinks: cfg.sinks.filter((s) => s.name !== 'pubsub') });
  st = await waitFor('fresh again', async () => {
    const s = await status(ex2.queuePath);
    return s.exporter.state === 'running' && s.exporter.pid === ex2.proc.child.pid ? s : undefined;
  });
  t.equal(sink(st, 'pubsub').live, null, 'a sink no longer configured has no live state');
  const held = await runCli(['status', '--queue', ex2.queuePath, '--exit-code']);
  t.equal(held.code, 3, 'a removed sink still holding records is a problem');
  t.match(held.out, /exporter status: removed sink pubsub still holds 2 queued records/);
  t.equal((await runCli(['sinks', 'drop', 'pubsub', '--queue', ex2.queuePath])).code, 0);
  const ok = await runCli(['status', '--queue', ex2.queuePath, '--exit-code']);
  t.equal(ok.code, 0, `healthy: exit 0 (${ok.out})`);
  await ex2.proc.kill('SIGTERM');
  t.equal(await ex2.proc.exited, 0);
  st = await status(ex2.queuePath);
  t.equal(st.exporter.state, 'stopped');
  t.ok(st.exporter.stoppedAt);
  t.match((await runCli(['status', '--queue', ex2.queuePath])).out, /exporter: stopped at \S+ \(pid \d+/);
});

t.test('a queue no exporter of this version wrote; a bad queue.statusInterval', async (t) => {
  const dir = shortDir(t);
  const ex = await startExporter(t, dir, { sinks: [{ name: 'local', type: 'file', path: `${dir}/out.ndjson` }] });
  await ex.proc.kill('SIGTERM');
  // What an older exporter leaves: no live-state tables.
  const { openSqlite } = await import('../src/queue/sqlite.js');
  const db = openSqlite(ex.queuePath);
  db.exec('DROP TABLE sink_health; DROP TABLE exporter_heartbeat;');
  db.close();
  const st = await status(ex.queuePath);
  t.equal(st.exporter.state, 'unknown');
  t.equal(st.sinks[0]!.live, null);
  t.match((await runCli(['status', '--queue', ex.queuePath])).out, /exporter: no live state in this queue/);

  const bad = await startExporter(t, shortDir(t), { queue: { path: `${dir}/q2.db`, statusInterval: '10ms' }, sinks: [{ name: 'l', type: 'file', path: `${dir}/o2` }] }, { waitReady: false });
  t.equal(await bad.proc.exited, 2);
  t.match(bad.proc.output(), /queue\.statusInterval: must be between 100ms and 1h/);
});
