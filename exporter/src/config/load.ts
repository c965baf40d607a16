// Reads the config file (YAML or JSON), applies env vars and CLI flags, validates, and resolves units.
// Precedence, lowest to highest: built-in defaults < config file (or the embedded --data-dir default) < EXPORTER_* env vars < CLI flags.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { configSchema, sinkCommonKeys } from './schema.js';
import { defaults, type ExporterConfig, type SinkConfig } from './config.js';
import { parseDuration, parseSize } from './units.js';
import { sinkType, sinkTypes } from '../sinks/registry.js';
import { withGatekeeperConnections } from '../sinks/dapr/config.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid config:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Overrides from CLI flags (highest precedence). */
export interface ConfigOverrides {
  socket?: string;
  socketMode?: string;
  queuePath?: string;
  queueMaxBytes?: string;
  onFull?: string;
  metricsAddress?: string;
  logLevel?: string;
}

/** The env vars that override config keys, for docs and --help. */
export const envOverrides: Record<string, string> = {
  EXPORTER_SOCKET: 'socket',
  EXPORTER_SOCKET_MODE: 'socketMode',
  EXPORTER_QUEUE_PATH: 'queue.path',
  EXPORTER_QUEUE_MAX_BYTES: 'queue.maxBytes',
  EXPORTER_QUEUE_ON_FULL: 'queue.onFull',
  EXPORTER_METRICS_ADDRESS: 'metrics.address',
  EXPORTER_LOG_LEVEL: 'log.level',
};

// ajv-formats is CommonJS with `exports.default`: under NodeNext the default import is the module object.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addFormat('size', { type: 'string', validate: (s: string) => ok(() => parseSize(s)) });
  ajv.addFormat('duration', { type: 'string', validate: (s: string) => ok(() => parseDuration(s)) });
  ajv.addFormat('listen-address', { type: 'string', validate: (s: string) => parseListenAddress(s) !== undefined });
  return ajv;
}

function ok(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

/** "host:port" or ":port" or "port"; returns undefined when unusable. */
export function parseListenAddress(s: string): { host: string; port: number } | undefined {
  const m = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(s.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port };
}

/** `/sinks/1/url` -> `sinks[1].url` */
function keyPath(base: string, pointer: string, extra?: string): string {
  let out = base;
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out || '(top level)';
}

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known key';
    case 'format': {
      const f = (e.params as { format: string }).format;
      if (f === 'uri' || f === 'url') return 'must be a URL';
      if (f === 'size') return 'must be a size: bytes or a number with a unit, e.g. "500Mi", "1Gi"';
      if (f === 'duration') return 'must be a duration: ms or a number with a unit, e.g. "500ms", "30s", "7d"';
      if (f === 'listen-address') return 'must be host:port, e.g. "127.0.0.1:9464"';
      return `must be a ${f}`;
    }
    case 'pattern':
      if (/^\^https\?/.test((e.params as { pattern: string }).pattern)) return 'must be a URL (http:// or https://)';
      return e.message ?? 'has the wrong form';
    case 'const':
      return `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
    case 'enum':
      return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return e.message ?? e.keyword;
  }
}

function formatErrors(base: string, errors: ErrorObject[] | null | undefined): string[] {
  const out = new Set<string>();
  for (const e of errors ?? []) {
    // anyOf branches produce one error per branch plus the anyOf itself: keep the most telling one (format), skip the noise.
    if (e.keyword === 'anyOf') continue;
    if (e.keyword === 'type' && (errors ?? []).some((o) => o.instancePath === e.instancePath && o.keyword === 'format')) continue;
    const extra =
      e.keyword === 'required'
        ? (e.params as { missingProperty: string }).missingProperty
        : e.keyword === 'additionalProperties'
          ? (e.params as { additionalProperty: string }).additionalProperty
          : undefined;
    out.add(`${keyPath(base, e.instancePath, extra)}: ${describe(e)}`);
  }
  return [...out];
}

/**
 * What a sink module's schema validates: name, type and its own keys. The worker's keys (startFrom, retry, batch.lingerMs)
 * are left out, except those the module declares itself (the HTTP sink also splits by batch.maxRecords / maxBytes).
 */
function ownKeys(sink: Record<string, unknown>, schema: object): Record<string, unknown> {
  const declared = (schema as { properties?: Record<string, unknown> }).properties ?? {};
  const own: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(sink)) {
    if (k === 'name' || k === 'type' || !(sinkCommonKeys as readonly string[]).includes(k)) own[k] = v;
    else if (k in declared) {
      if (k === 'batch' && v && typeof v === 'object') {
        const { lingerMs: _l, ...rest } = v as Record<string, unknown>;
        if (Object.keys(rest).length) own[k] = rest;
      } else own[k] = v;
    }
  }
  return own;
}

// yaml is loaded only for a YAML config (a JSON one does not need it in memory for the life of the process).
const requireCjs = createRequire(import.meta.url);
const parseYaml = (text: string): unknown => (requireCjs('yaml') as typeof import('yaml')).parse(text);

export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([`${file}: cannot read: ${(e as Error).message}`]);
  }
  try {
    return /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError([`${file}: not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(e as Error).message}`]);
  }
}

/** The built-in config for local use: everything under one folder, a file sink, no network listener. */
export function embeddedDefault(dataDir: string): Record<string, unknown> {
  const dir = path.resolve(dataDir);
  return {
    socket: path.join(dir, 'exporter.sock'),
    queue: { path: path.join(dir, 'queue.db') },
    sinks: [{ name: 'local', type: 'file', path: path.join(dir, 'decisions.ndjson') }],
  };
}

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (cur[k] === undefined || cur[k] === null || typeof cur[k] !== 'object') cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
}

export function applyOverrides(raw: unknown, env: NodeJS.ProcessEnv, flags: ConfigOverrides): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const obj = structuredClone(raw) as Record<string, unknown>;
  for (const [name, key] of Object.entries(envOverrides)) {
    const v = env[name];
    if (v !== undefined && v !== '') setPath(obj, key, v);
  }
  const flagKeys: [keyof ConfigOverrides, string][] = [
    ['socket', 'socket'],
    ['socketMode', 'socketMode'],
    ['queuePath', 'queue.path'],
    ['queueMaxBytes', 'queue.maxBytes'],
    ['onFull', 'queue.onFull'],
    ['metricsAddress', 'metrics.address'],
    ['logLevel', 'log.level'],
  ];
  for (const [flag, key] of flagKeys) if (flags[flag] !== undefined) setPath(obj, key, flags[flag]);
  // A size given through env/flags is a string; a plain number string means bytes.
  const q = obj['queue'] as Record<string, unknown> | undefined;
  if (q && typeof q['maxBytes'] === 'string' && /^\d+$/.test(q['maxBytes'])) q['maxBytes'] = Number(q['maxBytes']);
  return obj;
}

/** Validates a raw config object and resolves it; throws ConfigError naming every bad key. */
export function resolveConfig(raw: unknown, opts: { requireSinks?: boolean } = {}): ExporterConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(['(top level): must be a mapping of keys']);
  raw = withGatekeeperConnections(raw as Record<string, unknown>);
  const ajv = newAjv();
  const validate = ajv.compile(configSchema);
  const problems: string[] = [];
  if (!validate(raw)) problems.push(...formatErrors('', validate.errors));
  const r = raw as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (typeof r.socket !== 'string') problems.push('socket: is required (path of the Unix socket to listen on)');
  if (typeof r.queue?.path !== 'string') problems.push('queue.path: is required (path of the SQLite queue file)');

  const sinks: SinkConfig[] = [];
  const rawSinks: unknown[] = Array.isArray(r.sinks) ? r.sinks : [];
  if (opts.requireSinks !== false && rawSinks.length === 0 && !problems.some((p) => p.startsWith('sinks'))) {
    problems.push('sinks: at least one sink is required');
  }
  const names = new Set<string>();
  rawSinks.forEach((s, i) => {
    if (s === null || typeof s !== 'object') return; // reported by the base schema
    const sink = s as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    if (typeof sink.name === 'string') {
      if (names.has(sink.name)) problems.push(`sinks[${i}].name: "${sink.name}" is used by another sink`);
      names.add(sink.name);
    }
    if (typeof sink.type !== 'string') return;
    const mod = sinkType(sink.type);
    if (!mod) {
      const known = Object.keys(sinkTypes);
      problems.push(`sinks[${i}].type: unknown sink type "${sink.type}" (known: ${known.length ? known.join(', ') : 'none'})`);
      return;
    }
    const own = ownKeys(sink, mod.configSchema);
    const v = ajv.compile(mod.configSchema);
    if (!v(own)) problems.push(...formatErrors(`sinks[${i}]`, v.errors));
    if (problems.length) return;
    sinks.push({
      ...sink,
      name: sink.name,
      type: sink.type,
      startFrom: sink.startFrom ?? 'newest',
      previousNames: sink.previousNames ?? [],
      batch: {
        maxRecords: sink.batch?.maxRecords ?? defaults.batch.maxRecords,
        maxBytes: sink.batch?.maxBytes !== undefined ? parseSize(sink.batch.maxBytes) : defaults.batch.maxBytes,
        lingerMs: sink.batch?.lingerMs !== undefined ? parseDuration(sink.batch.lingerMs) : defaults.batch.lingerMs,
      },
      retry: {
        initialMs: sink.retry?.initialMs !== undefined ? parseDuration(sink.retry.initialMs) : defaults.retry.initialMs,
        multiplier: sink.retry?.multiplier ?? defaults.retry.multiplier,
        maxMs: sink.retry?.maxMs !== undefined ? parseDuration(sink.retry.maxMs) : defaults.retry.maxMs,
        jitter: sink.retry?.jitter ?? defaults.retry.jitter,
        maxAttempts: sink.retry?.maxAttempts ?? defaults.retry.maxAttempts,
      },
    });
  });
  problems.push(...previousNameProblems(rawSinks));
  if (problems.length) throw new ConfigError(problems);

  const ing = r.ingest ?? {};
  const q = r.queue ?? {};
  const mode = r.socketMode === undefined ? defaults.socketMode : typeof r.socketMode === 'number' ? r.socketMode : parseInt(r.socketMode, 8);
  const cfg: ExporterConfig = {
    socket: path.resolve(r.socket),
    socketMode: mode,
    ingest: {
      maxLineBytes: ing.maxLineBytes !== undefined ? parseSize(ing.maxLineBytes) : defaults.ingest.maxLineBytes,
      batchMaxRecords: ing.batchMaxRecords ?? defaults.ingest.batchMaxRecords,
      batchLingerMs: ing.batchLingerMs !== undefined ? parseDuration(ing.batchLingerMs) : defaults.ingest.batchLingerMs,
      maxPendingRecords: ing.maxPendingRecords ?? defaults.ingest.maxPendingRecords,
      maxPendingBytes: ing.maxPendingBytes !== undefined ? parseSize(ing.maxPendingBytes) : defaults.ingest.maxPendingBytes,
      ackBufferBytes: ing.ackBufferBytes !== undefined ? parseSize(ing.ackBufferBytes) : defaults.ingest.ackBufferBytes,
      maxConnections: ing.maxConnections ?? defaults.ingest.maxConnections,
      maxPartialBytes: ing.maxPartialBytes !== undefined ? parseSize(ing.maxPartialBytes) : defaults.ingest.maxPartialBytes,
      idleTimeoutMs: ing.idleTimeout !== undefined ? parseDuration(ing.idleTimeout) : defaults.ingest.idleTimeoutMs,
    },
    queue: {
      path: path.resolve(q.path),
      maxBytes: q.maxBytes !== undefined ? parseSize(q.maxBytes) : defaults.queue.maxBytes,
      onFull: q.onFull ?? defaults.queue.onFull,
      synchronous: (q.synchronous ?? defaults.queue.synchronous).toLowerCase(),
      maxAgeMs: q.maxAge !== undefined ? parseDuration(q.maxAge) : defaults.queue.maxAgeMs,
      deadLetterMaxRawBytes: q.deadLetterMaxRawBytes !== undefined ? parseSize(q.deadLetterMaxRawBytes) : defaults.queue.deadLetterMaxRawBytes,
      deadLetterMaxRecords: q.deadLetterMaxRecords ?? defaults.queue.deadLetterMaxRecords,
      diskReserveBytes: q.diskReserveBytes !== undefined ? parseSize(q.diskReserveBytes) : defaults.queue.diskReserveBytes,
      statusIntervalMs: q.statusInterval !== undefined ? parseDuration(q.statusInterval) : defaults.queue.statusIntervalMs,
    },
    sinks,
    metrics: r.metrics?.address ? { address: r.metrics.address } : {},
    log: { level: r.log?.level ?? defaults.logLevel },
    shutdownTimeoutMs: r.shutdownTimeout !== undefined ? parseDuration(r.shutdownTimeout) : defaults.shutdownTimeoutMs,
    shutdownDrain: r.shutdownDrain ?? defaults.shutdownDrain,
  };
  if (Buffer.byteLength(cfg.socket) > 107) {
    problems.push(`socket: the path ${cfg.socket} is ${Buffer.byteLength(cfg.socket)} bytes; Unix sockets allow at most 107`);
  }
  if (cfg.ingest.maxLineBytes < 64) problems.push('ingest.maxLineBytes: must be at least 64 bytes');
  if (cfg.ingest.maxPendingBytes < 64 * 1024) problems.push('ingest.maxPendingBytes: must be at least 64Ki');
  if (cfg.ingest.maxPartialBytes < cfg.ingest.maxLineBytes) {
    problems.push(`ingest.maxPartialBytes: must be at least ingest.maxLineBytes (${cfg.ingest.maxLineBytes}), or a line of that size could never arrive`);
  }
  if (cfg.queue.maxBytes < 4096) problems.push('queue.maxBytes: must be at least 4096 bytes');
  if (cfg.queue.statusIntervalMs < 100 || cfg.queue.statusIntervalMs > 3_600_000) {
    problems.push('queue.statusInterval: must be between 100ms and 1h');
  }
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

export interface LoadOptions {
  configFile?: string;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  flags?: ConfigOverrides;
}

/** The whole chain: file (or embedded default) -> env -> flags -> validated config. */
export function loadConfig(opts: LoadOptions): ExporterConfig {
  const env = opts.env ?? process.env;
  const file = opts.configFile ?? env['EXPORTER_CONFIG'];
  const raw = file ? readConfigFile(file) : embeddedDefault(opts.dataDir ?? env['EXPORTER_DATA_DIR'] ?? 'exporter-data');
  return resolveConfig(applyOverrides(raw, env, opts.flags ?? {}));
}

/** A previous name must belong to one sink only and not be a configured sink's own name (its backlog would be taken). */
function previousNameProblems(rawSinks: unknown[]): string[] {
  const own = new Set(rawSinks.map((s) => (s as { name?: unknown })?.name));
  const claimed = new Map<string, number>();
  const out: string[] = [];
  rawSinks.forEach((s, i) => {
    const prev = (s as { previousNames?: unknown })?.previousNames;
    if (!Array.isArray(prev)) return;
    for (const p of prev) {
      if (own.has(p)) out.push(`sinks[${i}].previousNames: "${p}" is a configured sink's name`);
      else if (claimed.has(p)) out.push(`sinks[${i}].previousNames: "${p}" is also a previous name of sinks[${claimed.get(p)}]`);
      else claimed.set(p, i);
    }
  });
  return out;
}
