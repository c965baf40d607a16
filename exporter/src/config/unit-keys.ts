// The keys the schema marks with a unit (durationSchema, sizeSchema in units.ts), walked alongside the config:
// upgradeUnitKeys turns the deprecated forms into the current ones, with a warning naming the new key; resolveUnitKeys
// turns the validated strings into numbers for the rest of the exporter (duration `x` -> `xMs` in ms, size -> bytes).
import { UNIT, formatDuration, formatSize, parseDuration, parseSize, type Unit } from './units.js';

type Json = Record<string, unknown>;
interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  [UNIT]?: Unit;
}

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const child = (base: string, key: string) => (base ? `${base}.${key}` : key);

function eachUnitKey(schema: SchemaNode, data: unknown, base: string, visit: (obj: Json, key: string, unit: Unit, keyPath: string) => void): void {
  if (Array.isArray(data) && schema.items) data.forEach((v, i) => eachUnitKey(schema.items!, v, `${base}[${i}]`, visit));
  if (!isObject(data) || !schema.properties) return;
  for (const [key, sub] of Object.entries(schema.properties)) {
    if (sub[UNIT]) visit(data, key, sub[UNIT], child(base, key));
    else if (key in data) eachUnitKey(sub, data[key], child(base, key), visit);
  }
}

/**
 * In place, before validation: a duration written `<key>Ms` (the old name) moves to `<key>`; a duration or size written
 * as a bare number becomes the string with its unit. Each is reported in `warnings`; a key given under both names in
 * `problems`.
 */
export function upgradeUnitKeys(schema: object, data: unknown, base: string, warnings: string[], problems: string[]): void {
  eachUnitKey(schema as SchemaNode, data, base, (obj, key, unit, keyPath) => {
    const old = `${key}Ms`;
    if (unit === 'duration' && old in obj) {
      const v = obj[old];
      delete obj[old];
      if (key in obj) problems.push(`${keyPath}: also given under its deprecated name ${old}; keep only ${key}`);
      else {
        obj[key] = typeof v === 'number' && Number.isFinite(v) && v >= 0 ? formatDuration(v) : v;
        warnings.push(`${keyPath}Ms is deprecated: write ${keyPath}: ${typeof obj[key] === 'string' ? obj[key] : '"<duration>"'}`);
        return;
      }
    }
    const v = obj[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return;
    obj[key] = unit === 'duration' ? formatDuration(v) : formatSize(Math.floor(v));
    warnings.push(`${keyPath}: a bare number is deprecated: write ${keyPath}: ${obj[key] as string}`);
  });
}

/** In place, after validation and defaults: duration `<key>` -> `<key>Ms` (milliseconds), size `<key>` -> bytes. */
export function resolveUnitKeys(schema: object, data: unknown): void {
  eachUnitKey(schema as SchemaNode, data, '', (obj, key, unit) => {
    if (!(key in obj)) return;
    if (unit === 'size') {
      obj[key] = parseSize(obj[key]);
      return;
    }
    obj[`${key}Ms`] = parseDuration(obj[key]);
    delete obj[key];
  });
}
