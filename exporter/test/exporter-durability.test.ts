// kill -9 of the exporter in the middle of a stream: after a restart every acknowledged decisionId reaches the sink,
// and a client that resends what was not acknowledged gets everything there (at-least-once).
import t from 'tap';
import path from 'node:path';
import { Client, readNdjson, record, runCli, shortDir, startExporter } from './helpers/exporter.js';
import { waitFor } from '../../test/helpers/process.js';

// Both ways of committing: on the main thread, and on the queue's writer thread (acks once that thread has committed).
for (const writerThread of [false, true]) {
  t.test(`kill -9 mid-stream${writerThread ? ' (queue.writerThread)' : ''}, restart: no acknowledged record lost, none corrupted`, async (t) => {
    const dir = shortDir(t);
    const out = path.join(dir, 'out.ndjson');
    const cfg = { queue: { path: path.join(dir, 'queue.db'), writerThread }, sinks: [{ name: 'local', type: 'file', path: out }] };
    const ex = await startExporter(t, dir, cfg);

    const conns = 3;
    const perConn = 30_000;
    const clients = await Promise.all(Array.from({ length: conns }, () => Client.connect(ex.socket)));
    const ids = (c: number) => Array.from({ length: perConn }, (_, i) => `k9-${c}-${i}`);
    // Stream in chunks without waiting for acks; kill once a good share is acknowledged.
    const writers = clients.map(async (c, ci) => {
      const all = ids(ci);
      for (let i = 0; i < perConn && !c.closed; i += 200) {
        try {
          await c.write(all.slice(i, i + 200).map((id) => record(id, { pad: 'p'.repeat(200) }) + '\n').join(''));
        } catch {
          return;
        }
      }
    });
    await waitFor('some acks on every connection', () => clients.every((c) => c.acked > 2_000), 60_000, 5);
    await ex.proc.kill('SIGKILL');
    await Promise.all(writers);
    const acked = clients.map((c) => c.acked);
    t.ok(acked.every((a) => a > 0 && a < perConn), `killed mid-stream (acked per connection: ${acked.join(', ')})`);

    const again = await startExporter(t, dir, cfg);
    const mustHave = new Set(clients.flatMap((_, ci) => ids(ci).slice(0, acked[ci])));
    await waitFor(
      'every acknowledged record in the sink',
      () => {
        const got = new Set(readNdjson(out).map((r) => r['decisionId'] as string));
        for (const id of mustHave) if (!got.has(id)) return false;
        return true;
      },
      90_000,
      250,
    );
    const delivered = readNdjson(out); // parses every line: a corrupt one would throw
    t.ok(delivered.every((r) => r['eventType'] === 'admission_decision' && typeof r['pad'] === 'string'), 'records intact');
    t.pass(`all ${mustHave.size} acknowledged records delivered after the restart`);

    // The client resends what was not acknowledged: then everything sent is there.
    await Promise.all(
      clients.map(async (_, ci) => {
        const c = await Client.connect(again.socket);
        const rest = ids(ci).slice(acked[ci]);
        for (let i = 0; i < rest.length; i += 500) await c.write(rest.slice(i, i + 500).map((id) => record(id, { pad: 'p'.repeat(200) }) + '\n').join(''));
        await c.waitAck(rest.length, 60_000);
        c.destroy();
      }),
    );
    await waitFor('everything delivered', () => new Set(readNdjson(out).map((r) => r['decisionId'])).size === conns * perConn, 90_000, 250);
    t.pass('at-least-once: every record sent reached the sink');

    await again.proc.kill('SIGTERM');
    t.equal(await again.proc.exited, 0, 'graceful stop on SIGTERM');
    const st = await runCli(['status', '--queue', again.queuePath, '-o', 'json']);
    const status = JSON.parse(st.out) as { sinks: { sink: string; depth: number; delivered: number }[] };
    t.equal(status.sinks[0]!.depth, 0, 'status (exporter down): nothing left for the sink');
  });
}
