// The config keys of a sink that sends to one HTTP endpoint (http, otlp) and their JSON Schema: light (no HTTP
// client), so the config loader validates those sinks without loading undici.
import { secretSpecSchema, type SecretSpec } from '../../config/secret.js';
import { tlsConfigSchema, type TlsConfig } from '../../config/tls.js';
import { durationSchema, sizeSchema } from '../../config/units.js';
import { defaults } from '../../config/defaults.js';

export interface EndpointConfig {
  name: string;
  /** Extra request headers; a value may be a secret ({file}, {env}, {value}). */
  headers: Record<string, SecretSpec>;
  /** Sent as "Authorization: Bearer <token>". */
  bearerToken?: SecretSpec;
  tls?: TlsConfig;
  timeouts: {
    /** TCP + TLS connect. */
    connectMs: number;
    /** Whole request, from send to the end of the response. */
    requestMs: number;
  };
  /** Bytes of a refusal's response body quoted in error messages. */
  errorBodyBytes: number;
}

/** The schema of EndpointConfig's keys, as written in the config, for a sink's configSchema. */
export const endpointSchemaProperties = {
  headers: { type: 'object', additionalProperties: secretSpecSchema, default: defaults.httpEndpoint.headers },
  bearerToken: secretSpecSchema,
  tls: tlsConfigSchema,
  timeouts: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      connect: durationSchema(defaults.httpEndpoint.timeouts.connect, { min: 1 }),
      request: durationSchema(defaults.httpEndpoint.timeouts.request, { min: 1 }),
    },
  },
  errorBodyBytes: sizeSchema(defaults.httpEndpoint.errorBodyBytes),
} as const;

/** JSON Schema of an endpoint sink's keys: its type, its URL key (required), its own keys and the endpoint's. */
export function endpointSinkSchema<P extends object>(type: string, urlKey: string, own: P) {
  return {
    type: 'object',
    required: ['name', 'type', urlKey],
    properties: { type: { const: type }, [urlKey]: { type: 'string', pattern: '^https?://' }, ...own, ...endpointSchemaProperties },
    additionalProperties: false,
  } as const;
}
