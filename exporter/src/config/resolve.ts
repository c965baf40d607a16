// From the config as written (file, env and flags already merged) to the typed, fully defaulted ExporterConfig:
// deprecated forms upgraded (with warnings), everything checked against the schemas, defaults filled in, then the
// units resolved. Every problem is reported at once, each naming its key.
import path from 'node:path';
import type { ExporterConfig, SinkConfig } from './config.js';
import { configSchema, sinkSchema } from './schema.js';
import { resolveUnitKeys, upgradeUnitKeys } from './unit-keys.js';
import { formatErrors, validatorFor } from './validate.js';
import { sinkType, sinkTypes } from '../sinks/registry.js';
import { withGatekeeperConnections } from '../sinks/dapr/config.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid config:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export interface CheckedConfig {
  config: ExporterConfig;
  /** The config as it could be written, every default filled in (durations and sizes as strings): `config defaults`. */
  effective: Record<string, unknown>;
  /** Deprecated keys or forms that were accepted, each with what to write instead. */
  warnings: string[];
}

export interface ResolveOptions {
  /** Default true: a config without sinks is an error (ops commands that only read the queue pass false). */
  requireSinks?: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const sinkSchemas = new Map<string, object>();
/** The whole schema of a sink of this type (common keys and its own), or undefined for an unknown type. */
export function schemaOfSinkType(type: string): object | undefined {
  const t = sinkType(type);
  if (!t) return undefined;
  let s = sinkSchemas.get(type);
  if (!s) sinkSchemas.set(type, (s = sinkSchema(t.configSchema)));
  return s;
}

/** Checks one sink entry in place (upgraded, defaulted); returns its schema when it is valid. */
function checkSink(sink: unknown, base: string, warnings: string[], problems: string[]): object | undefined {
  if (!isObject(sink) || typeof sink['type'] !== 'string') {
    problems.push(isObject(sink) ? `${base}.type: is required` : `${base}: must be a mapping of keys`);
    return undefined;
  }
  const schema = schemaOfSinkType(sink['type']);
  if (!schema) {
    problems.push(`${base}.type: unknown sink type "${sink['type']}" (known: ${Object.keys(sinkTypes).join(', ')})`);
    return undefined;
  }
  const before = problems.length;
  upgradeUnitKeys(schema, sink, base, warnings, problems);
  const validate = validatorFor(schema);
  if (!validate(sink)) problems.push(...formatErrors(base, validate.errors));
  return problems.length === before ? schema : undefined;
}

/** Validates and resolves a raw config; throws ConfigError naming every bad key. */
export function checkConfig(raw: unknown, opts: ResolveOptions = {}): CheckedConfig {
  if (!isObject(raw)) throw new ConfigError(['(top level): must be a mapping of keys']);
  const data = structuredClone(withGatekeeperConnections(raw));
  const warnings: string[] = [];
  const problems: string[] = [];
  upgradeUnitKeys(configSchema, data, '', warnings, problems);
  const validate = validatorFor(configSchema);
  if (!validate(data)) problems.push(...formatErrors('', validate.errors));

  const sinks: unknown[] = Array.isArray(data['sinks']) ? data['sinks'] : [];
  if (opts.requireSinks !== false && sinks.length === 0 && !problems.some((p) => p.startsWith('sinks'))) problems.push('sinks: at least one sink is required');
  const schemas = sinks.map((s, i) => checkSink(s, `sinks[${i}]`, warnings, problems));
  problems.push(...sinkNameProblems(sinks));
  if (problems.length) throw new ConfigError(problems);

  const effective = structuredClone(data);
  resolveUnitKeys(configSchema, data);
  sinks.forEach((s, i) => resolveUnitKeys(schemas[i]!, s));
  const r = data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const config: ExporterConfig = {
    ...r,
    socket: path.resolve(r.socket),
    socketMode: typeof r.socketMode === 'number' ? r.socketMode : parseInt(r.socketMode, 8),
    queue: { ...r.queue, path: path.resolve(r.queue.path), synchronous: r.queue.synchronous.toLowerCase() },
    sinks: sinks as SinkConfig[],
  } as ExporterConfig;
  problems.push(...limitProblems(config));
  if (problems.length) throw new ConfigError(problems);
  return { config, effective, warnings };
}

/** checkConfig's config; the warnings go to onWarning (the exporter logs them). */
export function resolveConfig(raw: unknown, opts: ResolveOptions & { onWarning?: (warning: string) => void } = {}): ExporterConfig {
  const { config, warnings } = checkConfig(raw, opts);
  for (const w of warnings) opts.onWarning?.(w);
  return config;
}

/**
 * One sink's config, checked, defaulted and resolved as the loader does it: for using a sink on its own (tests, tools).
 * Errors name the key as `sinks[<name>].key`.
 */
export function resolveSinkConfig<T = SinkConfig>(raw: Record<string, unknown>): T {
  const sink = structuredClone(raw);
  const warnings: string[] = [];
  const problems: string[] = [];
  const schema = checkSink(sink, `sinks[${String(sink['name'])}]`, warnings, problems);
  if (!schema) throw new ConfigError(problems);
  resolveUnitKeys(schema, sink);
  return sink as T;
}

/** The queue's options when no config says otherwise (ops commands open a queue without one). */
export function defaultQueueOptions(): ExporterConfig['queue'] {
  return checkConfig({ socket: '/unused.sock', queue: { path: '/unused.db' } }, { requireSinks: false }).config.queue;
}

function limitProblems(cfg: ExporterConfig): string[] {
  const out: string[] = [];
  const socketBytes = Buffer.byteLength(cfg.socket);
  if (socketBytes > 107) out.push(`socket: the path ${cfg.socket} is ${socketBytes} bytes; Unix sockets allow at most 107`);
  if (cfg.ingest.maxPartialBytes < cfg.ingest.maxLineBytes) {
    out.push(`ingest.maxPartialBytes: must be at least ingest.maxLineBytes (${cfg.ingest.maxLineBytes}), or a line of that size could never arrive`);
  }
  if (cfg.queue.statusIntervalMs < 100 || cfg.queue.statusIntervalMs > 3_600_000) out.push('queue.statusInterval: must be between 100ms and 1h');
  return out;
}

/**
 * Sink names are unique; a previous name belongs to one sink only and is not a configured sink's own name (its
 * backlog would be taken).
 */
function sinkNameProblems(sinks: unknown[]): string[] {
  const names = sinks.map((s) => (isObject(s) ? s['name'] : undefined));
  const own = new Set(names);
  const claimed = new Map<unknown, number>();
  const out: string[] = [];
  names.forEach((n, i) => {
    if (typeof n === 'string' && names.indexOf(n) < i) out.push(`sinks[${i}].name: "${n}" is used by another sink`);
  });
  sinks.forEach((s, i) => {
    const prev = isObject(s) ? s['previousNames'] : undefined;
    if (!Array.isArray(prev)) return;
    for (const p of prev) {
      if (own.has(p)) out.push(`sinks[${i}].previousNames: "${p}" is a configured sink's name`);
      else if (claimed.has(p)) out.push(`sinks[${i}].previousNames: "${p}" is also a previous name of sinks[${claimed.get(p)}]`);
      else claimed.set(p, i);
    }
  });
  return out;
}
