// Gatekeeper compatibility: a Go subscriber written the way Gatekeeper's Dapr export consumers are (Go SDK, RawData
// unquoted, decoded into Gatekeeper's message struct) receives the exporter's records through real daprd sidecars and
// decodes every Gatekeeper field unchanged. The exporter is the real process, its sink declared in Gatekeeper's shape.
import t from 'tap';
import { startRedis, type RedisServer } from '../peers/redis.js';
import { startDaprd, redisPubsub, type Daprd } from '../peers/dapr.js';
import { waitFor } from '../helpers/process.js';
import { Client, shortDir, startExporter } from '../../exporter/test/helpers/exporter.js';
import { startGatekeeperSubscriber, type GoSubscriber } from './gatekeeper-subscriber.js';
import { decisionRecord } from './records.js';
import { GATEKEEPER_FIELDS } from './dapr-subscriber.js';

let redis: RedisServer;
let pub: Daprd;
let subDaprd: Daprd;
let sub: GoSubscriber;

t.before(async () => {
  redis = await startRedis();
  sub = await startGatekeeperSubscriber('pubsub', 'audit-channel');
  const components = [redisPubsub('pubsub', redis.address)];
  pub = await startDaprd({ appId: 'gatekeeper-audit', components });
  subDaprd = await startDaprd({ appId: 'audit-subscriber', components, appPort: sub.port });
});
t.teardown(async () => {
  await Promise.allSettled([pub?.stop(), subDaprd?.stop(), sub?.stop()]);
  await redis?.stop();
});

t.test("a Gatekeeper Dapr subscriber decodes the exporter's records unchanged", async (t) => {
  t.setTimeout(240_000);
  const dir = shortDir(t);
  const exp = await startExporter(t, dir, { sinks: [{ name: 'audit-connection', provider: 'dapr', config: { component: 'pubsub' } }] }, {
    env: { DAPR_HTTP_PORT: String(pub.httpPort) },
  });
  const client = await Client.connect(exp.socket);
  const sent = [
    ...Array.from({ length: 200 }, (_, i) => decisionRecord(i, { eventType: 'violation_audited', extra: { details: { missing_labels: ['owner'] }, constraintAnnotations: { team: 'sec' } } })),
    ...Array.from({ length: 200 }, (_, i) => decisionRecord(i, { eventType: 'violation_admission', enforcementAction: 'warn' })),
  ];
  await client.write(sent.map((r) => JSON.stringify(r) + '\n').join(''));
  await client.waitAck(sent.length, 60_000);
  const byId = () => new Map(sub.messages().map((m) => [m.cloudEventId, m.msg]));
  await waitFor('every record at the Go subscriber', () => sent.every((r) => byId().has(r['decisionId'] as string)), 120_000, 200);
  t.equal(sub.errors(), '', 'nothing it could not decode');
  const got = byId();
  let mismatches = 0;
  for (const r of sent) {
    const m = got.get(r['decisionId'] as string)!;
    for (const f of GATEKEEPER_FIELDS) {
      // The subscriber re-encodes with Gatekeeper's omitempty tags: an empty string comes back absent.
      const want = r[f] === '' ? undefined : r[f];
      if (JSON.stringify(m[f]) !== JSON.stringify(want)) {
        mismatches++;
        if (mismatches <= 3) t.comment(`${f}: sent ${JSON.stringify(r[f])}, decoded ${JSON.stringify(m[f])}`);
      }
    }
  }
  t.equal(mismatches, 0, `every Gatekeeper field of ${sent.length} records decoded as sent`);
  client.destroy();
});
