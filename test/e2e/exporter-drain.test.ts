// The shutdown drain (shutdownDrain: true, what the chart sets when the queue is on an emptyDir), with the real exporter
// process: SIGTERM while the sink is down holds the process and delivers once the sink is back within shutdownTimeout;
// past it, the undelivered records are abandoned — logged with their count, and still in the queue file.
import t from 'tap';
import { waitFor } from '../helpers/process.js';
import { Client, Receiver, metric, quickRetry, record, shortDir, startExporter } from '../../exporter/test/helpers/exporter.js';

function cfg(receiver: Receiver, shutdownTimeout: string, drain = true) {
  return {
    sinks: [{ name: 'web', type: 'http', url: receiver.url, retry: quickRetry, batch: { linger: '5ms' } }],
    log: { level: 'info' },
    shutdownTimeout,
    shutdownDrain: drain,
  };
}

async function queueRecords(socket: string, prefix: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  const c = await Client.connect(socket);
  await c.write(ids.map((id) => record(id)).join('\n') + '\n');
  await c.waitAck(n);
  c.destroy();
  return ids;
}

const logLines = (out: string) => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

t.test('SIGTERM with the sink down: the exporter waits, and delivers everything when the sink returns in time', { timeout: 120_000 }, async (t) => {
  const dir = shortDir(t);
  const receiver = await Receiver.start(t, 'down503');
  const ex = await startExporter(t, dir, cfg(receiver, '60s'));
  const ids = await queueRecords(ex.socket, 'drain', 1000);
  ex.proc.child.kill('SIGTERM');
  await waitFor('the drain started', () => /delivering the backlog before exiting/.test(ex.proc.output()), 30_000);
  t.equal(await metric(ex.metricsUrl, 'exporter_drain_backlog_records', { sink: 'web' }), 1000, 'the backlog is on /metrics while draining');
  t.equal(ex.proc.child.exitCode, null, 'still running: the sink is down and the deadline is far');
  t.equal(receiver.records.length, 0);
  receiver.mode = 'ok';
  t.equal(await ex.proc.exited, 0, 'exits cleanly once delivered');
  t.same([...new Set(receiver.ids())].sort(), [...ids].sort(), 'all 1000 delivered before exiting');
  t.equal(receiver.records.length, 1000, 'each once');
  t.match(ex.proc.output(), /backlog delivered/);
  t.notMatch(ex.proc.output(), /undelivered/);
});

t.test('the sink stays down past shutdownTimeout: the abandoned records are logged with their count, and stay queued', { timeout: 120_000 }, async (t) => {
  const dir = shortDir(t);
  const receiver = await Receiver.start(t, 'down503');
  const ex = await startExporter(t, dir, cfg(receiver, '3s'));
  const ids = await queueRecords(ex.socket, 'abandon', 500);
  ex.proc.child.kill('SIGTERM');
  await waitFor('the drain started', () => /delivering the backlog before exiting/.test(ex.proc.output()), 30_000);
  t.equal(await metric(ex.metricsUrl, 'exporter_drain_backlog_records', { sink: 'web' }), 500);
  t.equal(await ex.proc.exited, 0);
  const abandoned = logLines(ex.proc.output()).filter((l) => /deadline reached with records undelivered/.test(String(l['msg'])));
  t.equal(abandoned.length, 1, 'one line says what was abandoned');
  t.same(abandoned[0]!['abandoned'], { web: 500 }, 'with the count per sink');
  t.equal(abandoned[0]!['records'], 500);
  t.equal(receiver.records.length, 0);
  // A queue that survives the pod (the chart's StatefulSet mode) delivers them after the restart.
  receiver.mode = 'ok';
  const again = await startExporter(t, dir, cfg(receiver, '3s'));
  await waitFor('the 500 abandoned records delivered after the restart', () => receiver.records.length >= 500, 60_000);
  t.same([...new Set(receiver.ids())].sort(), [...ids].sort(), 'exactly the 500, none lost');
  t.equal(receiver.records.length, 500, 'each once');
  await again.proc.kill('SIGTERM');
});

t.test('without shutdownDrain (the default) SIGTERM does not wait for a down sink', { timeout: 60_000 }, async (t) => {
  const dir = shortDir(t);
  const receiver = await Receiver.start(t, 'down503');
  const ex = await startExporter(t, dir, cfg(receiver, '60s', false));
  await queueRecords(ex.socket, 'nodrain', 100);
  t.equal(await ex.proc.kill('SIGTERM'), 0);
  t.notMatch(ex.proc.output(), /delivering the backlog/);
  t.equal(receiver.records.length, 0);
});
