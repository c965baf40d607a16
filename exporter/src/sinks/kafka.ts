// Kafka sink (kafkajs): one Kafka message per record, acknowledged by the broker before the queue lets it go.
// Contract for consumers: proto-docs/sinks/kafka.md.
import { CompressionTypes, Kafka, logLevel as KafkaLogLevel, type Message, type Producer, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import { Secret, secretSpecSchema, type SecretSpec } from '../config/secret.js';
import { loadTlsOptions, tlsConfigSchema, type TlsClientOptions, type TlsConfig } from '../config/tls.js';
import { SCHEMA_VERSION } from '../record/schema.js';
import { SinkError, type OutgoingRecord, type RecordFailure, type SendResult, type Sink, type SinkHealth } from './sink.js';
import { classifyKafkaError, type KafkaErrorClass } from './kafka/errors.js';
import { compileKey, type KeyFn } from './kafka/key.js';

type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface KafkaSinkConfig {
  name: string;
  /** Bootstrap brokers, "host:port". */
  brokers: string[];
  /** Default topic. Required unless every record is covered by topicByEventType / topicByEnforcementAction. */
  topic?: string;
  /** Topic per eventType; wins over topicByEnforcementAction and topic. */
  topicByEventType?: Record<string, string>;
  /** Topic per enforcementAction (deny, warn, dryrun...); wins over topic. */
  topicByEnforcementAction?: Record<string, string>;
  clientId?: string;
  /** Message key: "resource" (default: resourceNamespace/resourceName), "decisionId", "none", or a template like "{resourceKind}/{resourceName}". */
  key?: string;
  /** -1 (default: all in-sync replicas), 1 (leader only). */
  acks?: -1 | 1;
  /** Idempotent producer (default true; needs acks -1). */
  idempotent?: boolean;
  /** none (default) or gzip. */
  compression?: 'none' | 'gzip';
  /** Records per produce request: a larger batch from the worker is sent as several requests. Default 10000. */
  maxRecordsPerRequest?: number;
  /**
   * Bytes (values, keys and headers, before compression) per produce request. Keep it under the broker's
   * message.max.bytes (default 1 MiB), which bounds a whole record batch. Default 900000.
   */
  maxBytesPerRequest?: number;
  /** Broker request timeout (the broker's wait for replica acks). Default 30000 ms. */
  requestTimeoutMs?: number;
  /** TCP connect timeout. Default 3000 ms. */
  connectionTimeoutMs?: number;
  /** kafkajs' own quick retries inside one send() before the exporter's backoff takes over. Default 3. */
  clientRetries?: number;
  /** Extra static headers on every message. */
  headers?: Record<string, string>;
  /** true: TLS with Node's defaults (its CA store; SNI = the broker's host name); an object: the files and options of TlsConfig. */
  tls?: boolean | TlsConfig;
  sasl?: { mechanism: SaslMechanism; username: SecretSpec; password: SecretSpec };
}

export interface KafkaSinkContext {
  logger?: Logger;
}

/** JSON Schema of the sink's own keys (the common keys name/type/startFrom/batch/retry are checked by the config loader). */
export const configSchema = {
  type: 'object',
  required: ['brokers'],
  additionalProperties: false,
  properties: {
    name: { type: 'string' },
    type: { const: 'kafka' },
    brokers: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^\\s:]+:[0-9]{1,5}$' } },
    topic: { type: 'string', minLength: 1, maxLength: 249 },
    topicByEventType: { type: 'object', additionalProperties: { type: 'string', minLength: 1, maxLength: 249 } },
    topicByEnforcementAction: { type: 'object', additionalProperties: { type: 'string', minLength: 1, maxLength: 249 } },
    clientId: { type: 'string', minLength: 1 },
    key: { type: 'string', minLength: 1 },
    acks: { enum: [-1, 1] },
    idempotent: { type: 'boolean' },
    compression: { enum: ['none', 'gzip'] },
    maxRecordsPerRequest: { type: 'integer', minimum: 1 },
    maxBytesPerRequest: { type: 'integer', minimum: 1024 },
    requestTimeoutMs: { type: 'integer', minimum: 1 },
    connectionTimeoutMs: { type: 'integer', minimum: 1 },
    clientRetries: { type: 'integer', minimum: 0, maximum: 100 },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    tls: { anyOf: [{ type: 'boolean' }, tlsConfigSchema] },
    sasl: {
      type: 'object',
      required: ['mechanism', 'username', 'password'],
      additionalProperties: false,
      properties: {
        mechanism: { enum: ['plain', 'scram-sha-256', 'scram-sha-512'] },
        username: secretSpecSchema,
        password: secretSpecSchema,
      },
    },
  },
} as const;

export function createSink(cfg: KafkaSinkConfig, ctx: KafkaSinkContext = {}): KafkaSink {
  return new KafkaSink(cfg, ctx);
}

/** The fields of a record the sink looks at (topic routing and key), parsed once per record. */
interface Routed {
  topic: string;
  message: Message;
  /** Approximate bytes on the wire before compression (value, key, headers). */
  bytes: number;
}

export class KafkaSink implements Sink {
  readonly name: string;
  readonly type = 'kafka';
  readonly #cfg: KafkaSinkConfig;
  readonly #log: Logger | undefined;
  readonly #keyOf: KeyFn;
  readonly #acks: -1 | 1;
  readonly #compression: CompressionTypes;
  readonly #maxPerRequest: number;
  readonly #maxBytesPerRequest: number;
  readonly #requestTimeoutMs: number;
  readonly #sasl: { mechanism: SaslMechanism; username: Secret; password: Secret } | undefined;
  readonly #extraHeaders: Record<string, string>;
  readonly #headerBytes: number;
  #producer: Producer | undefined;
  #connected = false;
  #closed = false;
  #connecting: Promise<boolean> | undefined;
  #health: SinkHealth = { ready: false, detail: 'not started' };

  constructor(cfg: KafkaSinkConfig, ctx: KafkaSinkContext = {}) {
    const key = `sinks[${cfg.name}]`;
    this.name = cfg.name;
    this.#cfg = cfg;
    this.#log = ctx.logger?.child({ sink: cfg.name, sinkType: 'kafka' });
    if (!Array.isArray(cfg.brokers) || cfg.brokers.length === 0) throw new Error(`${key}.brokers: at least one "host:port" is required`);
    if (!cfg.topic && !cfg.topicByEventType && !cfg.topicByEnforcementAction) {
      throw new Error(`${key}.topic: required (or topicByEventType / topicByEnforcementAction)`);
    }
    this.#acks = cfg.acks ?? -1;
    if ((cfg.idempotent ?? true) && this.#acks !== -1) {
      throw new Error(`${key}.acks: the idempotent producer needs acks -1; set idempotent: false to use acks ${this.#acks}`);
    }
    this.#keyOf = compileKey(cfg.key ?? 'resource', `${key}.key`);
    this.#compression = cfg.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    this.#maxPerRequest = cfg.maxRecordsPerRequest ?? 10_000;
    this.#maxBytesPerRequest = cfg.maxBytesPerRequest ?? 900_000;
    this.#requestTimeoutMs = cfg.requestTimeoutMs ?? 30_000;
    this.#extraHeaders = cfg.headers ?? {};
    this.#headerBytes = Object.entries(this.#extraHeaders).reduce((n, [k, v]) => n + k.length + v.length + 8, 0);
    if (cfg.sasl) {
      this.#sasl = {
        mechanism: cfg.sasl.mechanism,
        username: Secret.from(cfg.sasl.username, `${key}.sasl.username`),
        password: Secret.from(cfg.sasl.password, `${key}.sasl.password`),
      };
    }
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.#sasl) {
      try {
        await this.#sasl.username.load();
        await this.#sasl.password.load();
      } catch (e) {
        this.#health = { ready: false, detail: (e as Error).message };
        this.#log?.error({ err: (e as Error).message }, 'kafka SASL secret unreadable');
        return;
      }
    }
    // Connect in the background: an unreachable broker is reported in health(), never fails the exporter.
    void this.#ensureConnected(signal);
  }

  health(): SinkHealth {
    return this.#health;
  }

  async send(batch: readonly OutgoingRecord[], signal: AbortSignal): Promise<SendResult> {
    if (batch.length === 0) return {};
    const routed = batch.map((r) => this.#route(r));
    const failures: RecordFailure[] = [];
    for (let start = 0; start < batch.length; ) {
      if (signal.aborted) throw new SinkError('kafka send aborted', { retryable: true });
      const indexes: number[] = [];
      let bytes = 0;
      for (let i = start; i < batch.length && indexes.length < this.#maxPerRequest; i++) {
        const size = routed[i]!.bytes;
        if (indexes.length && bytes + size > this.#maxBytesPerRequest) break;
        indexes.push(i);
        bytes += size;
      }
      const outcome = await this.#sendIndexes(routed, indexes, signal);
      if (outcome.kind === 'whole-failed') {
        // Nothing of this request (and nothing after it) was acknowledged.
        if (start === 0) throw outcome.error;
        for (let i = start; i < batch.length; i++) failures.push({ index: i, error: outcome.error.message, retryable: true });
        return { failures };
      }
      failures.push(...outcome.failures);
      start += indexes.length;
    }
    return failures.length ? { failures } : {};
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#connecting;
    const p = this.#producer;
    this.#producer = undefined;
    this.#connected = false;
    await p?.disconnect().catch(() => undefined);
  }

  /**
   * Sends the given records in one request. A record-level refusal (too large, invalid) is narrowed down by halving
   * the request until the refused records stand alone: those become permanent failures, the rest go through.
   */
  async #sendIndexes(
    routed: Routed[],
    indexes: number[],
    signal: AbortSignal,
  ): Promise<{ kind: 'ok'; failures: RecordFailure[] } | { kind: 'whole-failed'; error: SinkError }> {
    const err = await this.#produce(indexes.map((i) => routed[i]!), signal);
    if (!err) return { kind: 'ok', failures: [] };
    const cls = classifyKafkaError(err);
    if (cls.scope === 'record') {
      if (indexes.length === 1) {
        this.#log?.warn({ decisionId: this.#decisionIdOf(routed[indexes[0]!]!), reason: cls.type }, 'kafka refused a record for good');
        return { kind: 'ok', failures: [{ index: indexes[0]!, error: `kafka: ${cls.type}: ${cls.message}`, retryable: false }] };
      }
      const mid = Math.ceil(indexes.length / 2);
      const left = await this.#sendIndexes(routed, indexes.slice(0, mid), signal);
      if (left.kind === 'whole-failed') return left;
      const right = await this.#sendIndexes(routed, indexes.slice(mid), signal);
      if (right.kind === 'whole-failed') {
        const failures = left.failures.concat(indexes.slice(mid).map((index) => ({ index, error: right.error.message, retryable: true })));
        return { kind: 'ok', failures };
      }
      return { kind: 'ok', failures: left.failures.concat(right.failures) };
    }
    if (cls.scope === 'topic') {
      return { kind: 'ok', failures: indexes.map((index) => ({ index, error: `kafka: ${cls.type}: ${cls.message}`, retryable: false })) };
    }
    return { kind: 'whole-failed', error: this.#batchError(cls) };
  }

  #batchError(cls: KafkaErrorClass): SinkError {
    if (cls.reconnect) this.#markDisconnected(cls.message);
    return new SinkError(`kafka: ${cls.type ? `${cls.type}: ` : ''}${cls.message}`, { retryable: true });
  }

  /** One produce request; resolves with the error (or undefined once the broker acknowledged every message). */
  async #produce(items: Routed[], signal: AbortSignal): Promise<unknown> {
    if (!(await this.#ensureConnected(signal, true))) {
      return Object.assign(new Error(this.#health.detail ?? 'not connected'), { name: 'KafkaJSConnectionError', retriable: true });
    }
    const byTopic = new Map<string, Message[]>();
    for (const it of items) {
      const list = byTopic.get(it.topic);
      if (list) list.push(it.message);
      else byTopic.set(it.topic, [it.message]);
    }
    try {
      await this.#producer!.sendBatch({
        acks: this.#acks,
        timeout: this.#requestTimeoutMs,
        compression: this.#compression,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      if (!this.#health.ready) this.#health = { ready: true };
      return undefined;
    } catch (e) {
      return e;
    }
  }

  #route(r: OutgoingRecord): Routed {
    let rec: Record<string, unknown> = {};
    try {
      rec = JSON.parse(r.json) as Record<string, unknown>;
    } catch {
      // The queue only holds valid JSON; an unparsable record still goes out, to the default topic without a key.
    }
    const c = this.#cfg;
    const ev = typeof rec['eventType'] === 'string' ? rec['eventType'] : r.eventType;
    const action = typeof rec['enforcementAction'] === 'string' ? rec['enforcementAction'] : undefined;
    const topic =
      (c.topicByEventType && Object.hasOwn(c.topicByEventType, ev) ? c.topicByEventType[ev] : undefined) ??
      (action !== undefined && c.topicByEnforcementAction && Object.hasOwn(c.topicByEnforcementAction, action)
        ? c.topicByEnforcementAction[action]
        : undefined) ??
      c.topic ??
      '';
    const schemaVersion = typeof rec['schemaVersion'] === 'string' ? rec['schemaVersion'] : SCHEMA_VERSION;
    const key = this.#keyOf(rec, r);
    return {
      topic,
      bytes: r.json.length + (key?.length ?? 0) + r.decisionId.length + ev.length + schemaVersion.length + this.#headerBytes + 80,
      message: {
        key: key ?? null,
        value: r.json,
        headers: {
          ...this.#extraHeaders,
          decisionId: r.decisionId,
          eventType: ev,
          schemaVersion,
          'content-type': 'application/json',
        },
      },
    };
  }

  #decisionIdOf(r: Routed): string | undefined {
    const h = r.message.headers?.['decisionId'];
    return typeof h === 'string' ? h : undefined;
  }

  #markDisconnected(detail: string): void {
    this.#connected = false;
    this.#health = { ready: false, detail };
  }

  /**
   * Connects (or reconnects after a connection-level failure). With once=false it keeps trying until connected or
   * aborted (start() runs it in the background); with once=true it joins or makes a single attempt (the send path,
   * where the worker's backoff paces the attempts).
   */
  async #ensureConnected(signal: AbortSignal, once = false): Promise<boolean> {
    let delay = 200;
    for (;;) {
      if (this.#connected) return true;
      if (signal.aborted || this.#closed) return false;
      if (await this.#connectOnce()) return true;
      if (once) return false;
      this.#log?.warn({ detail: this.#health.detail, retryInMs: delay }, 'kafka not reachable yet');
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 10_000);
    }
  }

  /** One connection attempt; concurrent callers share it. */
  #connectOnce(): Promise<boolean> {
    this.#connecting ??= (async () => {
      try {
        await this.#producer?.disconnect().catch(() => undefined);
        this.#producer = await this.#newProducer();
        await this.#producer.connect();
        this.#connected = true;
        this.#health = { ready: true };
        this.#log?.info({ brokers: this.#cfg.brokers }, 'kafka producer connected');
        return true;
      } catch (e) {
        this.#health = { ready: false, detail: `cannot connect to ${this.#cfg.brokers.join(',')}: ${(e as Error).message}` };
        return false;
      }
    })().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #newProducer(): Promise<Producer> {
    const c = this.#cfg;
    const idempotent = c.idempotent ?? true;
    // kafkajs refuses an idempotent producer without retries.
    const retries = Math.max(c.clientRetries ?? 3, idempotent ? 1 : 0);
    const log = this.#log;
    const kafka = new Kafka({
      clientId: c.clientId ?? 'gk-exporter',
      brokers: c.brokers,
      connectionTimeout: c.connectionTimeoutMs ?? 3000,
      requestTimeout: this.#requestTimeoutMs + 5000,
      retry: { retries, initialRetryTime: 100, maxRetryTime: 2000 },
      ssl: tlsOptions(c.tls, `sinks[${c.name}].tls`),
      sasl: this.#sasl ? await saslOptions(this.#sasl) : undefined,
      logLevel: KafkaLogLevel.WARN,
      logCreator: () => (entry) => {
        const { message, ...rest } = entry.log;
        // Our bounded clientRetries are deliberate: the exporter's own backoff and the queue give at-least-once.
        if (typeof message === 'string' && message.startsWith('Limiting retries for the idempotent producer')) return;
        const fields = { kafkajs: entry.namespace, ...rest };
        if (entry.level <= KafkaLogLevel.ERROR) log?.warn(fields, `kafkajs: ${message}`);
        else if (entry.level === KafkaLogLevel.WARN) log?.warn(fields, `kafkajs: ${message}`);
        else log?.debug(fields, `kafkajs: ${message}`);
      },
    });
    return kafka.producer({
      idempotent,
      maxInFlightRequests: idempotent ? 1 : undefined,
      allowAutoTopicCreation: true,
      retry: { retries, initialRetryTime: 100, maxRetryTime: 2000 },
    });
  }
}

function tlsOptions(tls: KafkaSinkConfig['tls'], key: string): true | TlsClientOptions | undefined {
  if (tls === undefined || tls === false) return undefined;
  if (tls === true) return true;
  return loadTlsOptions(tls, key);
}

async function saslOptions(s: { mechanism: string; username: Secret; password: Secret }): Promise<SASLOptions> {
  const username = await s.username.value();
  const password = await s.password.value();
  return { mechanism: s.mechanism, username, password } as SASLOptions;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
