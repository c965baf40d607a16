// HTTP sink: POSTs batches of records as ndjson (default) or a JSON array, optionally gzip-compressed.
// Wire contract: proto-docs/sinks/http.md.
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Logger } from 'pino';
import type { OutgoingRecord, RecordFailure } from '../sink.js';
import { configSchema, type HttpSinkConfig } from './config.js';
import { endpointUrl } from '../kit/http-endpoint.js';
import { EndpointSink } from '../kit/endpoint-sink.js';
import { EncodedRecords } from '../kit/encoded-records.js';

export { configSchema, type HttpSinkConfig };

const gzip = promisify(gzipCb);

export interface HttpSinkContext {
  logger?: Logger;
}

export function createSink(cfg: HttpSinkConfig, ctx: HttpSinkContext = {}): HttpSink {
  return new HttpSink(cfg, ctx);
}

const RETRYABLE_STATUS = new Set([408, 429]);
/** Permanent statuses that may be about some records of the request rather than the endpoint (unlike 401, 403, 404). */
const CONTENT_REFUSAL_STATUS = new Set([400, 409, 422]);

export class HttpSink extends EndpointSink<EncodedRecords> {
  readonly type = 'http';
  readonly #ndjson: boolean;
  readonly #gzip: boolean;

  constructor(cfg: HttpSinkConfig, ctx: HttpSinkContext = {}) {
    super(cfg, {
      url: endpointUrl(cfg.url, `sinks[${cfg.name}].url`),
      method: cfg.method,
      status: { contentRefusal: (s) => CONTENT_REFUSAL_STATUS.has(s), retryable: (s) => s >= 500 || RETRYABLE_STATUS.has(s) },
      recordBytes: (r) => r.json.length + 1,
      splitOn413: cfg.splitOn413,
      splitRejected: cfg.onBatchRejected === 'split',
      log: ctx.logger?.child({ sink: cfg.name }),
    });
    this.#ndjson = cfg.format === 'ndjson';
    this.#gzip = cfg.gzip;
  }

  /** The whole batch encoded once: requests (and the halves of a refused one) are cut from its bytes. */
  protected prepare(batch: readonly OutgoingRecord[]): EncodedRecords {
    return new EncodedRecords(batch.map((r) => r.json), { newline: true });
  }

  protected async post(encoded: EncodedRecords, indexes: readonly number[], _failures: RecordFailure[], signal: AbortSignal): Promise<void> {
    const raw = this.#ndjson ? encoded.ndjson(indexes) : encoded.joined(indexes, '[', ',', ']');
    const headers: Record<string, string> = {
      'content-type': this.#ndjson ? 'application/x-ndjson' : 'application/json',
      'x-exporter-records': String(indexes.length),
    };
    if (this.#gzip) headers['content-encoding'] = 'gzip';
    const res = await this.request(this.#gzip ? await gzip(raw) : raw, headers, signal);
    await res.body.dump();
  }
}
