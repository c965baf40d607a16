// HTTP sink: POSTs batches of records as ndjson (default) or a JSON array, optionally gzip-compressed.
// Wire contract: proto-docs/sinks/http.md.
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { Agent, request } from '../kit/undici.js';
import type { Logger } from 'pino';
import { Secret } from '../../config/secret.js';
import { loadTlsOptions } from '../../config/tls.js';
import { parseSize } from '../../config/units.js';
import { parseRetryAfter } from '../../delivery/backoff.js';
import { SinkError, type OutgoingRecord, type RecordFailure, type SendResult, type Sink, type SinkHealth } from '../sink.js';
import { configSchema, type HttpSinkConfig } from './config.js';
import { chunkRuns, runIndexes, type Run } from '../kit/chunk.js';
import { ContentRefused, PayloadTooLarge, sendRunBisecting } from '../kit/bisect.js';
import { EncodedBatch } from './body.js';

export { configSchema, type HttpSinkConfig };

const gzip = promisify(gzipCb);

export interface HttpSinkContext {
  logger?: Logger;
}

/** Bytes from 1048576 / "512Ki" / "1Mi" (config/units.ts), with the config key in the error. */
export function parseByteSize(v: unknown, key: string): number {
  let n: number;
  try {
    n = parseSize(v);
  } catch (e) {
    throw new Error(`${key}: ${(e as Error).message}, got ${JSON.stringify(v)}`);
  }
  if (n < 1) throw new Error(`${key}: must be at least 1 byte`);
  return n;
}

export function createSink(cfg: HttpSinkConfig, ctx: HttpSinkContext = {}): HttpSink {
  return new HttpSink(cfg, ctx);
}

const RETRYABLE_STATUS = new Set([408, 429]);
/** Permanent statuses that may be about some records of the request rather than the endpoint (unlike 401, 403, 404). */
const CONTENT_REFUSAL_STATUS = new Set([400, 409, 422]);

/** Where a send() stands: every record before `next` is settled (delivered or failed for good). */
interface Progress {
  next: number;
  /** Indexes refused alone for their content (CONTENT_REFUSAL_STATUS). */
  refusedAlone: number[];
}

export class HttpSink implements Sink {
  readonly name: string;
  readonly type = 'http';
  readonly #url: URL;
  readonly #method: 'POST' | 'PUT';
  readonly #format: 'ndjson' | 'json-array';
  readonly #gzip: boolean;
  readonly #headers: [string, Secret][];
  readonly #bearer: Secret | undefined;
  readonly #agent: Agent;
  readonly #requestMs: number;
  readonly #maxRecords: number;
  readonly #maxBytes: number;
  readonly #splitOn413: boolean;
  readonly #splitRejected: boolean;
  /** Sequence numbers the last splitting send() found refused alone (see send()). */
  #refusedAlone = new Set<number>();
  readonly #errorBodyBytes: number;
  readonly #log: Logger | undefined;
  #health: SinkHealth = { ready: true };

  constructor(cfg: HttpSinkConfig, ctx: HttpSinkContext = {}) {
    const key = `sinks[${cfg.name}]`;
    this.name = cfg.name;
    try {
      this.#url = new URL(cfg.url);
    } catch {
      throw new Error(`${key}.url: not a valid URL: ${JSON.stringify(cfg.url)}`);
    }
    if (this.#url.protocol !== 'http:' && this.#url.protocol !== 'https:') {
      throw new Error(`${key}.url: must be http:// or https://, got ${this.#url.protocol}`);
    }
    this.#method = cfg.method ?? 'POST';
    if (this.#method !== 'POST' && this.#method !== 'PUT') throw new Error(`${key}.method: must be POST or PUT`);
    this.#format = cfg.format ?? 'ndjson';
    if (this.#format !== 'ndjson' && this.#format !== 'json-array') {
      throw new Error(`${key}.format: must be ndjson or json-array, got ${JSON.stringify(cfg.format)}`);
    }
    this.#gzip = cfg.gzip ?? false;
    this.#headers = Object.entries(cfg.headers ?? {}).map(([h, spec]) => [h.toLowerCase(), Secret.from(spec, `${key}.headers.${h}`)]);
    this.#bearer = cfg.bearerToken === undefined ? undefined : Secret.from(cfg.bearerToken, `${key}.bearerToken`);
    this.#requestMs = positiveInt(cfg.timeouts?.requestMs, 30_000, `${key}.timeouts.requestMs`);
    this.#maxRecords = positiveInt(cfg.batch?.maxRecords, 500, `${key}.batch.maxRecords`);
    this.#maxBytes = cfg.batch?.maxBytes === undefined ? 1024 * 1024 : parseByteSize(cfg.batch.maxBytes, `${key}.batch.maxBytes`);
    this.#splitOn413 = cfg.splitOn413 ?? true;
    const onRejected = cfg.onBatchRejected ?? 'split';
    if (onRejected !== 'split' && onRejected !== 'dead-letter') {
      throw new Error(`${key}.onBatchRejected: must be split or dead-letter, got ${JSON.stringify(cfg.onBatchRejected)}`);
    }
    this.#splitRejected = onRejected === 'split';
    this.#errorBodyBytes = cfg.errorBodyBytes ?? 512;
    this.#log = ctx.logger?.child({ sink: cfg.name });

    const connect = {
      timeout: positiveInt(cfg.timeouts?.connectMs, 5000, `${key}.timeouts.connectMs`),
      ...loadTlsOptions(cfg.tls ?? {}, `${key}.tls`),
    };
    this.#agent = new Agent({ connect, connections: 4, pipelining: 1 });
  }

  async start(): Promise<void> {
    // File secrets are read now so a wrong path shows up at start, not at the first batch.
    await this.#bearer?.load();
    for (const [, s] of this.#headers) await s.load();
  }

  health(): SinkHealth {
    return this.#health;
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  /** Takes what it needs from the records at once (their bytes, seqs, request cuts): none is held during the requests. */
  send(batch: readonly OutgoingRecord[], signal: AbortSignal): Promise<SendResult> {
    try {
      const chunks = chunkRuns(batch.length, this.#maxRecords, this.#maxBytes, (i) => batch[i]!.json.length + 1);
      const seqs = batch.map((r) => r.seq);
      return this.#sendEncoded(new EncodedBatch(batch), seqs, chunks, signal);
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  async #sendEncoded(encoded: EncodedBatch, seqs: readonly number[], chunks: readonly Run[], signal: AbortSignal): Promise<SendResult> {
    const failures: RecordFailure[] = [];
    const count = seqs.length;
    // The worker retries records refused alone together. When that retry is refused again, splitting it once more would
    // only repeat the last search (and hammer a receiver that refuses everything): the records fail together.
    const retryOfRefused = count > 1 && seqs.every((seq) => this.#refusedAlone.has(seq));
    const split = this.#splitRejected && !retryOfRefused;
    const progress: Progress = { next: 0, refusedAlone: [] };
    for (const chunk of chunks) {
      try {
        await this.#deliver(encoded, chunk, signal, failures, progress, split);
      } catch (e) {
        const err = asSinkError(e);
        const from = progress.next;
        // Nothing settled yet and nothing else to send: fail the batch as a whole (keeping Retry-After).
        if (from === 0 && failures.length === 0 && (err.retryable || chunks.length === 1)) throw err;
        // Order matters: nothing after a retryable failure is sent now, so only the rest is sent again. A permanent
        // refusal of one request fails the rest of that request and must not hold up the requests behind it.
        const to = err.retryable ? count : chunk.end;
        for (let i = from; i < to; i++) failures.push({ index: i, error: err.message, retryable: err.retryable });
        if (err.retryable) break;
        progress.next = to;
      }
    }
    if (split) this.#refusedAlone = new Set(progress.refusedAlone.map((i) => seqs[i]!));
    if (progress.refusedAlone.length) {
      this.#log?.warn({ refused: progress.refusedAlone.length, of: count }, 'receiver refused some records; the others were delivered');
    }
    return failures.length ? { failures } : {};
  }

  /**
   * Sends one chunk, in order. A 413 (splitOn413), or a content refusal when splitting, halves it (recursively) until the
   * refused records stand alone: those become permanent failures, the rest is delivered. Throws SinkError for a failure
   * of what is left of the chunk (progress.next says where that starts).
   */
  async #deliver(encoded: EncodedBatch, run: Run, signal: AbortSignal, failures: RecordFailure[], progress: Progress, split: boolean): Promise<void> {
    await sendRunBisecting(runIndexes(run), {
      post: (items) => this.#post(this.#format === 'ndjson' ? encoded.ndjson(items) : encoded.jsonArray(items), items.length, signal),
      splits: (e) => (e instanceof PayloadTooLarge ? this.#splitOn413 : split && e instanceof ContentRefused),
      refusedAlone: (index, e) => {
        failures.push({ index, error: (e as Error).message, retryable: false });
        if (!(e instanceof PayloadTooLarge)) progress.refusedAlone.push(index);
      },
      settled: (next) => (progress.next = next),
      onSplit: (items) => this.#log?.debug({ records: items.length }, 'request refused: splitting it in two'),
    });
  }

  async #post(raw: Buffer, records: number, signal: AbortSignal): Promise<void> {
    const body = this.#gzip ? await gzip(raw) : raw;
    const headers: Record<string, string> = {};
    for (const [h, s] of this.#headers) headers[h] = await s.value();
    headers['content-type'] = this.#format === 'ndjson' ? 'application/x-ndjson' : 'application/json';
    if (this.#gzip) headers['content-encoding'] = 'gzip';
    if (this.#bearer) headers['authorization'] = `Bearer ${await this.#bearer.value()}`;
    headers['x-exporter-records'] = String(records);

    const timeout = AbortSignal.timeout(this.#requestMs);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(this.#url, {
        method: this.#method,
        headers,
        body,
        dispatcher: this.#agent,
        signal: AbortSignal.any([signal, timeout]),
        headersTimeout: this.#requestMs,
        bodyTimeout: this.#requestMs,
      });
    } catch (e) {
      const why = timeout.aborted ? `timed out after ${this.#requestMs} ms` : describeNetworkError(e);
      this.#health = { ready: false, detail: why };
      throw new SinkError(`${this.#method} ${this.#url.origin}${this.#url.pathname}: ${why}`, { retryable: true, cause: e });
    }
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      await res.body.dump();
      this.#health = { ready: true };
      return;
    }
    const excerpt = await readExcerpt(res.body, this.#errorBodyBytes);
    const message = `HTTP ${status} from ${this.#url.origin}${this.#url.pathname}${excerpt ? `: ${excerpt}` : ''}`;
    if (status === 401 || status === 403) {
      // The token may have rotated on disk since the last check: look again before the next attempt.
      this.#bearer?.invalidate();
      for (const [, s] of this.#headers) s.invalidate();
    }
    if (status === 413) throw new PayloadTooLarge(message);
    if (CONTENT_REFUSAL_STATUS.has(status)) throw new ContentRefused(message);
    const retryable = status >= 500 || RETRYABLE_STATUS.has(status);
    this.#health = retryable ? { ready: false, detail: message } : this.#health;
    const retryAfterMs = retryable ? parseRetryAfter(res.headers['retry-after']) : undefined;
    throw new SinkError(message, { retryable, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
}

async function readExcerpt(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  if (max <= 0) {
    await body.dump();
    return '';
  }
  let got = Buffer.alloc(0);
  try {
    for await (const piece of body) {
      got = Buffer.concat([got, piece as Buffer]);
      if (got.length >= max) break;
    }
  } catch {
    // a body cut short is still worth quoting
  }
  // Leaving the loop early destroys the stream; the connection is discarded, which is fine for an error path.
  const text = got.subarray(0, max).toString('utf8').replace(/\s+/g, ' ').trim();
  return got.length > max ? text + '…' : text;
}

function describeNetworkError(e: unknown): string {
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.code ?? err.cause?.code;
  const msg = err.cause?.message ?? err.message ?? String(e);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

function asSinkError(e: unknown): SinkError {
  if (e instanceof SinkError) return e;
  return new SinkError((e as Error)?.message ?? String(e), { retryable: true, cause: e });
}

function positiveInt(v: number | undefined, dflt: number, key: string): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${key}: expected a positive integer, got ${JSON.stringify(v)}`);
  return v;
}
