// The client TLS keys a sink config takes (caFile, certFile, keyFile, servername, rejectUnauthorized), their JSON Schema,
// and reading the files into the options node:tls connects with (undici's connect, kafkajs' ssl).
import { readFileSync } from 'node:fs';

export interface TlsConfig {
  /** PEM CA bundle trusted for the server's certificate (default: Node's CA store). */
  caFile?: string;
  /** PEM client certificate, for mutual TLS; needs keyFile. */
  certFile?: string;
  /** PEM private key of certFile. */
  keyFile?: string;
  /** Name the server certificate must match and sent as SNI (default: the host connected to). */
  servername?: string;
  /** Default true; false accepts any server certificate (testing only). */
  rejectUnauthorized?: boolean;
}

/** JSON Schema of a TlsConfig, for embedding in sink config schemas. */
export const tlsConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    caFile: { type: 'string', minLength: 1 },
    certFile: { type: 'string', minLength: 1 },
    keyFile: { type: 'string', minLength: 1 },
    servername: { type: 'string', minLength: 1 },
    rejectUnauthorized: { type: 'boolean' },
  },
} as const;

/** tls.connect options; only the ones the config sets, so the client's own defaults stay in force for the rest. */
export interface TlsClientOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized?: boolean;
}

/**
 * Reads the files the config names. `key` is the config path of the tls object (e.g. "sinks[out].tls"), used in errors.
 * Synchronous: called when a sink is set up or (re)connects, never per record.
 */
export function loadTlsOptions(tls: TlsConfig, key: string): TlsClientOptions {
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) throw new Error(`${key}: certFile and keyFile go together`);
  const read = (file: string, what: keyof TlsConfig): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(`${key}.${what}: cannot read ${file}: ${(e as Error).message}`);
    }
  };
  const options: TlsClientOptions = {};
  if (tls.caFile) options.ca = read(tls.caFile, 'caFile');
  if (tls.certFile) options.cert = read(tls.certFile, 'certFile');
  if (tls.keyFile) options.key = read(tls.keyFile, 'keyFile');
  if (tls.servername) options.servername = tls.servername;
  if (tls.rejectUnauthorized !== undefined) options.rejectUnauthorized = tls.rejectUnauthorized;
  return options;
}
