// Kafka sink: one Kafka message per record, acknowledged by the broker before the queue lets it go. It talks to the
// brokers through a transport (transport.ts: one per client library). Contract for consumers: proto-docs/sinks/kafka.md.
import type { Logger } from 'pino';
import { Secret } from '../../config/secret.js';
import { loadTlsOptions, type TlsClientOptions } from '../../config/tls.js';
import { SCHEMA_VERSION } from '../../record/schema.js';
import { backoffDelay, sleep, type BackoffPolicy } from '../../delivery/backoff.js';
import { SinkError, type OutgoingRecord, type RecordFailure, type SendResult, type Sink, type SinkHealth } from '../sink.js';
import { classifyKafkaError, type KafkaErrorClass } from './errors.js';
import { compileKey, keyNeedsRecord, type KeyFn } from './key.js';
import { LIFECYCLE_EVENT_TYPES, lifecycleMessage } from './lifecycle-key.js';
import { MessageHeaders, type KafkaRecord } from './message.js';
import { PartitionedProducer } from './producer.js';
import { DEFAULT_TRANSPORT, KafkaTransportError, type KafkaTransport, type KafkaTransportName } from './transport.js';
import { createTransport } from './transports.js';
import { configSchema, type KafkaSinkConfig, type SaslMechanism } from './config.js';
import { runEnd } from '../kit/chunk.js';
import { bisectRefused } from '../kit/bisect.js';

export { configSchema, type KafkaSinkConfig };

export interface KafkaSinkContext {
  logger?: Logger;
  /** The client library to produce through (default DEFAULT_TRANSPORT). */
  transport?: KafkaTransportName;
}

const DEFAULT_IN_FLIGHT = 5;
/** Record framing around key, value and headers (length, attributes, deltas, header lengths), rounded up. */
const RECORD_OVERHEAD = 24;

export function createSink(cfg: KafkaSinkConfig, ctx: KafkaSinkContext = {}): KafkaSink {
  return new KafkaSink(cfg, ctx);
}

/** A record routed to its topic, its message encoded-to-be. */
interface Routed {
  topic: string;
  message: KafkaRecord;
}

const NOT_SENT = 'not sent: an earlier request of the batch failed';
/** Quick retries of transient broker errors inside one send(): 100 ms doubling up to 2 s. */
const QUICK_RETRY_BACKOFF: BackoffPolicy = { initialMs: 100, multiplier: 2, maxMs: 2000, jitter: 0 };
/** start()'s background connection attempts until the brokers answer. */
const RECONNECT_BACKOFF: BackoffPolicy = { initialMs: 200, multiplier: 2, maxMs: 10_000, jitter: 0.2 };

export class KafkaSink implements Sink {
  readonly name: string;
  readonly type = 'kafka';
  readonly #cfg: KafkaSinkConfig;
  readonly #log: Logger | undefined;
  readonly #keyOf: KeyFn;
  readonly #needsParse: boolean;
  readonly #acks: -1 | 1;
  readonly #idempotent: boolean;
  readonly #maxPerRequest: number;
  readonly #maxBytesPerRequest: number;
  readonly #maxInFlight: number;
  readonly #requestTimeoutMs: number;
  readonly #clientRetries: number;
  readonly #sasl: { mechanism: SaslMechanism; username: Secret; password: Secret } | undefined;
  readonly #headers: MessageHeaders;
  readonly #transportName: KafkaTransportName;
  #transport: KafkaTransport | undefined;
  #producer: PartitionedProducer | undefined;
  #connected = false;
  #closed = false;
  #connecting: Promise<boolean> | undefined;
  #health: SinkHealth = { ready: false, detail: 'not started' };

  constructor(cfg: KafkaSinkConfig, ctx: KafkaSinkContext = {}) {
    const key = `sinks[${cfg.name}]`;
    this.name = cfg.name;
    this.#cfg = cfg;
    this.#log = ctx.logger?.child({ sink: cfg.name, sinkType: 'kafka' });
    this.#transportName = ctx.transport ?? DEFAULT_TRANSPORT;
    if (!Array.isArray(cfg.brokers) || cfg.brokers.length === 0) throw new Error(`${key}.brokers: at least one "host:port" is required`);
    if (!cfg.topic && !cfg.topicByEventType && !cfg.topicByEnforcementAction) {
      throw new Error(`${key}.topic: required (or topicByEventType / topicByEnforcementAction)`);
    }
    this.#acks = cfg.acks;
    this.#idempotent = cfg.idempotent;
    if (this.#idempotent && this.#acks !== -1) {
      throw new Error(`${key}.acks: the idempotent producer needs acks -1; set idempotent: false to use acks ${this.#acks}`);
    }
    const spec = cfg.key;
    this.#keyOf = compileKey(spec, `${key}.key`);
    this.#needsParse = keyNeedsRecord(spec) || !!cfg.topicByEventType || !!cfg.topicByEnforcementAction;
    this.#maxPerRequest = cfg.maxRecordsPerRequest;
    this.#maxBytesPerRequest = cfg.maxBytesPerRequest;
    // Without idempotence a retried request may land after the one that followed it: one at a time keeps the order.
    this.#maxInFlight = cfg.maxInFlightRequests ?? (this.#idempotent ? DEFAULT_IN_FLIGHT : 1);
    if (!Number.isInteger(this.#maxInFlight) || this.#maxInFlight < 1 || this.#maxInFlight > 5) {
      throw new Error(`${key}.maxInFlightRequests: an integer from 1 to 5 (the broker deduplicates the last 5 batches per producer)`);
    }
    this.#requestTimeoutMs = cfg.requestTimeoutMs;
    this.#clientRetries = cfg.clientRetries;
    this.#headers = new MessageHeaders(cfg.headers);
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
    const errors = await this.#deliver(routed, batch.map((_, i) => i), signal);
    if (errors.size === 0) {
      if (!this.#health.ready) this.#health = { ready: true };
      return {};
    }
    const failures: RecordFailure[] = [];
    const refused: number[] = [];
    let batchLevel: KafkaErrorClass | undefined;
    for (const [index, err] of [...errors].sort((a, b) => a[0] - b[0])) {
      const cls = classifyKafkaError(err);
      if (cls.scope === 'record') refused.push(index);
      else if (cls.scope === 'topic') failures.push({ index, error: `kafka: ${cls.type}: ${cls.message}`, retryable: false });
      else {
        batchLevel ??= cls;
        failures.push({ index, error: this.#batchError(cls).message, retryable: true });
      }
    }
    // Nothing went through and the reason is the broker or the connection: the whole batch failed.
    if (batchLevel && failures.length === batch.length) throw this.#batchError(batchLevel);
    if (refused.length) failures.push(...(await this.#isolate(routed, refused, signal)));
    return { failures };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#connecting;
    const transport = this.#transport;
    this.#transport = undefined;
    this.#producer = undefined;
    this.#connected = false;
    await transport?.close().catch(() => undefined);
  }

  /**
   * Records the broker refused as a group (too large, invalid): bisected until the refused records stand alone; those
   * become permanent failures, the rest goes through. A topic refused for good or a transient error settles a record.
   */
  async #isolate(routed: Routed[], refused: number[], signal: AbortSignal): Promise<RecordFailure[]> {
    const out: RecordFailure[] = [];
    await bisectRefused<number>(
      {
        send: async (items) => {
          const again = new Map<number, unknown>();
          for (const [index, err] of await this.#deliver(routed, [...items], signal)) {
            const cls = classifyKafkaError(err);
            if (cls.scope === 'record') again.set(index, err);
            else if (cls.scope === 'topic') out.push({ index, error: `kafka: ${cls.type}: ${cls.message}`, retryable: false });
            else out.push({ index, error: this.#batchError(cls).message, retryable: true });
          }
          return again;
        },
        refusedAlone: (index, err) => {
          const cls = classifyKafkaError(err);
          this.#log?.warn({ decisionId: routed[index]!.message.decisionId, reason: cls.type }, 'kafka refused a record for good');
          out.push({ index, error: `kafka: ${cls.type}: ${cls.message}`, retryable: false });
        },
      },
      refused,
    );
    return out;
  }

  /**
   * Produces the given records, in order per partition, retrying transient broker errors (leader moved, not enough
   * replicas) up to clientRetries times. Returns the error of every record that did not go through.
   */
  async #deliver(routed: Routed[], indexes: number[], signal: AbortSignal): Promise<Map<number, unknown>> {
    const failed = new Map<number, unknown>();
    let pending = indexes;
    for (let attempt = 0; ; attempt++) {
      const errors = await this.#produceOnce(routed, pending, signal);
      // Records after one the broker refused for good wait for the next send(): retrying them now would put them
      // ahead of the refused request's other records on their partition.
      let firstRefused = Infinity;
      let reconnect = false;
      for (const [i, e] of errors) {
        const cls = classifyKafkaError(e);
        if (cls.scope !== 'batch') firstRefused = Math.min(firstRefused, i);
        if (cls.reconnect) reconnect = true;
      }
      const retry: number[] = [];
      for (const [i, e] of errors) {
        if (!reconnect && !signal.aborted && attempt < this.#clientRetries && i < firstRefused && classifyKafkaError(e).scope === 'batch') retry.push(i);
        else failed.set(i, e);
      }
      if (!retry.length) return failed;
      await sleep(backoffDelay(QUICK_RETRY_BACKOFF, attempt + 1), signal);
      this.#producer?.refreshMetadata();
      pending = retry.sort((a, b) => a - b);
    }
  }

  /**
   * One pass: the records split into requests (maxRecordsPerRequest / maxBytesPerRequest), up to maxInFlightRequests
   * of them in flight. After a failure no further request starts.
   */
  async #produceOnce(routed: Routed[], indexes: number[], signal: AbortSignal): Promise<Map<number, unknown>> {
    const errors = new Map<number, unknown>();
    const failAll = (e: unknown, from = 0) => {
      for (let k = from; k < indexes.length; k++) errors.set(indexes[k]!, e);
      return errors;
    };
    if (!(await this.#ensureConnected(signal, true))) {
      return failAll(new KafkaTransportError(this.#health.detail ?? 'not connected', { retriable: true, reconnect: true }));
    }
    const producer = this.#producer!;
    try {
      await producer.prepare(indexes.map((i) => routed[i]!.topic));
    } catch (e) {
      return failAll(e);
    }
    const inFlight: Promise<Map<number, unknown>>[] = [];
    const settle = async () => {
      for (const [i, e] of await inFlight.shift()!) errors.set(i, e);
    };
    const sizeOf = (k: number) => routed[indexes[k]!]!.message.bytes + RECORD_OVERHEAD;
    let next = 0;
    while (next < indexes.length) {
      while (inFlight.length >= this.#maxInFlight) await settle();
      if (errors.size || signal.aborted) break;
      const end = runEnd(next, indexes.length, this.#maxPerRequest, this.#maxBytesPerRequest, sizeOf);
      const request = indexes.slice(next, end);
      next = end;
      try {
        inFlight.push((await producer.send(routed, request)).done);
      } catch (e) {
        for (const i of request) errors.set(i, e);
      }
    }
    while (inFlight.length) await settle();
    if (next < indexes.length) {
      const why = signal.aborted ? new Error('kafka send aborted') : Object.assign(new Error(NOT_SENT), { retriable: true });
      failAll(why, next);
    }
    return errors;
  }

  #batchError(cls: KafkaErrorClass): SinkError {
    if (cls.reconnect) this.#markDisconnected(cls.message);
    return new SinkError(`kafka: ${cls.type ? `${cls.type}: ` : ''}${cls.message}`, { retryable: true });
  }

  #route(r: OutgoingRecord): Routed {
    let rec: Record<string, unknown> = {};
    if (this.#needsParse || LIFECYCLE_EVENT_TYPES.has(r.eventType) || r.json.includes('"schemaVersion"')) {
      try {
        rec = JSON.parse(r.json) as Record<string, unknown>;
      } catch {
        // The queue only holds valid JSON; an unparsable record still goes out, to the default topic without a key.
      }
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
    const lifecycle = lifecycleMessage(ev, rec, c.violationLifecycle);
    const key = lifecycle?.key ?? this.#keyOf(rec, r);
    return { topic, message: this.#headers.message(key, lifecycle?.tombstone ? null : r.json, r.decisionId, ev, schemaVersion) };
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
    for (let attempt = 1; ; attempt++) {
      if (this.#connected) return true;
      if (signal.aborted || this.#closed) return false;
      if (await this.#connectOnce()) return true;
      if (once) return false;
      const delay = backoffDelay(RECONNECT_BACKOFF, attempt);
      this.#log?.warn({ detail: this.#health.detail, retryInMs: delay }, 'kafka not reachable yet');
      await sleep(delay, signal);
    }
  }

  /** One connection attempt; concurrent callers share it. */
  #connectOnce(): Promise<boolean> {
    this.#connecting ??= (async () => {
      try {
        await this.#transport?.close().catch(() => undefined);
        this.#producer = undefined;
        this.#transport = await this.#newTransport();
        await this.#transport.connect();
        this.#producer = new PartitionedProducer(this.#transport);
        this.#connected = true;
        this.#health = { ready: true };
        this.#log?.info({ brokers: this.#cfg.brokers, client: this.#transportName }, 'kafka producer connected');
        return true;
      } catch (e) {
        this.#health = { ready: false, detail: `cannot connect to ${this.#cfg.brokers.join(',')}: ${(e as Error).message}` };
        return false;
      }
    })().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #newTransport(): Promise<KafkaTransport> {
    const c = this.#cfg;
    return createTransport(this.#transportName, {
      clientId: c.clientId,
      brokers: c.brokers,
      connectionTimeoutMs: c.connectionTimeoutMs,
      requestTimeoutMs: this.#requestTimeoutMs,
      tls: tlsOptions(c.tls, `sinks[${c.name}].tls`),
      sasl: this.#sasl ? { mechanism: this.#sasl.mechanism, username: await this.#sasl.username.value(), password: await this.#sasl.password.value() } : undefined,
      idempotent: this.#idempotent,
      acks: this.#acks,
      gzip: c.compression === 'gzip',
      retries: this.#clientRetries,
      log: this.#log,
    });
  }
}

function tlsOptions(tls: KafkaSinkConfig['tls'], key: string): true | TlsClientOptions | undefined {
  if (tls === undefined || tls === false) return undefined;
  if (tls === true) return true;
  return loadTlsOptions(tls, key);
}
