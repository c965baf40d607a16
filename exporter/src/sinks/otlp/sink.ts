// OTLP sink: decision records as OpenTelemetry logs over OTLP/HTTP (POST /v1/logs), protobuf or JSON, gzip. Retries
// follow the OTLP/HTTP spec: 429/502/503/504 (with Retry-After) and network errors are retryable; 400 is a refusal of
// the request's content (halved by the kit's bisector until the bad records stand alone); a partial success that
// rejects every record of a request fails those records for good. Wire contract: proto-docs/sinks/otlp.md.
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Logger } from 'pino';
import { endpointUrl } from '../kit/http-endpoint.js';
import { EndpointSink } from '../kit/endpoint-sink.js';
import { EncodedRecords } from '../kit/encoded-records.js';
import type { OutgoingRecord, RecordFailure } from '../sink.js';
import { configSchema, type AttributeValue, type OtlpSinkConfig } from './config.js';
import { logRecordJson, requestJsonAround, responseJson, toLogRecord, type Attributes } from './logs.js';
import { logRecordProto, requestProto, responseProto } from './proto.js';

export { configSchema, type OtlpSinkConfig };

const gzip = promisify(gzipCb);
/** OTLP/HTTP: the only retryable statuses. */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

export interface OtlpSinkContext {
  logger?: Logger;
}

export function createSink(cfg: OtlpSinkConfig, ctx: OtlpSinkContext = {}): OtlpSink {
  return new OtlpSink(cfg, ctx);
}

/** A base URL gets the OTLP logs path; a URL with a path of its own is used as is. */
export function logsUrl(endpoint: string, key: string): URL {
  const u = endpointUrl(endpoint, `${key}.endpoint`);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/v1/logs';
  return u;
}

export class OtlpSink extends EndpointSink<EncodedRecords> {
  readonly type = 'otlp';
  readonly #json: boolean;
  readonly #gzip: boolean;
  readonly #resource: Attributes;
  /** OTLP/JSON: the request's text around its log records. */
  readonly #jsonAround: { open: string; close: string };
  readonly #log: Logger | undefined;

  constructor(cfg: OtlpSinkConfig, ctx: OtlpSinkContext = {}) {
    const log = ctx.logger?.child({ sink: cfg.name });
    super(cfg, {
      url: logsUrl(cfg.endpoint, `sinks[${cfg.name}]`),
      method: 'POST',
      status: { contentRefusal: (s) => s === 400, retryable: (s) => RETRYABLE_STATUS.has(s) },
      recordBytes: (r) => r.json.length,
      splitOn413: true,
      splitRejected: true,
      log,
    });
    this.#log = log;
    this.#json = cfg.encoding === 'json';
    this.#gzip = cfg.gzip;
    const resource: Record<string, AttributeValue> = { 'service.name': 'gk-exporter' };
    if (cfg.clusterName) resource['k8s.cluster.name'] = cfg.clusterName;
    Object.assign(resource, cfg.resourceAttributes);
    this.#resource = Object.entries(resource);
    this.#jsonAround = requestJsonAround(this.#resource);
  }

  /** Each record's log record encoded once, into one buffer: requests (and the halves of a refused one) are framed from it. */
  protected prepare(batch: readonly OutgoingRecord[]): EncodedRecords {
    const observed = BigInt(Date.now()) * 1_000_000n;
    const encode = this.#json ? logRecordJson : logRecordProto;
    return new EncodedRecords(batch.map((r) => encode(toLogRecord(r.json, observed))), { newline: false });
  }

  /** One request; a partial success that rejects every record of it fails those records for good. */
  protected async post(encoded: EncodedRecords, indexes: readonly number[], failures: RecordFailure[], signal: AbortSignal): Promise<void> {
    const raw = this.#json
      ? encoded.joined(indexes, this.#jsonAround.open, ',', this.#jsonAround.close)
      : requestProto(this.#resource, indexes.map((i) => encoded.record(i)));
    const headers: Record<string, string> = { 'content-type': this.#json ? 'application/json' : 'application/x-protobuf' };
    if (this.#gzip) headers['content-encoding'] = 'gzip';
    const res = await this.request(this.#gzip ? await gzip(raw) : raw, headers, signal);
    const body = Buffer.from(await res.body.arrayBuffer());
    const partial = this.#json ? responseJson(body.toString('utf8')) : responseProto(body);
    if (partial.rejected === 0) return;
    const why = `collector rejected ${partial.rejected} of ${indexes.length} log records${partial.message ? `: ${partial.message}` : ''}`;
    // OTLP does not say which records it rejected: only a request rejected whole can be failed record by record.
    if (partial.rejected >= indexes.length) for (const index of indexes) failures.push({ index, error: why, retryable: false });
    this.#log?.warn({ rejected: partial.rejected, of: indexes.length }, why);
  }
}
