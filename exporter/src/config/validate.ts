// The one ajv instance the config is checked with (formats for sizes, durations and listen addresses; defaults filled
// in from the schemas), and its errors as lines that name the key: `sinks[1].url: must be a URL`.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { formatDuration, formatSize, parseDuration, parseSize } from './units.js';

// ajv-formats is CommonJS with `exports.default`: under NodeNext the default import is the module object.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

/** "host:port" or ":port" or "port"; returns undefined when unusable. */
export function parseListenAddress(s: string): { host: string; port: number } | undefined {
  const m = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(s.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port };
}

function parses(fn: (s: string) => number): (s: string) => boolean {
  return (s) => {
    try {
      fn(s);
      return true;
    } catch {
      return false;
    }
  };
}

/** A keyword for the least value of a size or duration string (an unreadable one is its format's error). */
function minimumOf(keyword: string, parse: (s: string) => number, format: (n: number) => string) {
  return {
    keyword,
    type: 'string',
    schemaType: 'number',
    validate: (min: number, data: string) => !parses(parse)(data) || parse(data) >= min,
    error: { message: (cxt: { schema: unknown }) => `must be at least ${format(cxt.schema as number)}` },
  } as const;
}

let shared: Ajv | undefined;
const compiled = new WeakMap<object, ValidateFunction>();

/** A validator for the schema, compiled once; it fills in the schema's defaults as it checks. */
export function validatorFor(schema: object): ValidateFunction {
  if (!shared) {
    shared = new Ajv({ allErrors: true, strict: false, useDefaults: true });
    addFormats(shared);
    shared.addFormat('size', { type: 'string', validate: parses(parseSize) });
    shared.addFormat('duration', { type: 'string', validate: parses(parseDuration) });
    shared.addKeyword(minimumOf('minBytes', parseSize, formatSize));
    shared.addKeyword(minimumOf('minMs', parseDuration, formatDuration));
    shared.addFormat('listen-address', { type: 'string', validate: (s: string) => parseListenAddress(s) !== undefined });
  }
  let v = compiled.get(schema);
  if (!v) compiled.set(schema, (v = shared.compile(schema)));
  return v;
}

/** `/sinks/1/url` -> `sinks[1].url` */
function keyPath(base: string, pointer: string, extra?: string): string {
  let out = base;
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out || '(top level)';
}

const FORMATS: Record<string, string> = {
  uri: 'must be a URL',
  url: 'must be a URL',
  size: 'must be a size: a number with a unit, e.g. "512B", "64Ki", "500Mi", "1Gi"',
  duration: 'must be a duration: a number with a unit (ms, s, m, h, d), e.g. "250ms", "30s", "7d"',
  'listen-address': 'must be host:port, e.g. "127.0.0.1:9464"',
};

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known key';
    case 'format': {
      const f = (e.params as { format: string }).format;
      return FORMATS[f] ?? `must be a ${f}`;
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

/** ajv's errors as `key.path: what is wrong` lines, `base` prefixed (e.g. "sinks[2]"). */
export function formatErrors(base: string, errors: ErrorObject[] | null | undefined): string[] {
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
