// The ingest hot path: parse one line, check the record's invariants, and fill in what the exporter owns
// (decisionId, timestamp, schemaVersion) by splicing them into the received text, never re-serialising it.
import { createRequire } from 'node:module';
import type { Ajv2020, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { newDecisionId } from './id.js';
import { SCHEMA_VERSION, decisionRecordSchema } from './schema.js';

export interface NormalizedRecord {
  decisionId: string;
  eventType: string;
  /** The JSON text to store: the line as received, with decisionId / timestamp / schemaVersion spliced in when absent. */
  json: string;
  /** json is the line exactly as received (nothing spliced in, no surrounding whitespace). */
  asReceived: boolean;
  assignedId: boolean;
  /** What the sinks' routing reads of it, as JSON (NormalizeOptions.facts), when asked for. */
  facts?: string;
}

export type NormalizeResult = { ok: true; record: NormalizedRecord } | { ok: false; reason: string; error: string };

/**
 * basic: the invariants every consumer relies on (an object; eventType; decisionId, timestamp, schemaVersion well-formed
 * when present). full: also the whole JSON Schema (types of every known field, required fields per eventType).
 * The config key is `ingest.validate`.
 */
export type ValidationMode = 'basic' | 'full';

export interface NormalizeOptions {
  validate?: ValidationMode;
  /** Computes what the sinks' routing reads of the record (routing/facts.ts), from the parse ingest does anyway. */
  facts?: ((rec: Record<string, unknown>) => string) | undefined;
}

// RFC 3339 date-time (upper or lower case T/Z, optional fraction, Z or offset).
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parse and check one ndjson line (without its newline). Never throws.
 * receivedAt: a Date or epoch milliseconds (the ingest hot path passes a number: no Date per line).
 */
export function normalizeLine(line: string, receivedAt: Date | number, opts?: NormalizeOptions): NormalizeResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return { ok: false, reason: 'malformed_json', error: `malformed JSON: ${(e as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: 'not_an_object', error: 'a record must be a JSON object' };
  }
  const rec = value as Record<string, unknown>;
  const eventType = rec['eventType'];
  if (typeof eventType !== 'string' || eventType.length === 0 || eventType.length > 128) {
    return schemaError('eventType: required, a string of 1 to 128 characters');
  }
  const version = rec['schemaVersion'];
  if (version !== undefined && !isSupportedVersion(version)) {
    return {
      ok: false,
      reason: 'unsupported_schema_version',
      error: `schemaVersion: ${JSON.stringify(version)} is not supported (this exporter reads major version ${SCHEMA_VERSION})`,
    };
  }
  const timestamp = rec['timestamp'];
  if (timestamp !== undefined && (typeof timestamp !== 'string' || !RFC3339.test(timestamp))) {
    return schemaError('timestamp: must be an RFC 3339 date-time string, e.g. 2026-11-24T10:58:00.123Z');
  }
  let decisionId = rec['decisionId'];
  let assignedId = false;
  if (decisionId === undefined) {
    decisionId = newDecisionId(typeof receivedAt === 'number' ? receivedAt : receivedAt.getTime());
    assignedId = true;
  } else if (typeof decisionId !== 'string' || decisionId.length === 0 || decisionId.length > 256) {
    return schemaError('decisionId: must be a string of 1 to 256 characters when present');
  }
  if (opts?.validate === 'full') {
    const validate = fullValidator();
    if (!validate(rec)) return schemaError(describeErrors(validate.errors));
  }

  let json = line.trim();
  const splice = assignedId || timestamp === undefined || version === undefined;
  const asReceived = !splice && json.length === line.length;
  if (splice) {
    let head = '{';
    if (assignedId) head += `"decisionId":"${decisionId as string}",`;
    if (timestamp === undefined) head += `"timestamp":"${new Date(receivedAt).toISOString()}",`;
    if (version === undefined) head += `"schemaVersion":"${SCHEMA_VERSION}",`;
    // join, not +: one flat string. `head + rest` would be a rope holding the whole received line, which SQLite's binding
    // flattens into yet another copy (allocated in the old generation once the rope has been promoted).
    json = [head, json.slice(1)].join('');
  }
  const record: NormalizedRecord = { decisionId: decisionId as string, eventType, json, asReceived, assignedId };
  if (opts?.facts) record.facts = opts.facts(rec);
  return { ok: true, record };
}

function isSupportedVersion(v: unknown): boolean {
  return typeof v === 'string' && v.startsWith(SCHEMA_VERSION) && (v.length === SCHEMA_VERSION.length || v[SCHEMA_VERSION.length] === '.');
}

function schemaError(error: string): NormalizeResult {
  return { ok: false, reason: 'schema', error };
}

type AddFormats = (ajv: Ajv2020) => Ajv2020;

let compiled: ValidateFunction | undefined;

/**
 * The full-schema validator, loaded and compiled on first use: `basic` never loads ajv (several MB of heap and code).
 * require, not import(): ajv and ajv-formats are CommonJS, and this keeps fullValidator synchronous.
 */
export function fullValidator(): ValidateFunction {
  if (!compiled) {
    const require = createRequire(import.meta.url);
    const { Ajv2020: Ajv } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    // ajv-formats is CommonJS with `exports.default`.
    const formats = require('ajv-formats') as { default?: AddFormats } & AddFormats;
    const addFormats: AddFormats = formats.default ?? formats;
    const ajv = new Ajv({ allErrors: false, strict: false });
    addFormats(ajv);
    compiled = ajv.compile(decisionRecordSchema);
  }
  return compiled;
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'does not match the record schema';
  const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(record)';
  if (e.keyword === 'required') {
    const eventType = (e.params as { missingProperty: string }).missingProperty;
    return `${eventType}: required${e.schemaPath.startsWith('#/allOf') ? ' for this eventType' : ''}`;
  }
  return `${where}: ${e.message ?? 'is invalid'}`;
}
