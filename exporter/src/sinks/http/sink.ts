// HTTP sink: POSTs batches of records as ndjson (default) or a JSON array, optionally gzip-compressed.
// Wire contract: proto-docs/sinks/http.md.
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Logger } from 'pino';
import type { OutgoingRecord, SendResult, Sink, SinkHealth } from '../sink.js';
import { configSchema, type HttpSinkConfig } from './config.js';
import { HttpEndpoint, endpointUrl } from '../kit/http-endpoint.js';
import { RequestSplitter } from '../kit/request-splitter.js';

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

export class HttpSink implements Sink {
  readonly name: string;
  readonly type = 'http';
  readonly #endpoint: HttpEndpoint;
  readonly #ndjson: boolean;
  readonly #gzip: boolean;
  readonly #requests: RequestSplitter;

  constructor(cfg: HttpSinkConfig, ctx: HttpSinkContext = {}) {
    this.name = cfg.name;
    this.#ndjson = cfg.format === 'ndjson';
    this.#gzip = cfg.gzip;
    this.#requests = new RequestSplitter({
      maxRecords: cfg.batch.maxRecords,
      maxBytes: cfg.batch.maxBytes,
      recordBytes: (r) => r.json.length + 1,
      splitOn413: cfg.splitOn413,
      splitRejected: cfg.onBatchRejected === 'split',
      log: ctx.logger?.child({ sink: cfg.name }),
    });
    this.#endpoint = new HttpEndpoint(endpointUrl(cfg.url, `sinks[${cfg.name}].url`), cfg.method, cfg, {
      contentRefusal: (s) => CONTENT_REFUSAL_STATUS.has(s),
      retryable: (s) => s >= 500 || RETRYABLE_STATUS.has(s),
    });
  }

  start(): Promise<void> {
    return this.#endpoint.start();
  }

  health(): SinkHealth {
    return this.#endpoint.health;
  }

  close(): Promise<void> {
    return this.#endpoint.close();
  }

  send(batch: readonly OutgoingRecord[], signal: AbortSignal): Promise<SendResult> {
    return this.#requests.send(batch, (indexes) => this.#post(indexes.map((i) => batch[i]!), signal));
  }

  /**
   * The request body, written record by record into one buffer of its exact size. Joining the records into a string
   * first made a string of the whole body, which V8 puts in its large-object space, freed only by a full GC.
   */
  #body(records: readonly OutgoingRecord[]): Buffer {
    const ndjson = this.#ndjson;
    let size = ndjson ? records.length : Math.max(0, records.length - 1) + 2;
    for (const r of records) size += Buffer.byteLength(r.json, 'utf8');
    const buf = Buffer.allocUnsafeSlow(size);
    let at = 0;
    if (!ndjson) buf[at++] = 0x5b; // [
    for (let i = 0; i < records.length; i++) {
      if (!ndjson && i > 0) buf[at++] = 0x2c; // ,
      at += buf.write(records[i]!.json, at, 'utf8');
      if (ndjson) buf[at++] = 0x0a; // \n
    }
    if (!ndjson) buf[at++] = 0x5d; // ]
    if (at !== size) throw new Error(`body: wrote ${at} bytes, expected ${size}`);
    return buf;
  }

  async #post(records: readonly OutgoingRecord[], signal: AbortSignal): Promise<void> {
    const raw = this.#body(records);
    const headers: Record<string, string> = {
      'content-type': this.#ndjson ? 'application/x-ndjson' : 'application/json',
      'x-exporter-records': String(records.length),
    };
    if (this.#gzip) headers['content-encoding'] = 'gzip';
    const res = await this.#endpoint.send(this.#gzip ? await gzip(raw) : raw, headers, signal);
    await res.body.dump();
  }
}
