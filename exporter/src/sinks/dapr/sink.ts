// Dapr sink: publishes records through the Dapr sidecar's HTTP pub/sub API (bulk by default, per-entry results).
// Gatekeeper compatible by default: a subscriber written for Gatekeeper's Dapr export reads our records unchanged.
// Contract for consumers: proto-docs/sinks/dapr.md.
import { setMaxListeners } from 'node:events';
import { Agent, request } from '../kit/undici.js';
import type { Logger } from 'pino';
import { Secret } from '../../config/secret.js';
import { sleep } from '../../delivery/backoff.js';
import { SinkError, type OutgoingRecord, type RecordFailure, type SendResult, type Sink, type SinkHealth } from '../sink.js';
import { configSchema, daprComponent, withGatekeeperConnections, type DaprSinkConfig } from './config.js';
import { chunkRuns, runIndexes } from '../kit/chunk.js';
import { ContentRefused, sendRunBisecting } from '../kit/bisect.js';

export { configSchema, daprComponent, withGatekeeperConnections, type DaprSinkConfig };

export interface DaprSinkContext {
  logger?: Logger;
  /** Environment for DAPR_HTTP_PORT / DAPR_API_TOKEN (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export function createSink(cfg: DaprSinkConfig, ctx: DaprSinkContext = {}): DaprSink {
  return new DaprSink(cfg, ctx);
}

interface Attempt {
  /** Indexes (into the batch) that must be tried again, with why. */
  failed: Map<number, string>;
}

export class DaprSink implements Sink {
  readonly name: string;
  readonly type = 'dapr';
  readonly #log: Logger | undefined;
  readonly #base: string;
  readonly #publishPath: string;
  readonly #bulkPath: string;
  readonly #query: string;
  readonly #token: Secret | undefined;
  readonly #envelope: 'cloudevent' | 'raw';
  readonly #textData: boolean;
  readonly #ceSource: string;
  readonly #ceType: string;
  /** A CloudEvent's members after its id when its data is JSON (the same for every record). */
  readonly #jsonEventMembers: string;
  readonly #topic: string;
  readonly #component: string;
  readonly #bulk: boolean;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #concurrency: number;
  readonly #timeoutMs: number;
  readonly #readinessMs: number;
  readonly #agent: Agent;
  #health: SinkHealth = { ready: false, detail: 'not started' };
  #closed = false;
  readonly #stopProbe = new AbortController();

  constructor(cfg: DaprSinkConfig, ctx: DaprSinkContext = {}) {
    const key = `sinks[${cfg.name}]`;
    const env = ctx.env ?? process.env;
    this.name = cfg.name;
    this.#log = ctx.logger?.child({ sink: cfg.name, sinkType: 'dapr' });
    this.#component = daprComponent(cfg);
    this.#topic = cfg.topic;
    const port = env['DAPR_HTTP_PORT'];
    if (!cfg.url && port !== undefined && !/^\d{1,5}$/.test(port)) throw new Error(`${key}.url: DAPR_HTTP_PORT is not a port number: ${JSON.stringify(port)}`);
    this.#base = (cfg.url ?? `http://127.0.0.1:${port || 3500}`).replace(/\/+$/, '');
    try {
      new URL(this.#base);
    } catch {
      throw new Error(`${key}.url: not a URL: ${JSON.stringify(cfg.url)}`);
    }
    const c = encodeURIComponent(this.#component);
    const t = encodeURIComponent(this.#topic);
    this.#publishPath = `/v1.0/publish/${c}/${t}`;
    this.#bulkPath = `/v1.0-alpha1/publish/bulk/${c}/${t}`;
    this.#envelope = cfg.envelope;
    const meta = { ...cfg.metadata, ...(this.#envelope === 'raw' ? { rawPayload: 'true' } : {}) };
    this.#query = Object.entries(meta).length
      ? '?' + Object.entries(meta).map(([k, v]) => `metadata.${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')
      : '';
    this.#token = cfg.apiToken !== undefined
      ? Secret.from(cfg.apiToken, `${key}.apiToken`, { env })
      : env['DAPR_API_TOKEN']
        ? Secret.from({ env: 'DAPR_API_TOKEN' }, `${key}.apiToken`, { env })
        : undefined;
    this.#textData = cfg.dataContentType === 'text/plain';
    this.#ceSource = cfg.cloudEvent.source;
    this.#ceType = cfg.cloudEvent.type;
    this.#jsonEventMembers = `"source":${JSON.stringify(this.#ceSource)},"type":${JSON.stringify(this.#ceType)},"datacontenttype":"application/json"`;
    this.#bulk = cfg.bulk;
    this.#maxEntries = cfg.maxEntriesPerRequest;
    this.#maxBytes = cfg.maxBytesPerRequest;
    this.#concurrency = cfg.concurrency;
    this.#timeoutMs = cfg.requestTimeoutMs;
    this.#readinessMs = cfg.readinessIntervalMs;
    // daprd puts the error details of a partial bulk failure in a response header too: allow large headers.
    this.#agent = new Agent({
      connections: Math.max(this.#concurrency, 4),
      keepAliveTimeout: 10_000,
      connectTimeout: 5000,
      maxHeaderSize: 4 * 1024 * 1024,
    });
  }

  async start(signal: AbortSignal): Promise<void> {
    try {
      await this.#token?.load();
    } catch (e) {
      this.#health = { ready: false, detail: (e as Error).message };
      this.#log?.error({ err: (e as Error).message }, 'dapr API token unreadable');
    }
    // Wait for the sidecar in the background: a sidecar that is not up yet must not fail the exporter.
    void this.#watchHealth(AbortSignal.any([signal, this.#stopProbe.signal]));
  }

  health(): SinkHealth {
    return this.#health;
  }

  async send(batch: readonly OutgoingRecord[], outer: AbortSignal): Promise<SendResult> {
    if (batch.length === 0) return {};
    // One internal signal per send, so parallel requests don't pile listeners onto the worker's signal.
    const ac = new AbortController();
    setMaxListeners(this.#concurrency + 16, ac.signal);
    const onAbort = () => ac.abort(outer.reason);
    if (outer.aborted) onAbort();
    else outer.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.#send(batch, ac.signal);
    } finally {
      outer.removeEventListener('abort', onAbort);
    }
  }

  async #send(batch: readonly OutgoingRecord[], signal: AbortSignal): Promise<SendResult> {
    const failed = new Map<number, string>();
    const permanent: RecordFailure[] = [];
    if (this.#bulk) {
      // A string-valued `data` (text/plain) is escaped in the body: every quote costs a backslash.
      const factor = this.#textData && this.#envelope === 'cloudevent' ? 1.2 : 1;
      const runs = chunkRuns(batch.length, this.#maxEntries, this.#maxBytes, (i) => batch[i]!.json.length * factor + 200);
      // Every entry before `settled` is published, failed alone (failed) or refused alone (permanent).
      let settled = 0;
      for (const run of runs) {
        try {
          await sendRunBisecting(runIndexes(run), {
            post: (items) => this.#bulkPublish(batch, items, signal, failed),
            splits: (e) => e instanceof ContentRefused,
            refusedAlone: (index, e) => permanent.push({ index, error: (e as Error).message, retryable: false }),
            settled: (next) => (settled = next),
          });
        } catch (e) {
          // A request failed as a whole: it and the rest were not published (sent again after the worker's backoff).
          const err = asSinkError(e);
          if (settled === 0 && permanent.length === 0) throw err;
          for (let i = settled; i < batch.length; i++) failed.set(i, err.message);
          break;
        }
      }
    } else {
      const a = await this.#publishEach(batch, signal, permanent);
      if (a.failed.size === batch.length && permanent.length === 0) {
        throw new SinkError(`dapr: every publish failed: ${a.failed.values().next().value}`, { retryable: true });
      }
      for (const [i, why] of a.failed) failed.set(i, why);
    }
    const failures: RecordFailure[] = [...permanent, ...[...failed].map(([index, error]) => ({ index, error, retryable: true }))];
    return failures.length ? { failures } : {};
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopProbe.abort();
    await this.#agent.close();
  }

  get #contentType(): string {
    return this.#envelope === 'raw' ? 'application/json' : 'application/cloudevents+json';
  }

  /** A CloudEvent whose data is the record's JSON as a string (text/plain: Gatekeeper's format, the default). */
  #textEvent(r: OutgoingRecord): object {
    return { specversion: '1.0', id: r.decisionId, source: this.#ceSource, type: this.#ceType, datacontenttype: 'text/plain', data: r.json };
  }

  /**
   * The event Dapr publishes for a record, as JSON text. A record that goes in as JSON (raw, or application/json data)
   * is spliced in as stored: the queue holds validated JSON, and parsing it only to serialise it again cost 1.5 µs per
   * record (README, "The Dapr sink splices records in").
   */
  #eventText(r: OutgoingRecord): string {
    if (this.#envelope === 'raw') return r.json;
    if (this.#textData) return JSON.stringify(this.#textEvent(r));
    return `{"specversion":"1.0","id":${JSON.stringify(r.decisionId)},${this.#jsonEventMembers},"data":${r.json}}`;
  }

  /** The bulk request's body: the entries at `items`, each with its index as entryId. */
  #bulkBody(batch: readonly OutgoingRecord[], items: readonly number[]): string {
    const contentType = this.#contentType;
    // Text data is escaped faster by one JSON.stringify of the whole body than record by record (1.0 against 2.0 µs
    // per record).
    if (this.#envelope === 'cloudevent' && this.#textData) {
      return JSON.stringify(items.map((i) => ({ entryId: String(i), event: this.#textEvent(batch[i]!), contentType })));
    }
    return `[${items.map((i) => `{"entryId":"${i}","event":${this.#eventText(batch[i]!)},"contentType":"${contentType}"}`).join(',')}]`;
  }

  async #headers(contentType: string): Promise<Record<string, string>> {
    const h: Record<string, string> = { 'content-type': contentType };
    if (this.#token) h['dapr-api-token'] = await this.#token.value();
    return h;
  }

  /**
   * One bulk request for the entries at `items` (indexes into batch, in order). Per-entry failures go into `failed`.
   * Throws ContentRefused when the request is refused whole for its content (400 bad entry, 413 too large: the
   * bisector halves it), SinkError otherwise.
   */
  async #bulkPublish(batch: readonly OutgoingRecord[], items: readonly number[], signal: AbortSignal, failed: Map<number, string>): Promise<void> {
    const res = await this.#post(this.#bulkPath, this.#bulkBody(batch, items), 'application/json', signal);
    if (res.status >= 200 && res.status < 300) {
      this.#ok();
      return;
    }
    const text = res.body;
    const failedEntries = res.status === 500 ? parseFailedEntries(text) : undefined;
    if (failedEntries) {
      const sent = new Set(items);
      let n = 0;
      for (const f of failedEntries) {
        const i = Number(f.entryId);
        if (sent.has(i)) {
          failed.set(i, `dapr: ${f.error ?? 'entry failed'}`);
          n++;
        }
      }
      this.#log?.debug({ failed: n, of: items.length }, 'dapr bulk publish: some entries failed');
      this.#health = { ready: true };
      return;
    }
    if ((res.status === 400 || res.status === 413) && !/ERR_PUBSUB_NOT_FOUND|ERR_PUBSUB_EMPTY|ERR_TOPIC_EMPTY/.test(text)) {
      throw new ContentRefused(`dapr: HTTP ${res.status}: ${excerpt(text)}`);
    }
    throw this.#statusError(res.status, text);
  }

  async #publishEach(batch: readonly OutgoingRecord[], signal: AbortSignal, permanent: RecordFailure[]): Promise<Attempt> {
    const failed = new Map<number, string>();
    let next = 0;
    const worker = async () => {
      while (next < batch.length) {
        const i = next++;
        try {
          const res = await this.#post(this.#publishPath, this.#eventText(batch[i]!), this.#contentType, signal);
          if (res.status >= 200 && res.status < 300) continue;
          if ((res.status === 400 || res.status === 413) && !/ERR_PUBSUB_NOT_FOUND/.test(res.body)) {
            permanent.push({ index: i, error: `dapr: HTTP ${res.status}: ${excerpt(res.body)}`, retryable: false });
          } else failed.set(i, this.#statusError(res.status, res.body).message);
        } catch (e) {
          failed.set(i, asSinkError(e).message);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, batch.length) }, worker));
    if (failed.size < batch.length) this.#ok();
    return { failed };
  }

  #ok(): Attempt {
    if (!this.#health.ready) this.#health = { ready: true };
    return { failed: new Map() };
  }

  #statusError(status: number, body: string): SinkError {
    if (status === 401 || status === 403) this.#token?.invalidate();
    return new SinkError(`dapr: HTTP ${status}: ${excerpt(body)}`, { retryable: true });
  }

  async #post(path: string, body: string, contentType: string, signal: AbortSignal): Promise<{ status: number; body: string }> {
    try {
      const res = await request(`${this.#base}${path}${this.#query}`, {
        method: 'POST',
        headers: await this.#headers(contentType),
        body,
        dispatcher: this.#agent,
        signal,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      return { status: res.statusCode, body: await res.body.text() };
    } catch (e) {
      const detail = `cannot reach the Dapr sidecar at ${this.#base}: ${(e as Error).message}`;
      this.#health = { ready: false, detail };
      throw new SinkError(`dapr: ${detail}`, { retryable: true, cause: e });
    }
  }

  /**
   * Probes the sidecar's outbound health: every readinessIntervalMs until it is ready, then every 5x that, so a sidecar
   * that goes away while the sink is idle shows in health() (/readyz, `exporter status`) before the next publish fails.
   */
  async #watchHealth(signal: AbortSignal): Promise<void> {
    let warned = false;
    while (!signal.aborted && !this.#closed) {
      const wasReady = this.#health.ready;
      try {
        const res = await request(`${this.#base}/v1.0/healthz/outbound`, {
          dispatcher: this.#agent,
          signal,
          headers: this.#token ? { 'dapr-api-token': await this.#token.value() } : {},
          headersTimeout: 5000,
          bodyTimeout: 5000,
        });
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) this.#health = { ready: true };
        else this.#health = { ready: false, detail: `Dapr sidecar at ${this.#base} not ready (HTTP ${res.statusCode})` };
      } catch (e) {
        if (signal.aborted || this.#closed) return;
        this.#health = { ready: false, detail: `waiting for the Dapr sidecar at ${this.#base}: ${(e as Error).message}` };
      }
      if (this.#health.ready && !wasReady) {
        this.#log?.info({ url: this.#base, component: this.#component, topic: this.#topic }, 'dapr sidecar ready');
        warned = false;
      } else if (!this.#health.ready && !warned) {
        this.#log?.warn({ detail: this.#health.detail }, wasReady ? 'dapr sidecar no longer ready' : 'dapr sidecar not ready yet');
        warned = true;
      }
      await sleep(this.#health.ready ? this.#readinessMs * 5 : this.#readinessMs, signal);
    }
  }
}

function parseFailedEntries(text: string): { entryId: string; error?: string }[] | undefined {
  try {
    const v = JSON.parse(text) as { failedEntries?: unknown };
    return Array.isArray(v.failedEntries) ? (v.failedEntries as { entryId: string; error?: string }[]) : undefined;
  } catch {
    return undefined;
  }
}

function excerpt(s: string): string {
  return s.length > 300 ? `${s.slice(0, 300)}...` : s;
}

function asSinkError(e: unknown): SinkError {
  return e instanceof SinkError ? e : new SinkError(`dapr: ${(e as Error).message}`, { retryable: true, cause: e });
}
