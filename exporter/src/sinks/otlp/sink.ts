// OTLP sink: decision records as OpenTelemetry logs over OTLP/HTTP (POST /v1/logs), protobuf or JSON, gzip. Retries
// follow the OTLP/HTTP spec: 429/502/503/504 (with Retry-After) and network errors are retryable; 400 is a refusal of
// the request's content (halved by the kit's bisector until the bad records stand alone); a partial success that
// rejects every record of a request fails those records for good. Wire contract: proto-docs/sinks/otlp.md.
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { Agent, request } from '../kit/undici.js';
import { chunkRuns, runIndexes } from '../kit/chunk.js';
import { ContentRefused, PayloadTooLarge, sendRunBisecting } from '../kit/bisect.js';
import { Secret } from '../../config/secret.js';
import { loadTlsOptions } from '../../config/tls.js';
import { parseRetryAfter } from '../../delivery/backoff.js';
import { parseByteSize } from '../http/sink.js';
import { SinkError, type OutgoingRecord, type RecordFailure, type SendResult, type Sink, type SinkHealth } from '../sink.js';
import { configSchema, type AttributeValue, type OtlpSinkConfig } from './config.js';
import { requestJson, responseJson, toLogRecord, type Attributes, type PartialSuccess } from './logs.js';
import { requestProto, responseProto } from './proto.js';

export { configSchema, type OtlpSinkConfig };

const gzip = promisify(gzipCb);
/** OTLP/HTTP: the only retryable statuses. */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const ERROR_BODY_BYTES = 512;

export interface OtlpSinkContext {
  logger?: Logger;
}

export function createSink(cfg: OtlpSinkConfig, ctx: OtlpSinkContext = {}): OtlpSink {
  return new OtlpSink(cfg, ctx);
}

/** A base URL gets the OTLP logs path; a URL with a path of its own is used as is. */
export function logsUrl(endpoint: string, key: string): URL {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new Error(`${key}.endpoint: not a valid URL: ${JSON.stringify(endpoint)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${key}.endpoint: must be http:// or https://, got ${u.protocol}`);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/v1/logs';
  return u;
}

export class OtlpSink implements Sink {
  readonly name: string;
  readonly type = 'otlp';
  readonly #url: URL;
  readonly #json: boolean;
  readonly #gzip: boolean;
  readonly #resource: Attributes;
  readonly #headers: [string, Secret][];
  readonly #bearer: Secret | undefined;
  readonly #agent: Agent;
  readonly #requestMs: number;
  readonly #maxRecords: number;
  readonly #maxBytes: number;
  readonly #log: Logger | undefined;
  /** Sequence numbers the last send() found refused alone (400/413). */
  #refusedAlone = new Set<number>();
  #health: SinkHealth = { ready: true };

  constructor(cfg: OtlpSinkConfig, ctx: OtlpSinkContext = {}) {
    const key = `sinks[${cfg.name}]`;
    this.name = cfg.name;
    this.#url = logsUrl(cfg.endpoint, key);
    const encoding = cfg.encoding ?? 'protobuf';
    if (encoding !== 'protobuf' && encoding !== 'json') throw new Error(`${key}.encoding: must be protobuf or json, got ${JSON.stringify(cfg.encoding)}`);
    this.#json = encoding === 'json';
    this.#gzip = cfg.gzip ?? true;
    const resource: Record<string, AttributeValue> = { 'service.name': 'gk-exporter' };
    if (cfg.clusterName) resource['k8s.cluster.name'] = cfg.clusterName;
    for (const [k, v] of Object.entries(cfg.resourceAttributes ?? {})) {
      if (!['string', 'number', 'boolean'].includes(typeof v)) throw new Error(`${key}.resourceAttributes.${k}: expected a string, number or boolean`);
      resource[k] = v;
    }
    this.#resource = Object.entries(resource);
    this.#headers = Object.entries(cfg.headers ?? {}).map(([h, spec]) => [h.toLowerCase(), Secret.from(spec, `${key}.headers.${h}`)]);
    this.#bearer = cfg.bearerToken === undefined ? undefined : Secret.from(cfg.bearerToken, `${key}.bearerToken`);
    this.#requestMs = positiveInt(cfg.timeouts?.requestMs, 30_000, `${key}.timeouts.requestMs`);
    this.#maxRecords = positiveInt(cfg.batch?.maxRecords, 500, `${key}.batch.maxRecords`);
    this.#maxBytes = cfg.batch?.maxBytes === undefined ? 1024 * 1024 : parseByteSize(cfg.batch.maxBytes, `${key}.batch.maxBytes`);
    this.#log = ctx.logger?.child({ sink: cfg.name });
    const connect = { timeout: positiveInt(cfg.timeouts?.connectMs, 5000, `${key}.timeouts.connectMs`), ...loadTlsOptions(cfg.tls ?? {}, `${key}.tls`) };
    this.#agent = new Agent({ connect, connections: 4, pipelining: 1 });
  }

  async start(): Promise<void> {
    await this.#bearer?.load();
    for (const [, s] of this.#headers) await s.load();
  }

  health(): SinkHealth {
    return this.#health;
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  async send(batch: readonly OutgoingRecord[], signal: AbortSignal): Promise<SendResult> {
    const failures: RecordFailure[] = [];
    let next = 0;
    // The worker retries records refused alone together; halving that retry again would only repeat the last search
    // (2·N requests to a receiver that refuses everything): they fail together.
    const split = !(batch.length > 1 && batch.every((r) => this.#refusedAlone.has(r.seq)));
    const refusedAlone: number[] = [];
    for (const chunk of chunkRuns(batch.length, this.#maxRecords, this.#maxBytes, (i) => batch[i]!.json.length)) {
      try {
        await sendRunBisecting(runIndexes(chunk), {
          post: async (indexes) => {
            const partial = await this.#post(indexes.map((i) => batch[i]!), signal);
            if (partial.rejected === 0) return;
            const why = `collector rejected ${partial.rejected} of ${indexes.length} log records${partial.message ? `: ${partial.message}` : ''}`;
            // OTLP does not say which records it rejected: only a request rejected whole can be failed record by record.
            if (partial.rejected >= indexes.length) for (const index of indexes) failures.push({ index, error: why, retryable: false });
            this.#log?.warn({ rejected: partial.rejected, of: indexes.length }, why);
          },
          splits: (e) => split && e instanceof ContentRefused,
          refusedAlone: (index, e) => {
            failures.push({ index, error: (e as Error).message, retryable: false });
            refusedAlone.push(batch[index]!.seq);
          },
          settled: (n) => (next = n),
        });
      } catch (e) {
        const err = e instanceof SinkError ? e : new SinkError(String((e as Error)?.message ?? e), { retryable: true, cause: e });
        if (next === 0 && failures.length === 0 && err.retryable) throw err;
        // In order: after a retryable failure nothing else goes now; a permanent one fails the rest of its request only.
        const to = err.retryable ? batch.length : chunk.end;
        for (let i = next; i < to; i++) failures.push({ index: i, error: err.message, retryable: err.retryable });
        if (err.retryable) break;
        next = to;
      }
    }
    this.#refusedAlone = new Set(refusedAlone);
    return failures.length ? { failures } : {};
  }

  async #post(records: readonly OutgoingRecord[], signal: AbortSignal): Promise<PartialSuccess> {
    const observed = BigInt(Date.now()) * 1_000_000n;
    const logs = records.map((r) => toLogRecord(r.json, observed));
    const raw = this.#json ? Buffer.from(requestJson(this.#resource, logs)) : requestProto(this.#resource, logs);
    const headers: Record<string, string> = {};
    for (const [h, s] of this.#headers) headers[h] = await s.value();
    headers['content-type'] = this.#json ? 'application/json' : 'application/x-protobuf';
    if (this.#gzip) headers['content-encoding'] = 'gzip';
    if (this.#bearer) headers['authorization'] = `Bearer ${await this.#bearer.value()}`;
    const where = `POST ${this.#url.origin}${this.#url.pathname}`;
    const timeout = AbortSignal.timeout(this.#requestMs);
    let res: Dispatcher.ResponseData;
    let body: Buffer;
    try {
      res = await request(this.#url, {
        method: 'POST',
        headers,
        body: this.#gzip ? await gzip(raw) : raw,
        dispatcher: this.#agent,
        signal: AbortSignal.any([signal, timeout]),
        headersTimeout: this.#requestMs,
        bodyTimeout: this.#requestMs,
      });
      body = Buffer.from(await res.body.arrayBuffer());
    } catch (e) {
      const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
      const why = timeout.aborted ? `timed out after ${this.#requestMs} ms` : [err.code ?? err.cause?.code, err.cause?.message ?? err.message].filter(Boolean).join(': ');
      this.#health = { ready: false, detail: `${where}: ${why}` };
      throw new SinkError(`${where}: ${why}`, { retryable: true, cause: e });
    }
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      this.#health = { ready: true };
      return this.#json ? responseJson(body.toString('utf8')) : responseProto(body);
    }
    const excerpt = body.subarray(0, ERROR_BODY_BYTES).toString('utf8').replace(/[^\x20-\x7e]+/g, ' ').trim();
    const message = `HTTP ${status} from ${where}${excerpt ? `: ${excerpt}` : ''}`;
    if (status === 401 || status === 403) {
      this.#bearer?.invalidate();
      for (const [, s] of this.#headers) s.invalidate();
    }
    if (status === 413) throw new PayloadTooLarge(message);
    if (status === 400) throw new ContentRefused(message);
    const retryable = RETRYABLE_STATUS.has(status);
    if (retryable) this.#health = { ready: false, detail: message };
    const retryAfterMs = retryable ? parseRetryAfter(res.headers['retry-after']) : undefined;
    throw new SinkError(message, { retryable, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
}

function positiveInt(v: number | undefined, dflt: number, key: string): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${key}: expected a positive integer, got ${JSON.stringify(v)}`);
  return v;
}
