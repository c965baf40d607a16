// The real exporter with a Dapr sink whose real sidecar (daprd, pubsub.redis) is not up at first: the exporter starts
// anyway, /readyz and `exporter status` say the sink waits for its sidecar; once daprd is up, both show it ready and
// the queued records go out; the sidecar killed while the sink is idle shows as not ready again.
import t from 'tap';
import { startRedis, type RedisServer } from '../peers/redis.js';
import { startDaprd, redisPubsub, type Daprd } from '../peers/dapr.js';
import { waitFor } from '../helpers/process.js';
import { Client, record, runCli, shortDir, startExporter } from '../../exporter/test/helpers/exporter.js';
import type { QueueStatus } from '../../exporter/src/ops/status.js';

let redis: RedisServer;
let daprd: Daprd;

t.before(async () => {
  redis = await startRedis();
  daprd = await startDaprd({ appId: 'exporter-status', components: [redisPubsub('pubsub', redis.address)] });
  await daprd.halt(); // its ports are known; nothing listens until resume()
});
t.teardown(async () => {
  await Promise.allSettled([daprd?.stop()]);
  await Promise.allSettled([redis?.stop()]);
});

async function pubsub(queue: string) {
  const r = await runCli(['status', '--queue', queue, '-o', 'json']);
  if (r.code !== 0) throw new Error(r.out);
  const s = JSON.parse(r.out) as QueueStatus;
  return { exporter: s.exporter, sink: s.sinks.find((k) => k.sink === 'pubsub')! };
}

t.test('a sidecar not ready at start, then ready: /readyz and exporter status follow it', async (t) => {
  t.setTimeout(180_000);
  const dir = shortDir(t);
  const ex = await startExporter(
    t,
    dir,
    {
      queue: { path: `${dir}/queue.db`, statusInterval: '500ms' },
      sinks: [{ name: 'pubsub', type: 'dapr', component: 'pubsub', topic: 'audit-channel', readinessInterval: '200ms', retry: { initial: '100ms', max: '500ms' } }],
    },
    { env: { DAPR_HTTP_PORT: String(daprd.httpPort) } },
  );
  const c = await Client.connect(ex.socket);
  await c.write(['st-1', 'st-2', 'st-3'].map((id) => record(id) + '\n').join(''));
  await c.waitAck(3);
  c.destroy();

  const readyz = await fetch(`${ex.metricsUrl}/readyz`);
  t.equal(readyz.status, 200, 'the exporter is ready while its sidecar is not');
  t.match(await readyz.text(), new RegExp(`sink pubsub: not ready: .*Dapr sidecar at http://127\\.0\\.0\\.1:${daprd.httpPort}`));
  const down = await waitFor('status: not ready', async () => {
    const s = await pubsub(ex.queuePath);
    // Before the sink's first readiness check its detail is "not started": wait for the check's own verdict.
    return s.sink.live && !s.sink.live.ready && s.sink.live.detail !== 'not started' ? s : undefined;
  });
  t.equal(down.exporter.state, 'running');
  t.match(down.sink.live!.detail, new RegExp(`Dapr sidecar at http://127\\.0\\.0\\.1:${daprd.httpPort}`));
  t.equal(down.sink.depth, 3, 'the records wait in the queue');
  const text = await runCli(['status', '--queue', ex.queuePath, '--exit-code']);
  t.equal(text.code, 3);
  t.match(text.out, /^pubsub +dapr +not ready +3 /m);
  t.match(text.out, /exporter status: sink pubsub not ready: .*Dapr sidecar/);

  await daprd.resume();
  const up = await waitFor(
    'status: ready, delivered',
    async () => {
      const s = await pubsub(ex.queuePath);
      return s.sink.live?.ready && s.sink.live.up && s.sink.depth === 0 ? s : undefined;
    },
    90_000,
    300,
  );
  t.equal(up.sink.delivered, 3);
  t.ok(up.sink.live!.lastSuccessAt, 'last success recorded');
  t.match(await (await fetch(`${ex.metricsUrl}/readyz`)).text(), /sink pubsub: ready/);
  const ok = await runCli(['status', '--queue', ex.queuePath, '--exit-code']);
  t.equal(ok.code, 0, ok.out);
  t.match(ok.out, /^pubsub +dapr +up +0 /m);

  // The sidecar goes away while the sink is idle: the sink's own probe notices it, no publish needed.
  await daprd.halt('SIGKILL');
  await waitFor(
    '/readyz: not ready again, with nothing sent',
    async () => /sink pubsub: not ready: .*Dapr sidecar/.test(await (await fetch(`${ex.metricsUrl}/readyz`)).text()),
    30_000,
    200,
  );
  const gone = await waitFor('status: not ready', async () => {
    const s = await pubsub(ex.queuePath);
    return s.sink.live && !s.sink.live.ready ? s : undefined;
  });
  t.match(gone.sink.live!.detail, /Dapr sidecar/, 'status says why');
  t.equal(gone.sink.depth, 0);
  await daprd.resume();
});
