// The HTTP sink's config keys and their JSON Schema: light (no HTTP client), so the config loader validates an http
// sink without loading undici; the sink itself (./sink.ts) is imported only when one is configured.
import { defaults } from '../../config/defaults.js';
import { endpointSinkSchema, type EndpointConfig } from '../kit/endpoint-config.js';

const own = defaults.sinks.http;

/** As the sink receives it: checked, every default filled in (config/defaults.ts), sizes in bytes, durations in ms. */
export interface HttpSinkConfig extends EndpointConfig {
  name: string;
  type: 'http';
  url: string;
  method: 'POST' | 'PUT';
  /** ndjson (Content-Type application/x-ndjson) or json-array (application/json). */
  format: 'ndjson' | 'json-array';
  /** gzip the body and send Content-Encoding: gzip. */
  gzip: boolean;
  /**
   * The common batch keys also cap each request: a larger batch is split into several requests, in order; a single
   * record larger than maxBytes (uncompressed body bytes) is sent alone.
   */
  batch: { maxRecords: number; maxBytes: number };
  /** On 413 Payload Too Large, halve the request and retry the halves; a single record refused with 413 is permanent. */
  splitOn413: boolean;
  /**
   * A request refused for its content (400, 409, 422) — often because of one bad record. split: halve it until the
   * refused records stand alone, deliver the rest; dead-letter: the whole request fails (its records become dead
   * letters after retry.maxAttempts).
   */
  onBatchRejected: 'split' | 'dead-letter';
}

/** JSON Schema of the sink's own config keys (merged with the common ones by config/schema.ts sinkSchema). */
export const configSchema = endpointSinkSchema('http', 'url', {
  method: { enum: ['POST', 'PUT'], default: own.method },
  format: { enum: ['ndjson', 'json-array'], default: own.format },
  gzip: { type: 'boolean', default: own.gzip },
  splitOn413: { type: 'boolean', default: own.splitOn413 },
  onBatchRejected: { enum: ['split', 'dead-letter'], default: own.onBatchRejected },
});
