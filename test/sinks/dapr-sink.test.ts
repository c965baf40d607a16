// The Dapr sink against real daprd sidecars and Redis: publisher daprd (pubsub.redis) -> Redis -> subscriber daprd -> app.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import pino from 'pino';
import { createSink as createDaprSink, type DaprSinkContext, type DaprSinkConfig } from '../../exporter/src/sinks/dapr/sink.js';
import { resolveSinkConfig } from '../../exporter/src/config/resolve.js';

/** A dapr sink from its keys as the config file writes them. */
const createSink = (cfg: Record<string, unknown>, ctx?: DaprSinkContext) => createDaprSink(resolveSinkConfig<DaprSinkConfig>({ type: 'dapr', ...cfg }), ctx);
import { SinkError, type OutgoingRecord } from '../../exporter/src/sinks/sink.js';
import { startRedis, redisCommand, type RedisServer } from '../peers/redis.js';
import { startDaprd, redisPubsub, type Daprd } from '../peers/dapr.js';
import { waitFor } from '../helpers/process.js';
import { startSubscriber, GATEKEEPER_FIELDS, type Subscriber } from './dapr-subscriber.js';
import { batchOf, decisionRecord, outgoing } from './records.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const TOKEN = 'test-dapr-api-token';
let redis: RedisServer;
let pub: Daprd;
let subDaprd: Daprd;
let sub: Subscriber;
let rawSub: Subscriber;
let rawSubDaprd: Daprd;

t.before(async () => {
  redis = await startRedis();
  sub = await startSubscriber('pubsub', 'audit-channel');
  rawSub = await startSubscriber('pubsub', 'raw-channel', { raw: true });
  const components = [redisPubsub('pubsub', redis.address)];
  pub = await startDaprd({ appId: 'exporter', components, apiToken: TOKEN });
  subDaprd = await startDaprd({ appId: 'subscriber', components, appPort: sub.port });
  rawSubDaprd = await startDaprd({ appId: 'raw-subscriber', components, appPort: rawSub.port });
});
t.teardown(async () => {
  await Promise.allSettled([pub?.stop(), subDaprd?.stop(), rawSubDaprd?.stop()]);
  await Promise.allSettled([redis?.stop(), sub?.close(), rawSub?.close()]);
});

/** Delivers like the delivery worker: retries what failed retryably; returns what was refused for good and how many sends. */
async function deliver(sink: ReturnType<typeof createSink>, batch: readonly OutgoingRecord[], signal: AbortSignal) {
  let pending = [...batch];
  const refused: OutgoingRecord[] = [];
  const retried: OutgoingRecord[][] = [];
  let attempts = 0;
  while (pending.length) {
    if (++attempts > 300) throw new Error('gave up after 300 attempts');
    try {
      const res = await sink.send(pending, signal);
      const retry: OutgoingRecord[] = [];
      for (const f of res.failures ?? []) (f.retryable ? retry : refused).push(pending[f.index]!);
      if (retry.length) retried.push(retry);
      pending = retry;
    } catch (e) {
      if (e instanceof SinkError && !e.retryable) throw e;
    }
    if (pending.length) await new Promise((r) => setTimeout(r, 200));
  }
  return { refused, retried, attempts };
}

function receivedIds(s: Subscriber): Map<string, number> {
  const m = new Map<string, number>();
  for (const d of s.delivered) {
    const id = d.record['decisionId'] as string;
    m.set(id, (m.get(id) ?? 0) + 1);
  }
  return m;
}

t.test('every record arrives, readable by a Gatekeeper subscriber unchanged', async (t) => {
  const sink = createSink({ name: 'd', url: pub.url, component: 'pubsub', apiToken: TOKEN }, { logger });
  const ac = new AbortController();
  await sink.start(ac.signal);
  await waitFor('sink ready', () => sink.health().ready, 30_000);
  const batch = batchOf(2000);
  for (let i = 0; i < batch.length; i += 500) t.equal((await deliver(sink, batch.slice(i, i + 500), ac.signal)).refused.length, 0);
  await waitFor('all delivered', () => batch.every((r) => receivedIds(sub).has(r.decisionId)), 60_000);
  t.equal(sub.undecodable.length, 0, 'nothing a Gatekeeper subscriber could not decode');
  const d = sub.delivered.find((x) => x.record['decisionId'] === batch[0]!.decisionId)!;
  const sent = JSON.parse(batch[0]!.json) as Record<string, unknown>;
  for (const f of GATEKEEPER_FIELDS) if (sent[f] !== undefined) t.same(d.record[f], sent[f], `Gatekeeper field ${f} as sent`);
  t.equal(d.cloudEvent['id'], batch[0]!.decisionId, 'CloudEvent id is the decisionId');
  t.equal(d.cloudEvent['datacontenttype'], 'text/plain', 'data encoded as Gatekeeper does');
  t.equal(d.cloudEvent['topic'], 'audit-channel');
  await sink.close();
});

t.test('Gatekeeper connection shape and single publishes', async (t) => {
  const sink = createSink({ name: 'gk', provider: 'dapr', config: { component: 'pubsub' }, url: pub.url, apiToken: TOKEN, bulk: false }, { logger });
  const ac = new AbortController();
  await sink.start(ac.signal);
  const batch = batchOf(50);
  t.equal((await deliver(sink, batch, ac.signal)).refused.length, 0);
  await waitFor('delivered', () => batch.every((r) => receivedIds(sub).has(r.decisionId)), 30_000);
  t.pass('all 50 arrived');
  await sink.close();
});

t.test('CloudEvents with JSON data, bulk and single: the record as stored is the event\'s data', async (t) => {
  for (const bulk of [true, false]) {
    const sink = createSink({ name: 'j', url: pub.url, component: 'pubsub', dataContentType: 'application/json', bulk, apiToken: TOKEN }, { logger });
    const ac = new AbortController();
    const batch = batchOf(30);
    t.equal((await deliver(sink, batch, ac.signal)).refused.length, 0);
    await waitFor('delivered', () => batch.every((r) => receivedIds(sub).has(r.decisionId)), 30_000);
    for (const r of [batch[0]!, batch[29]!]) {
      const d = sub.delivered.find((x) => x.record['decisionId'] === r.decisionId)!;
      t.same(d.record, JSON.parse(r.json), `bulk ${bulk}: the record JSON as is`);
      t.equal(d.cloudEvent['datacontenttype'], 'application/json');
      t.equal(d.cloudEvent['id'], r.decisionId);
      t.equal(d.cloudEvent['source'], 'gk-exporter', 'the default source');
    }
    await sink.close();
  }
  t.equal(sub.undecodable.length, 0);
});

t.test('raw payload', async (t) => {
  const sink = createSink({ name: 'raw', url: pub.url, component: 'pubsub', topic: 'raw-channel', envelope: 'raw', apiToken: TOKEN }, { logger });
  const ac = new AbortController();
  const batch = batchOf(20);
  t.equal((await deliver(sink, batch, ac.signal)).refused.length, 0);
  await waitFor('raw delivered', () => batch.every((r) => receivedIds(rawSub).has(r.decisionId)), 30_000);
  const d = rawSub.delivered.find((x) => x.record['decisionId'] === batch[3]!.decisionId)!;
  t.same(d.record, JSON.parse(batch[3]!.json), 'the record JSON as is');
  t.equal(rawSub.undecodable.length, 0);
  await sink.close();
});

t.test('wrong API token: retryable failure, reported', async (t) => {
  const sink = createSink({ name: 'bad', url: pub.url, component: 'pubsub', apiToken: 'wrong' }, { logger });
  const ac = new AbortController();
  const err = await sink.send(batchOf(1), ac.signal).catch((e: unknown) => e);
  t.ok(err instanceof SinkError && err.retryable, 'retryable SinkError');
  t.match((err as Error).message, /HTTP 401/);
  await sink.close();
});

t.test('daprd stopped and restarted mid-stream: nothing lost', async (t) => {
  t.setTimeout(240_000);
  const sink = createSink({ name: 'crash', url: pub.url, component: 'pubsub', apiToken: TOKEN, readinessInterval: '100ms' }, { logger });
  const ac = new AbortController();
  await sink.start(ac.signal);
  const all = batchOf(3000);
  let attempts = 0;
  let batches = 0;
  let sawUnready = false;
  const watch = setInterval(() => {
    if (!sink.health().ready) sawUnready = true;
  }, 20);
  const restarter = (async () => {
    await new Promise((r) => setTimeout(r, 300));
    await pub.restart({ downMs: 1500 });
  })();
  for (let i = 0; i < all.length; i += 100) {
    const r = await deliver(sink, all.slice(i, i + 100), ac.signal);
    t.equal(r.refused.length, 0);
    attempts += r.attempts;
    batches++;
    await new Promise((r) => setTimeout(r, 20));
  }
  await restarter;
  clearInterval(watch);
  t.ok(attempts > batches, `the outage hit the stream (${attempts} attempts for ${batches} batches)`);
  t.ok(sawUnready, 'health() reported the sidecar down');
  try {
    await waitFor('all delivered after the restart', () => all.every((r) => receivedIds(sub).has(r.decisionId)), 90_000);
  } catch (e) {
    // Tell a publish-side loss (not in Redis) from a subscriber-side one (in Redis, never handed to the app).
    const missing = all.filter((r) => !receivedIds(sub).has(r.decisionId));
    const stream = execFileSync('redis-cli', ['-p', redis.address.split(':')[1]!, 'XRANGE', 'audit-channel', '-', '+'], { maxBuffer: 1 << 30 }).toString();
    const inRedis = missing.filter((r) => stream.includes(r.decisionId)).length;
    console.error(`missing ${missing.length}, of which in the Redis stream: ${inRedis}; app requests ${sub.requests}; subscriber daprd log:\n${subDaprd.output().slice(-3000)}`);
    throw e;
  }
  t.pass(`all ${all.length} arrived`);
  await sink.close();
});

t.test('a partial bulk failure retries only the failed entries', async (t) => {
  t.setTimeout(120_000);
  const sink = createSink({ name: 'partial', url: pub.url, component: 'pubsub', apiToken: TOKEN }, { logger });
  const ac = new AbortController();
  // Redis refuses writes past maxmemory: entries published after it fills fail, the earlier ones are in.
  const info = await redisCommand(redis.address, 'INFO', 'memory');
  const used = Number(/used_memory:(\d+)/.exec(info)![1]);
  await redisCommand(redis.address, 'CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
  await redisCommand(redis.address, 'CONFIG', 'SET', 'maxmemory', String(used + 150_000));
  const batch = Array.from({ length: 200 }, (_, i) => outgoing(decisionRecord(i, { extra: { pad: 'p'.repeat(3000) } })));
  const first = await sink.send(batch, ac.signal);
  const failed = (first.failures ?? []).map((f) => f.index);
  t.ok(failed.length > 0 && failed.length < batch.length, `partial failure (${failed.length} of ${batch.length} failed)`);
  t.ok((first.failures ?? []).every((f) => f.retryable), 'failed entries are retryable');
  await redisCommand(redis.address, 'CONFIG', 'SET', 'maxmemory', '0');
  const retry = failed.map((i) => batch[i]!);
  const r = await deliver(sink, retry, ac.signal);
  t.equal(r.refused.length, 0);
  await waitFor('all delivered', () => batch.every((x) => receivedIds(sub).has(x.decisionId)), 60_000);
  const ids = receivedIds(sub);
  const dup = batch.filter((x) => (ids.get(x.decisionId) ?? 0) > 1);
  t.equal(dup.length, 0, 'no record delivered twice: the successful entries were not sent again');
  await sink.close();
});

t.test('a sidecar that is not there yet: start() does not fail, health() says why', async (t) => {
  const sink = createSink({ name: 'absent', url: 'http://127.0.0.1:1', component: 'pubsub', readinessInterval: '50ms' }, { logger });
  const ac = new AbortController();
  await sink.start(ac.signal);
  await waitFor('not ready reported', () => /127\.0\.0\.1:1/.test(sink.health().detail ?? ''), 10_000);
  t.equal(sink.health().ready, false);
  ac.abort();
  await sink.close();
});

t.test('config: defaults and errors', async (t) => {
  t.throws(() => createSink({ name: 'n' }), /sinks\[n\]\.component: required/);
  t.throws(() => createSink({ name: 'n', component: 'a', config: { component: 'b' } }), /disagree/);
  t.throws(() => createSink({ name: 'n', component: 'a' }, { env: { DAPR_HTTP_PORT: 'x' } }), /DAPR_HTTP_PORT/);
  const s = createSink({ name: 'n', component: 'a' }, { env: { DAPR_HTTP_PORT: '1' } });
  const err = await s.send(batchOf(1), new AbortController().signal).catch((e: unknown) => e);
  t.match((err as Error).message, /127\.0\.0\.1:1/, 'DAPR_HTTP_PORT picks the sidecar address');
  await s.close();
});

t.test('an entry over the sidecar body limit is refused alone, the rest delivered', async (t) => {
  t.setTimeout(120_000);
  const small = await startDaprd({ appId: 'small-body', components: [redisPubsub('pubsub', redis.address)], maxBodySize: '64Ki' });
  t.teardown(() => small.stop());
  const sink = createSink({ name: 'small', url: small.url, component: 'pubsub' }, { logger });
  const ac = new AbortController();
  const batch = batchOf(30);
  batch[11] = outgoing(decisionRecord(11, { extra: { blob: 'b'.repeat(100_000) } }));
  const res = await sink.send(batch, ac.signal);
  const failures = res.failures ?? [];
  t.same(failures.map((f) => [f.index, f.retryable]), [[11, false]], 'only the oversized record, permanently');
  t.match(failures[0]?.error ?? '', /HTTP (400|413).*too large/, 'with the sidecar\'s reason');
  await waitFor('the others delivered', () => batch.every((r, i) => i === 11 || receivedIds(sub).has(r.decisionId)), 60_000);
  t.notOk(receivedIds(sub).has(batch[11]!.decisionId));
  await sink.close();
});
