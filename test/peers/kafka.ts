// A real single-node Kafka broker (KRaft) on free loopback ports, for tests and benchmarks; plus kcat as an
// independent consumer. The broker keeps its log directory across stop()/restart(), so a restart loses nothing acked.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from '../helpers/ports.js';
import { peerPath } from '../helpers/peers.js';
import { start, waitFor, type Started } from '../helpers/process.js';

const run = promisify(execFile);

export interface KafkaBroker {
  /** "127.0.0.1:<port>" */
  readonly broker: string;
  /** "127.0.0.1:<port>" of the SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), when saslUsers was given. */
  readonly saslBroker?: string;
  /** "127.0.0.1:<port>" of the SSL listener (client certificate required), when tls was given. */
  readonly tlsBroker?: string;
  readonly dir: string;
  /** Creates a topic (partitions default 1; extra topic configs such as max.message.bytes). */
  createTopic(topic: string, opts?: { partitions?: number; configs?: Record<string, string> }): Promise<void>;
  /** SIGKILL: the process dies without a clean shutdown. */
  kill(): Promise<void>;
  /** Starts again on the same ports and log directory; resolves when it serves metadata. */
  restart(): Promise<void>;
  /** Stops the broker and deletes its directory. */
  stop(): Promise<void>;
  output(): string;
  /** The broker's process id while it runs (for CPU accounting in benchmarks). */
  pid(): number | undefined;
}

export interface KafkaTls {
  /** PEM file holding the broker's private key (PKCS#8, unencrypted) followed by its certificate chain. */
  keystorePem: string;
  /** PEM file of the CA that signs client certificates. */
  truststorePem: string;
}

/** The broker versions the tests run against: 3 is KAFKA_VERSION (3.9.1), 4 is KAFKA4_VERSION (scripts/peers/versions.env). */
export type KafkaMajor = 3 | 4;

/** The broker version a test file runs against: the KAFKA_MAJOR environment variable (3 or 4), else 3. */
export function kafkaMajorFromEnv(): KafkaMajor {
  return process.env['KAFKA_MAJOR'] === '4' ? 4 : 3;
}

export interface StartKafkaOptions {
  version?: KafkaMajor;
  brokerProps?: Record<string, string>;
  saslUsers?: Record<string, string>;
  tls?: KafkaTls;
  /** The PLAINTEXT listener's port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** More PLAINTEXT listeners, name → host:port, each advertised as given (e.g. an address pods reach). */
  extraListeners?: Record<string, string>;
  /** Rewrites the broker's command line, e.g. to run it inside another network namespace (test/peers/cluster.ts). */
  wrap?: (cmd: string, args: string[]) => [string, string[]];
}

export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const home = peerPath(opts.version === 4 ? 'kafka4' : 'kafka');
  const dir = mkdtempSync(path.join(tmpdir(), 'kafka-'));
  const port = opts.port ?? (await freePort());
  const controllerPort = await freePort();
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': path.join(dir, 'data'),
    'num.partitions': '1',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'true',
    ...opts.brokerProps,
  };
  for (const [name, address] of Object.entries(opts.extraListeners ?? {})) {
    props['listeners'] += `,${name}://${address}`;
    props['advertised.listeners'] += `,${name}://${address}`;
    props['listener.security.protocol.map'] += `,${name}:PLAINTEXT`;
  }
  let tlsPort: number | undefined;
  if (opts.tls) {
    tlsPort = await freePort();
    props['listeners'] += `,SSL://127.0.0.1:${tlsPort}`;
    props['advertised.listeners'] += `,SSL://127.0.0.1:${tlsPort}`;
    props['listener.security.protocol.map'] += ',SSL:SSL';
    props['ssl.keystore.type'] = 'PEM';
    props['ssl.keystore.location'] = opts.tls.keystorePem;
    props['ssl.truststore.type'] = 'PEM';
    props['ssl.truststore.location'] = opts.tls.truststorePem;
    props['ssl.client.auth'] = 'required';
  }
  let saslPort: number | undefined;
  const scramArgs: string[] = [];
  if (opts.saslUsers) {
    saslPort = await freePort();
    const users = Object.entries(opts.saslUsers);
    props['listeners'] += `,SASL_PLAINTEXT://127.0.0.1:${saslPort}`;
    props['advertised.listeners'] += `,SASL_PLAINTEXT://127.0.0.1:${saslPort}`;
    props['listener.security.protocol.map'] += ',SASL_PLAINTEXT:SASL_PLAINTEXT';
    props['sasl.enabled.mechanisms'] = 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512';
    const q = (v: string) => JSON.stringify(v);
    props['listener.name.sasl_plaintext.plain.sasl.jaas.config'] =
      `org.apache.kafka.common.security.plain.PlainLoginModule required ${users.map(([u, pw]) => `user_${u}=${q(pw)}`).join(' ')};`;
    for (const m of ['scram-sha-256', 'scram-sha-512']) {
      props[`listener.name.sasl_plaintext.${m}.sasl.jaas.config`] = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
    }
    for (const [u, pw] of users) {
      for (const m of ['SCRAM-SHA-256', 'SCRAM-SHA-512']) scramArgs.push('--add-scram', `${m}=[name=${u},password=${pw}]`);
    }
  }
  const propsFile = path.join(dir, 'server.properties');
  writeFileSync(propsFile, Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const cp = `${home}/libs/*`;
  const env = { ...process.env, KAFKA_HEAP_OPTS: '', LOG_DIR: dir };
  // Kafka 3 logs through reload4j (log4j.properties), Kafka 4 through log4j 2 (log4j2.properties): each reads its own.
  const logging = [`-Dlog4j.configuration=file:${home}/log4j.properties`, `-Dlog4j2.configurationFile=${home}/log4j2.properties`];
  const javaArgs = ['-Xms256m', '-Xmx768m', '-XX:+UseG1GC', ...logging, '-cp', cp];
  const clusterId = randomUUID().replace(/-/g, '').slice(0, 22);
  await run('java', [...javaArgs, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile, '--ignore-formatted', ...scramArgs], { env });

  let proc: Started | undefined;
  let log = '';
  const broker = `127.0.0.1:${port}`;
  const kafka = new Kafka({ clientId: 'test-admin', brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 0 } });

  async function launch(): Promise<void> {
    const [cmd, args] = opts.wrap ? opts.wrap('java', [...javaArgs, 'kafka.Kafka', propsFile]) : ['java', [...javaArgs, 'kafka.Kafka', propsFile]];
    proc = start(cmd, args, { env });
    const p = proc;
    await waitFor(
      `kafka on ${broker}`,
      async () => {
        if (p.child.exitCode !== null) throw new Error(`kafka exited: ${p.output().slice(-2000)}`);
        const admin = kafka.admin();
        try {
          await admin.connect();
          const md = await admin.describeCluster();
          return md.brokers.length > 0;
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
      },
      90_000,
      300,
    );
  }
  async function halt(signal: NodeJS.Signals): Promise<void> {
    if (!proc) return;
    log += proc.output();
    const p = proc;
    proc = undefined;
    await p.kill(signal);
  }
  await launch();
  return {
    broker,
    ...(saslPort ? { saslBroker: `127.0.0.1:${saslPort}` } : {}),
    ...(tlsPort ? { tlsBroker: `127.0.0.1:${tlsPort}` } : {}),
    dir,
    async createTopic(topic, o = {}) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        // kafkajs' own wait for leaders can throw an unhandled UNKNOWN_TOPIC_OR_PARTITION on a busy machine: poll instead.
        await admin.createTopics({
          waitForLeaders: false,
          topics: [
            {
              topic,
              numPartitions: o.partitions ?? 1,
              replicationFactor: 1,
              configEntries: Object.entries(o.configs ?? {}).map(([name, value]) => ({ name, value })),
            },
          ],
        });
        await waitFor(
          `leaders for ${topic}`,
          async () => {
            const md = await admin.fetchTopicMetadata({ topics: [topic] });
            const parts = md.topics[0]?.partitions ?? [];
            return parts.length === (o.partitions ?? 1) && parts.every((p) => p.leader >= 0);
          },
          60_000,
          100,
        );
      } finally {
        await admin.disconnect();
      }
    },
    kill: () => halt('SIGKILL'),
    restart: launch,
    async stop() {
      await halt('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => log + (proc?.output() ?? ''),
    pid: () => proc?.child.pid,
  };
}

export interface KcatMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

/**
 * Reads every message of a topic from the beginning with kcat (an independent client: librdkafka, not kafkajs) and
 * exits at the end of the partitions.
 */
export async function kcatReadAll(broker: string, topic: string): Promise<KcatMessage[]> {
  const kcat = peerPath('kcat');
  const { stdout } = await run(kcat, ['-C', '-b', broker, '-t', topic, '-o', 'beginning', '-e', '-q', '-J'], {
    maxBuffer: 1024 * 1024 * 1024,
    timeout: 120_000,
  });
  const out: KcatMessage[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const m = JSON.parse(line) as {
      topic: string;
      partition: number;
      offset: number;
      key: string | null;
      payload: string;
      headers?: string[];
    };
    const headers: Record<string, string> = {};
    const h = m.headers ?? [];
    for (let i = 0; i + 1 < h.length; i += 2) headers[h[i]!] = h[i + 1]!;
    out.push({ topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, value: m.payload, headers });
  }
  return out;
}
