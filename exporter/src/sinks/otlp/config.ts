// The otlp sink's config keys and their JSON Schema: light (no HTTP client, no protobuf), so the config loader
// validates an otlp sink without loading them.
import { defaults } from '../../config/defaults.js';
import { endpointSinkSchema, type EndpointConfig } from '../kit/endpoint-config.js';

export type AttributeValue = string | number | boolean;

const own = defaults.sinks.otlp;

/** As the sink receives it: checked, every default filled in (config/defaults.ts), sizes in bytes, durations in ms. */
export interface OtlpSinkConfig extends EndpointConfig {
  name: string;
  type: 'otlp';
  /** OTLP/HTTP endpoint: a base URL (http://collector:4318) gets /v1/logs appended; a URL with a path is used as is. */
  endpoint: string;
  /** protobuf (application/x-protobuf) or json (application/json, OTLP/JSON). */
  encoding: 'protobuf' | 'json';
  /** gzip the body (Content-Encoding: gzip). */
  gzip: boolean;
  /** k8s.cluster.name on the resource of every request. */
  clusterName?: string;
  /** More resource attributes (service.name defaults to gk-exporter); they win over clusterName. */
  resourceAttributes: Record<string, AttributeValue>;
  /** The common batch keys also cap each request (records; bytes of the records' JSON). */
  batch: { maxRecords: number; maxBytes: number };
}

const attributeValue = { type: ['string', 'number', 'boolean'] };

export const configSchema = endpointSinkSchema('otlp', 'endpoint', {
  encoding: { enum: ['protobuf', 'json'], default: own.encoding },
  gzip: { type: 'boolean', default: own.gzip },
  clusterName: { type: 'string', minLength: 1 },
  resourceAttributes: { type: 'object', propertyNames: { minLength: 1 }, additionalProperties: attributeValue, default: own.resourceAttributes },
});
