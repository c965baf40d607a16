// A secret value for sinks (bearer tokens, header values, SASL passwords...): given inline, read from a file
// (re-read when the file changes, so mounted Kubernetes secrets rotate without a restart) or taken from an env var.
// The value never appears in logs: toString, toJSON and util.inspect all print "[redacted]".
import { readFile, stat } from 'node:fs/promises';
import { inspect } from 'node:util';

/** How a secret is written in the config: a plain string is an inline value. */
export type SecretSpec = string | { value: string } | { file: string } | { env: string };

/** JSON Schema of a SecretSpec, for embedding in sink config schemas. */
export const secretSpecSchema = {
  // One schema rather than oneOf, so a typo gives one clear error ("bearerToken.fil: is not a known key").
  type: ['string', 'object'],
  // Read by redactSecrets: `exporter config defaults` prints the config without the inline values.
  'x-secret': true,
  properties: {
    value: { type: 'string' },
    file: { type: 'string', minLength: 1 },
    env: { type: 'string', minLength: 1 },
  },
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
} as const;

export class SecretError extends Error {
  override name = 'SecretError';
}

export interface SecretOptions {
  /** For file secrets: how often (at most) value() looks at the file's mtime/size for a rotation. Default 5000 ms. */
  refreshMs?: number;
  /** Environment to read env secrets from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

const REDACTED = '[redacted]';

export class Secret {
  readonly #source: 'inline' | 'file' | 'env';
  readonly #where: string;
  readonly #refreshMs: number;
  #value: string | undefined;
  #fileStamp = '';
  #checkedAt = 0;

  private constructor(source: 'inline' | 'file' | 'env', where: string, value: string | undefined, refreshMs: number) {
    this.#source = source;
    this.#where = where;
    this.#value = value;
    this.#refreshMs = refreshMs;
  }

  /**
   * Builds a Secret from its config form. `key` names the config key in error messages (e.g. "sinks[web].bearerToken").
   * Env secrets are resolved here (a missing variable is a config error); file secrets are read by load()/value().
   */
  static from(spec: SecretSpec, key: string, opts: SecretOptions = {}): Secret {
    const refreshMs = opts.refreshMs ?? 5000;
    if (typeof spec === 'string') return new Secret('inline', key, spec, refreshMs);
    if (spec && typeof spec === 'object') {
      if ('value' in spec && typeof spec.value === 'string') return new Secret('inline', key, spec.value, refreshMs);
      if ('env' in spec && typeof spec.env === 'string' && spec.env) {
        const v = (opts.env ?? process.env)[spec.env];
        if (v === undefined) throw new SecretError(`${key}: environment variable ${spec.env} is not set`);
        return new Secret('env', spec.env, v, refreshMs);
      }
      if ('file' in spec && typeof spec.file === 'string' && spec.file) return new Secret('file', spec.file, undefined, refreshMs);
    }
    throw new SecretError(`${key}: expected a string, {value: ...}, {file: PATH} or {env: NAME}`);
  }

  /** Where the value comes from, safe to log ("file /path", "env NAME", "inline"). */
  describe(): string {
    return this.#source === 'inline' ? 'inline' : `${this.#source} ${this.#where}`;
  }

  /** Reads a file secret now (fails with a clear error if unreadable); no-op for the others. Call at start. */
  async load(): Promise<void> {
    if (this.#source !== 'file') return;
    this.#checkedAt = 0;
    await this.value();
  }

  /** Forces the next value() to look at the file again (e.g. after a 401, the token may have rotated). */
  invalidate(): void {
    this.#checkedAt = 0;
  }

  /** The current value. File secrets are re-read when the file's mtime or size changed (checked at most every refreshMs). */
  async value(): Promise<string> {
    if (this.#source !== 'file') return this.#value!;
    const now = Date.now();
    if (this.#value !== undefined && now - this.#checkedAt < this.#refreshMs) return this.#value;
    try {
      const st = await stat(this.#where);
      const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
      if (stamp !== this.#fileStamp || this.#value === undefined) {
        // Trailing newlines are almost always an editor's or `echo`'s, never part of a token.
        this.#value = (await readFile(this.#where, 'utf8')).replace(/\r?\n+$/, '');
        this.#fileStamp = stamp;
      }
      this.#checkedAt = now;
      return this.#value;
    } catch (e) {
      // A rotation in progress (file briefly missing): keep serving the last good value.
      if (this.#value !== undefined) return this.#value;
      throw new SecretError(`cannot read secret file ${this.#where}: ${(e as Error).message}`);
    }
  }

  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return `Secret(${this.describe()}, ${REDACTED})`;
  }
}

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  'x-secret'?: boolean;
}

/** A copy of the config data with the inline values of its secrets (schema `x-secret`) replaced by "[redacted]". */
export function redactSecrets(schema: object, data: unknown): unknown {
  const node = schema as SchemaNode;
  if (node['x-secret']) {
    if (typeof data === 'string') return REDACTED;
    if (data && typeof data === 'object' && 'value' in data) return { ...data, value: REDACTED };
    return data;
  }
  if (Array.isArray(data)) return node.items ? data.map((v) => redactSecrets(node.items!, v)) : data;
  if (!data || typeof data !== 'object') return data;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    const sub = node.properties?.[k] ?? (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
    const branches = sub ? [sub, ...(sub.anyOf ?? [])] : [];
    out[k] = branches.reduce((acc, b) => redactSecrets(b, acc), v);
  }
  return out;
}
