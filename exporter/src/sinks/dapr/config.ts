// The Dapr sink's config keys, their JSON Schema and Gatekeeper's connection shapes: light (no HTTP client), so the
// config loader handles a dapr sink without loading undici; the sink itself (../dapr.ts) is imported only when needed.
import { defaults } from '../../config/defaults.js';
import { secretSpecSchema, type SecretSpec } from '../../config/secret.js';
import { durationSchema, sizeSchema } from '../../config/units.js';

const own = defaults.sinks.dapr;

/** As the sink receives it: checked, the defaults of config/defaults.ts filled in, sizes in bytes, durations in ms. */
export interface DaprSinkConfig {
  name: string;
  /** The pub/sub component name (Gatekeeper's connection config {"component": "pubsub"}). */
  component?: string;
  /** Gatekeeper's connection shape, accepted as an alternative: provider: dapr, config: {component: pubsub}. */
  provider?: 'dapr';
  config?: { component: string };
  /** Gatekeeper's --audit-channel default: audit-channel. */
  topic: string;
  /** The sidecar's HTTP address. Default http://127.0.0.1:$DAPR_HTTP_PORT, else http://127.0.0.1:3500. */
  url?: string;
  /** Sent as dapr-api-token. Default: the DAPR_API_TOKEN environment variable, when set. */
  apiToken?: SecretSpec;
  /** cloudevent (default): wrapped in a CloudEvent whose id is the decisionId; raw: the record JSON as is (rawPayload). */
  envelope: 'cloudevent' | 'raw';
  /** CloudEvent data encoding: text/plain (default, Gatekeeper's: data is the record JSON as a string) or application/json (data is the object). */
  dataContentType: 'text/plain' | 'application/json';
  /** CloudEvent source and type. By default what daprd itself writes. */
  cloudEvent: { source: string; type: string };
  /** Bulk publish (default true; the alpha bulk API, per-entry results). false: one publish per record. */
  bulk: boolean;
  /** Entries per bulk request (a larger batch is sent as several requests). */
  maxEntriesPerRequest: number;
  /** Record bytes per bulk request; keep under daprd's --max-body-size (default 4Mi). */
  maxBytesPerRequest: number;
  /** Parallel single publishes when bulk is false. */
  concurrency: number;
  /** Extra publish metadata, sent as metadata.<key> query parameters (e.g. ttlInSeconds). */
  metadata: Record<string, string>;
  /** Whole request timeout. */
  requestTimeoutMs: number;
  /** How often start() polls the sidecar until it is ready. */
  readinessIntervalMs: number;
}

/** JSON Schema of the sink's own keys (merged with the common ones by config/schema.ts sinkSchema). */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { const: 'dapr' },
    component: { type: 'string', minLength: 1 },
    provider: { const: 'dapr' },
    config: {
      type: 'object',
      required: ['component'],
      properties: { component: { type: 'string', minLength: 1 } },
    },
    topic: { type: 'string', minLength: 1, default: own.topic },
    url: { type: 'string', pattern: '^https?://' },
    apiToken: secretSpecSchema,
    envelope: { enum: ['cloudevent', 'raw'], default: own.envelope },
    dataContentType: { enum: ['text/plain', 'application/json'], default: own.dataContentType },
    cloudEvent: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        source: { type: 'string', minLength: 1, default: own.cloudEvent.source },
        type: { type: 'string', minLength: 1, default: own.cloudEvent.type },
      },
    },
    bulk: { type: 'boolean', default: own.bulk },
    maxEntriesPerRequest: { type: 'integer', minimum: 1, default: own.maxEntriesPerRequest },
    maxBytesPerRequest: sizeSchema(own.maxBytesPerRequest, { min: 1024 }),
    concurrency: { type: 'integer', minimum: 1, maximum: 1024, default: own.concurrency },
    metadata: { type: 'object', additionalProperties: { type: 'string' }, default: own.metadata },
    requestTimeout: durationSchema(own.requestTimeout, { min: 1 }),
    readinessInterval: durationSchema(own.readinessInterval, { min: 10 }),
  },
} as const;

/** The component name from either shape: `component`, or Gatekeeper's `config.component`. */
export function daprComponent(cfg: Pick<DaprSinkConfig, 'component' | 'config' | 'name'>): string {
  const c = cfg.component ?? cfg.config?.component;
  if (!c) throw new Error(`sinks[${cfg.name}].component: required (the Dapr pub/sub component name, e.g. "pubsub"; or config.component)`);
  if (cfg.component && cfg.config?.component && cfg.component !== cfg.config.component) {
    throw new Error(`sinks[${cfg.name}]: component "${cfg.component}" and config.component "${cfg.config.component}" disagree`);
  }
  return c;
}

/**
 * Gatekeeper declares its Dapr export with a connection: `provider: dapr` (ConfigMap) or `driver: dapr` (Connection
 * resource) and `config: {component: ...}`. A sink entry written that way, without `type`, is a dapr sink.
 */
export function withGatekeeperConnections(raw: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(raw['sinks'])) return raw;
  const sinks = (raw['sinks'] as unknown[]).map((s) => {
    if (!s || typeof s !== 'object' || Array.isArray(s)) return s;
    const e = s as Record<string, unknown>;
    if (e['type'] !== undefined || (e['provider'] !== 'dapr' && e['driver'] !== 'dapr')) return s;
    const { driver: _driver, ...rest } = e;
    return { ...rest, type: 'dapr', provider: 'dapr' };
  });
  return { ...raw, sinks };
}
