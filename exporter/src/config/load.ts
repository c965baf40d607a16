// Reads the config file (YAML or JSON) and applies env vars and CLI flags; resolve.ts checks and resolves the result.
// Precedence, lowest to highest: built-in defaults < config file (or the embedded --data-dir default) < EXPORTER_* env vars < CLI flags.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ExporterConfig } from './config.js';
import { checkConfig, ConfigError, type CheckedConfig } from './resolve.js';

export { ConfigError, checkConfig, resolveConfig, resolveSinkConfig } from './resolve.js';
export { parseListenAddress } from './validate.js';

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
  return obj;
}

export interface LoadOptions {
  configFile?: string;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  flags?: ConfigOverrides;
}

/** The whole chain: file (or embedded default) -> env -> flags -> validated config, with its deprecation warnings. */
export function loadCheckedConfig(opts: LoadOptions): CheckedConfig {
  const env = opts.env ?? process.env;
  const file = opts.configFile ?? env['EXPORTER_CONFIG'];
  const raw = file ? readConfigFile(file) : embeddedDefault(opts.dataDir ?? env['EXPORTER_DATA_DIR'] ?? 'exporter-data');
  return checkConfig(applyOverrides(raw, env, opts.flags ?? {}));
}

/** loadCheckedConfig's config; the warnings go to onWarning. */
export function loadConfig(opts: LoadOptions & { onWarning?: (warning: string) => void }): ExporterConfig {
  const { config, warnings } = loadCheckedConfig(opts);
  for (const w of warnings) opts.onWarning?.(w);
  return config;
}
