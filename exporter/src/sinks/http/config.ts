// The HTTP sink's config keys and their JSON Schema: light (no HTTP client), so the config loader validates an http
// sink without loading undici; the sink itself (../http.ts) is imported only when one is configured.
import { secretSpecSchema, type SecretSpec } from '../../config/secret.js';
import { tlsConfigSchema, type TlsConfig } from '../../config/tls.js';

export interface HttpSinkConfig {
  name: string;
  type: 'http';
  url: string;
  /** POST (default) or PUT. */
  method?: 'POST' | 'PUT';
  /** ndjson (default, Content-Type application/x-ndjson) or json-array (application/json). */
  format?: 'ndjson' | 'json-array';
  /** gzip the body and send Content-Encoding: gzip. Default false. */
  gzip?: boolean;
  /** Extra request headers; a value may be a secret ({file}, {env}, {value}). */
  headers?: Record<string, SecretSpec>;
  /** Sent as "Authorization: Bearer <token>". */
  bearerToken?: SecretSpec;
  tls?: TlsConfig;
  timeouts?: {
    /** TCP + TLS connect. Default 5000 ms. */
    connectMs?: number;
    /** Whole request, from send to the end of the response. Default 30000 ms. */
    requestMs?: number;
  };
  /**
   * The common batch keys (the loader fills them: 1000 records, 4 MiB) also cap each request: a larger batch is split
   * into several requests, in order; a single record larger than maxBytes is sent alone. Used standalone: 500 / 1 MiB.
   */
  batch?: {
    maxRecords?: number;
    /** Uncompressed body bytes. */
    maxBytes?: number | string;
  };
  /** On 413 Payload Too Large, halve the request and retry the halves; a single record refused with 413 is permanent. Default true. */
  splitOn413?: boolean;
  /**
   * A request refused for its content (400, 409, 422) — often because of one bad record. split (default): halve it
   * until the refused records stand alone, deliver the rest; dead-letter: the whole request fails (its records become
   * dead letters after retry.maxAttempts).
   */
  onBatchRejected?: 'split' | 'dead-letter';
  /** Bytes of the response body kept in error messages. Default 512. */
  errorBodyBytes?: number;
}

/**
 * JSON Schema of the sink's own config keys (the loader checks the common ones: name, type, startFrom, batch, retry).
 * The common `batch.maxRecords` / `batch.maxBytes` also cap each HTTP request (see HttpSinkConfig.batch).
 */
export const configSchema = {
  type: 'object',
  required: ['name', 'type', 'url'],
  properties: {
    name: { type: 'string', minLength: 1 },
    type: { const: 'http' },
    url: { type: 'string', pattern: '^https?://' },
    method: { enum: ['POST', 'PUT'] },
    format: { enum: ['ndjson', 'json-array'] },
    gzip: { type: 'boolean' },
    headers: { type: 'object', additionalProperties: secretSpecSchema },
    bearerToken: secretSpecSchema,
    tls: tlsConfigSchema,
    timeouts: {
      type: 'object',
      properties: { connectMs: { type: 'integer', minimum: 1 }, requestMs: { type: 'integer', minimum: 1 } },
      additionalProperties: false,
    },
    splitOn413: { type: 'boolean' },
    onBatchRejected: { enum: ['split', 'dead-letter'] },
    errorBodyBytes: { type: 'integer', minimum: 0 },
  },
  additionalProperties: false,
} as const;
