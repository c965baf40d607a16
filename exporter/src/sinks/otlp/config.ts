// The otlp sink's config keys and their JSON Schema: light (no HTTP client, no protobuf), so the config loader
// validates an otlp sink without loading them.
import { secretSpecSchema, type SecretSpec } from '../../config/secret.js';
import { tlsConfigSchema, type TlsConfig } from '../../config/tls.js';

export type AttributeValue = string | number | boolean;

export interface OtlpSinkConfig {
  name: string;
  type: 'otlp';
  /** OTLP/HTTP endpoint: a base URL (http://collector:4318) gets /v1/logs appended; a URL with a path is used as is. */
  endpoint: string;
  /** protobuf (default, application/x-protobuf) or json (application/json, OTLP/JSON). */
  encoding?: 'protobuf' | 'json';
  /** gzip the body (Content-Encoding: gzip). Default true. */
  gzip?: boolean;
  /** k8s.cluster.name on the resource of every request. */
  clusterName?: string;
  /** More resource attributes (service.name defaults to gk-exporter); they win over clusterName. */
  resourceAttributes?: Record<string, AttributeValue>;
  headers?: Record<string, SecretSpec>;
  bearerToken?: SecretSpec;
  tls?: TlsConfig;
  timeouts?: { connectMs?: number; requestMs?: number };
  /** The common batch keys also cap each request (records; bytes of the records' JSON). Used standalone: 500 / 1 MiB. */
  batch?: { maxRecords?: number; maxBytes?: number | string };
}

const attributeValue = { type: ['string', 'number', 'boolean'] };

export const configSchema = {
  type: 'object',
  required: ['name', 'type', 'endpoint'],
  properties: {
    name: { type: 'string', minLength: 1 },
    type: { const: 'otlp' },
    endpoint: { type: 'string', pattern: '^https?://' },
    encoding: { enum: ['protobuf', 'json'] },
    gzip: { type: 'boolean' },
    clusterName: { type: 'string', minLength: 1 },
    resourceAttributes: { type: 'object', propertyNames: { minLength: 1 }, additionalProperties: attributeValue },
    headers: { type: 'object', additionalProperties: secretSpecSchema },
    bearerToken: secretSpecSchema,
    tls: tlsConfigSchema,
    timeouts: {
      type: 'object',
      properties: { connectMs: { type: 'integer', minimum: 1 }, requestMs: { type: 'integer', minimum: 1 } },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
} as const;
