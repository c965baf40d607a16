// The real exporter process delivering through a real Dapr sidecar (pubsub.redis) to a subscriber app on a second daprd.
import t from 'tap';
import { startRedis, type RedisServer } from '../peers/redis.js';
import { startDaprd, redisPubsub, type Daprd } from '../peers/dapr.js';
import { waitFor } from '../helpers/process.js';
import { Client, metric, shortDir, startExporter } from '../../exporter/test/helpers/exporter.js';
import { startSubscriber, type Subscriber } from './dapr-subscriber.js';
import { decisionRecord } from './records.js';

const TOKEN = 'exporter-e2e-token';
let redis: RedisServer;
let pub: Daprd;
let subDaprd: Daprd;
let sub: Subscriber;

t.before(async () => {
  redis = await startRedis();
  sub = await startSubscriber('pubsub', 'audit-channel');
  const components = [redisPubsub('pubsub', redis.address)];
  pub = await startDaprd({ appId: 'exporter', components, apiToken: TOKEN });
  subDaprd = await startDaprd({ appId: 'subscriber', components, appPort: sub.port });
});
t.teardown(async () => {
  await Promise.allSettled([pub?.stop(), subDaprd?.stop()]);
  await Promise.allSettled([redis?.stop(), sub?.close()]);
});

t.test('every record arrives through daprd; daprd stopped and restarted mid-stream: nothing lost; redaction at the subscriber', async (t) => {
  t.setTimeout(300_000);
  const N = 5000;
  const dir = shortDir(t);
  const exp = await startExporter(
    t,
    dir,
    {
      sinks: [
        {
          // Gatekeeper's connection shape: provider + config.component, no type.
          name: 'gatekeeper-audit',
          provider: 'dapr',
          config: { component: 'pubsub' },
          redact: [{ path: '/requestUsername', action: 'replace' }],
          filter: { exclude: { namespaces: ['kube-system'] } },
          batch: { maxRecords: 500, linger: '20ms' },
          retry: { initial: '100ms', max: '1s', maxAttempts: 1000 },
        },
      ],
    },
    { env: { DAPR_HTTP_PORT: String(pub.httpPort), DAPR_API_TOKEN: TOKEN } },
  );
  const client = await Client.connect(exp.socket);
  const sent = Array.from({ length: N }, (_, i) => decisionRecord(i, { resourceNamespace: i % 10 === 0 ? 'kube-system' : 'team-a' }));
  const half = N / 2;
  await client.write(sent.slice(0, half).map((r) => JSON.stringify(r) + '\n').join(''));
  await client.waitAck(half, 60_000);
  await pub.halt('SIGKILL');
  await client.write(sent.slice(half).map((r) => JSON.stringify(r) + '\n').join(''));
  await client.waitAck(N, 60_000);
  await waitFor('a delivery failure while daprd is down', async () => (await metric(exp.metricsUrl, 'exporter_delivery_failures_total', { sink: 'gatekeeper-audit' })) > 0, 60_000, 200);
  const readyz = await fetch(`${exp.metricsUrl}/readyz`);
  const body = await readyz.text();
  t.equal(readyz.status, 200, 'a sink that is down does not make the exporter unready');
  t.match(body, /sink gatekeeper-audit: not ready: .*127\.0\.0\.1/, '/readyz says which sink is down and why');
  await pub.resume();
  const wanted = sent.filter((r) => r['resourceNamespace'] !== 'kube-system');
  const got = () => new Set(sub.delivered.map((d) => d.record['decisionId'] as string));
  await waitFor('every record at the subscriber', () => wanted.every((r) => got().has(r['decisionId'] as string)), 180_000, 500);
  t.pass(`all ${wanted.length} routed records arrived`);
  t.match(await (await fetch(`${exp.metricsUrl}/readyz`)).text(), /sink gatekeeper-audit: ready/, '/readyz shows the sink back');
  t.equal(sub.delivered.filter((d) => d.record['resourceNamespace'] === 'kube-system').length, 0, 'the excluded namespace never arrives');
  t.ok(sub.delivered.every((d) => d.record['requestUsername'] === '[redacted]'), 'user names redacted');
  t.equal(sub.undecodable.length, 0, 'a Gatekeeper subscriber decodes every message');
  t.ok((await metric(exp.metricsUrl, 'exporter_records_filtered_total', { sink: 'gatekeeper-audit' })) >= N - wanted.length, 'filtered records counted');
  client.destroy();
});
