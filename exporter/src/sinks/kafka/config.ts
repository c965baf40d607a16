// The Kafka sink's config keys and their JSON Schema: light (no client library), so the config loader validates a kafka
// sink without loading one; the sink itself (sink.ts) is imported only when one is configured.
import { secretSpecSchema, type SecretSpec } from '../../config/secret.js';
import { tlsConfigSchema, type TlsConfig } from '../../config/tls.js';
import type { LifecycleKeying } from './lifecycle-key.js';
import { defaults } from '../../config/defaults.js';
import { durationSchema, sizeSchema } from '../../config/units.js';

const own = defaults.sinks.kafka;

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** As the sink receives it: checked, every default filled in (config/defaults.ts), sizes in bytes, durations in ms. */
export interface KafkaSinkConfig {
  name: string;
  /** Bootstrap brokers, "host:port". */
  brokers: string[];
  /** Default topic. Required unless every record is covered by topicByEventType / topicByEnforcementAction. */
  topic?: string;
  /** Topic per eventType; wins over topicByEnforcementAction and topic. */
  topicByEventType?: Record<string, string>;
  /** Topic per enforcementAction (deny, warn, dryrun...); wins over topic. */
  topicByEnforcementAction?: Record<string, string>;
  clientId: string;
  /** Message key: "resource" (resourceNamespace/resourceName), "decisionId", "none", or a template like "{resourceKind}/{resourceName}". */
  key: string;
  /** violation_opened / violation_resolved: keyed by their pair (default), resolved as a tombstone when asked. */
  violationLifecycle?: LifecycleKeying;
  /** -1 (all in-sync replicas), 1 (leader only). */
  acks: -1 | 1;
  /** Idempotent producer (needs acks -1). */
  idempotent: boolean;
  compression: 'none' | 'gzip';
  /** Records per produce request: a larger batch from the worker is sent as several requests. */
  maxRecordsPerRequest: number;
  /**
   * Bytes (values, keys and headers, before compression) per produce request. Keep it under the broker's
   * message.max.bytes (default 1 MiB), which bounds a whole record batch.
   */
  maxBytesPerRequest: number;
  /**
   * Produce requests in flight at once (1-5); several for one partition only when the transport pipelines it
   * (producer.ts says when). Default 5 with the idempotent producer, else 1.
   */
  maxInFlightRequests?: number;
  /** Broker request timeout (the broker's wait for replica acks). */
  requestTimeoutMs: number;
  /** TCP connect timeout. */
  connectionTimeoutMs: number;
  /** Quick retries of transient broker errors inside one send() before the exporter's backoff takes over. */
  clientRetries: number;
  /** Extra static headers on every message. */
  headers: Record<string, string>;
  /** true: TLS with Node's defaults (its CA store; SNI = the broker's host name); an object: the files and options of TlsConfig. */
  tls?: boolean | TlsConfig;
  sasl?: { mechanism: SaslMechanism; username: SecretSpec; password: SecretSpec };
}

/**
 * JSON Schema of the sink's own keys (merged with the common ones by config/schema.ts sinkSchema), with the defaults of
 * config/defaults.ts; in the config file the timeouts are durations (`requestTimeout: 30s`), here and in the sink ms.
 */
export const configSchema = {
  type: 'object',
  required: ['brokers'],
  additionalProperties: false,
  properties: {
    name: { type: 'string' },
    type: { const: 'kafka' },
    brokers: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^\\s:]+:[0-9]{1,5}$' } },
    topic: { type: 'string', minLength: 1, maxLength: 249 },
    topicByEventType: { type: 'object', additionalProperties: { type: 'string', minLength: 1, maxLength: 249 } },
    topicByEnforcementAction: { type: 'object', additionalProperties: { type: 'string', minLength: 1, maxLength: 249 } },
    clientId: { type: 'string', minLength: 1, default: own.clientId },
    key: { type: 'string', minLength: 1, default: own.key },
    violationLifecycle: {
      type: 'object',
      additionalProperties: false,
      properties: { key: { enum: ['pair', 'sink'] }, tombstones: { type: 'boolean' } },
    },
    acks: { enum: [-1, 1], default: own.acks },
    idempotent: { type: 'boolean', default: own.idempotent },
    compression: { enum: ['none', 'gzip'], default: own.compression },
    maxRecordsPerRequest: { type: 'integer', minimum: 1, default: own.maxRecordsPerRequest },
    maxBytesPerRequest: sizeSchema(own.maxBytesPerRequest, { min: 1024 }),
    // No default: 5 with the idempotent producer, else 1.
    maxInFlightRequests: { type: 'integer', minimum: 1, maximum: 5 },
    requestTimeout: durationSchema(own.requestTimeout, { min: 1 }),
    connectionTimeout: durationSchema(own.connectionTimeout, { min: 1 }),
    clientRetries: { type: 'integer', minimum: 0, maximum: 100, default: own.clientRetries },
    headers: { type: 'object', additionalProperties: { type: 'string' }, default: own.headers },
    tls: { anyOf: [{ type: 'boolean' }, tlsConfigSchema] },
    sasl: {
      type: 'object',
      required: ['mechanism', 'username', 'password'],
      additionalProperties: false,
      properties: {
        mechanism: { enum: ['plain', 'scram-sha-256', 'scram-sha-512'] },
        username: secretSpecSchema,
        password: secretSpecSchema,
      },
    },
  },
} as const;
