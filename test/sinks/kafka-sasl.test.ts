// The Kafka sink authenticating with SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) against a real broker, with the
// password taken from a file and from the environment.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createSink } from './kafka-sink-from-config.js';
import { TRANSPORT_NAMES } from '../../exporter/src/sinks/kafka/transport.js';
import { startKafka, kcatReadAll, type KafkaBroker } from '../peers/kafka.js';
import { waitFor } from '../helpers/process.js';
import { batchOf } from './records.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let kafka: KafkaBroker;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-sasl-'));
const pwFile = path.join(dir, 'password');

t.before(async () => {
  kafka = await startKafka({ saslUsers: { alice: 'alice-secret' } });
  fs.writeFileSync(pwFile, 'alice-secret\n');
});
t.teardown(async () => {
  await kafka?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

// Each transport maps the SASL settings to its own library: both are checked.
for (const transport of TRANSPORT_NAMES) {
  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    t.test(`SASL ${mechanism} through ${transport}: records delivered`, async (t) => {
      const topic = `sasl-${mechanism}-${transport}`;
      const sink = createSink(
        { name: mechanism, brokers: [kafka.saslBroker!], topic, sasl: { mechanism, username: 'alice', password: { file: pwFile } } },
        { logger, transport },
      );
      const ac = new AbortController();
      await sink.start(ac.signal);
      const batch = batchOf(100);
      const res = await sink.send(batch, ac.signal);
      t.same(res.failures ?? [], []);
      const got = await kcatReadAll(kafka.broker, topic);
      t.equal(new Set(got.map((m) => m.headers['decisionId'])).size, 100);
      await sink.close();
    });
  }

  t.test(`wrong password through ${transport}: not ready, the reason reported, no secret in it`, async (t) => {
    process.env['KAFKA_TEST_PASSWORD'] = 'not-the-password';
    const sink = createSink(
      { name: 'bad', brokers: [kafka.saslBroker!], topic: 'x', sasl: { mechanism: 'scram-sha-256', username: 'alice', password: { env: 'KAFKA_TEST_PASSWORD' } } },
      { logger, transport },
    );
    const ac = new AbortController();
    await sink.start(ac.signal);
    await waitFor('the failure reported', () => /SASL|[Aa]uthentication/.test(sink.health().detail ?? ''), 30_000);
    t.equal(sink.health().ready, false);
    t.notMatch(sink.health().detail ?? '', /not-the-password/);
    ac.abort();
    await sink.close();
  });
}
