// The Kafka sink over TLS with a client certificate (mutual TLS) against a real broker; certificates made with openssl.
import t from 'tap';
import { execFileSync } from 'node:child_process';
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
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-tls-'));
const f = (name: string) => path.join(dir, name);
let kafka: KafkaBroker;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a broker certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
function makeCerts(): void {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca-key.pem'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=test-ca');
  for (const [name, ext] of [
    ['broker', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}-key.pem`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`);
    fs.writeFileSync(f(`${name}.ext`), `${ext}\n`);
    openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`));
  }
  // Kafka's PEM keystore: the PKCS#8 key, then the certificate chain.
  openssl('pkcs8', '-topk8', '-nocrypt', '-in', f('broker-key.pem'), '-out', f('broker-key8.pem'));
  fs.writeFileSync(f('broker-keystore.pem'), fs.readFileSync(f('broker-key8.pem'), 'utf8') + fs.readFileSync(f('broker.pem'), 'utf8'));
}

t.before(async () => {
  makeCerts();
  kafka = await startKafka({ tls: { keystorePem: f('broker-keystore.pem'), truststorePem: f('ca.pem') } });
});
t.teardown(async () => {
  await kafka?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

// Each transport maps the TLS settings to its own library: both are checked.
for (const transport of TRANSPORT_NAMES) {
  t.test(`mutual TLS through ${transport}: records delivered`, async (t) => {
    const sink = createSink(
      { name: 'tls', brokers: [kafka.tlsBroker!], topic: `tls-${transport}`, tls: { caFile: f('ca.pem'), certFile: f('client.pem'), keyFile: f('client-key.pem') } },
      { logger, transport },
    );
    const ac = new AbortController();
    await sink.start(ac.signal);
    const batch = batchOf(200);
    t.same((await sink.send(batch, ac.signal)).failures ?? [], []);
    const got = await kcatReadAll(kafka.broker, `tls-${transport}`);
    t.equal(new Set(got.map((m) => m.headers['decisionId'])).size, 200);
    await sink.close();
  });

  t.test(`without the client certificate through ${transport}: not ready, reported`, async (t) => {
    const sink = createSink({ name: 'nocert', brokers: [kafka.tlsBroker!], topic: `tls-${transport}`, tls: { caFile: f('ca.pem') }, connectionTimeout: '2s' }, { logger, transport });
    const ac = new AbortController();
    await sink.start(ac.signal);
    await waitFor('the failure reported', () => /cannot connect/.test(sink.health().detail ?? ''), 30_000);
    t.equal(sink.health().ready, false);
    ac.abort();
    await sink.close();
  });
}

t.test('an unreadable CA file is a config error naming the key', async (t) => {
  const sink = createSink({ name: 'badca', brokers: [kafka.tlsBroker!], topic: 'x', tls: { caFile: f('missing.pem') } }, { logger });
  const ac = new AbortController();
  await sink.start(ac.signal);
  await waitFor('the failure reported', () => /sinks\[badca\]\.tls\.caFile: cannot read/.test(sink.health().detail ?? ''), 10_000);
  ac.abort();
  await sink.close();
});
