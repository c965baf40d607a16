// json.verify_schema and json.match_schema. Validation is ajv's; what the policy sees is worded as OPA's
// (internal/gojsonschema): each error {error, type, field, desc} with gojsonschema's type names, descriptions and
// field paths ("(Root)", "a.b", "items.0"), and the schema errors OPA's tests check.
import { Ajv, type ErrorObject } from 'ajv';
import { BuiltinError, type BuiltinTable } from './types.js';

const ajv = new Ajv({ allErrors: true, strict: false });
const JSON_TYPES = ['array', 'boolean', 'integer', 'number', 'null', 'object', 'string'];

/** A schema or document given as a JSON string or a value (OPA's astValueToJSONSchemaLoader). */
function load(x: unknown): unknown {
  if (typeof x === 'string') {
    try {
      return JSON.parse(x);
    } catch {
      throw new Error('invalid JSON string');
    }
  }
  if (x !== null && typeof x === 'object') return x;
  throw new Error('wrong type, expected string or object');
}

/** gojsonschema's check of every `type` keyword, with its wording; the rest of the schema is ajv's to judge. */
function checkTypes(schema: unknown): void {
  if (Array.isArray(schema)) return schema.forEach(checkTypes);
  if (schema === null || typeof schema !== 'object') return;
  for (const [k, v] of Object.entries(schema)) {
    if (['enum', 'const', 'default', 'examples'].includes(k)) continue;
    if (k === 'type' && (typeof v === 'string' || Array.isArray(v))) {
      for (const t of typeof v === 'string' ? [v] : v) {
        if (typeof t === 'string' && !JSON_TYPES.includes(t)) {
          throw new Error(`has a primitive type that is NOT VALID -- given: /${t}/ Expected valid values are:[${JSON_TYPES.join(' ')}]`);
        }
      }
    } else checkTypes(v);
  }
}

function compile(schema: unknown) {
  const s = load(schema);
  checkTypes(s);
  return ajv.compile(s as object);
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

const fieldOf = (pointer: string) =>
  pointer === '' ? '(Root)' : pointer.slice(1).split('/').map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~')).join('.');

/** An ajv error as gojsonschema reports it: its type and description. */
function described(e: ErrorObject, doc: unknown, field: string): { type: string; desc: string } {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type': {
      const expected = Array.isArray(p.type) ? `[${p.type.join(',')}]` : String(p.type);
      const value = e.instancePath.slice(1).split('/').filter(Boolean).reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k.replaceAll('~1', '/').replaceAll('~0', '~')], doc);
      return { type: 'invalid_type', desc: `Invalid type. Expected: ${expected}, given: ${jsonType(value)}` };
    }
    case 'required':
      return { type: 'required', desc: `${String(p.missingProperty)} is required` };
    case 'additionalProperties':
      return { type: 'additional_property_not_allowed', desc: `Additional property ${String(p.additionalProperty)} is not allowed` };
    case 'enum':
      return { type: 'enum', desc: `${field} must be one of the following: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const':
      return { type: 'const', desc: `${field} does not match: ${JSON.stringify(p.allowedValue)}` };
    case 'minLength':
      return { type: 'string_gte', desc: `String length must be greater than or equal to ${String(p.limit)}` };
    case 'maxLength':
      return { type: 'string_lte', desc: `String length must be less than or equal to ${String(p.limit)}` };
    case 'pattern':
      return { type: 'pattern', desc: `Does not match pattern '${String(p.pattern)}'` };
    case 'format':
      return { type: 'format', desc: `Does not match format '${String(p.format)}'` };
    case 'multipleOf':
      return { type: 'multiple_of', desc: `Must be a multiple of ${String(p.multipleOf)}` };
    case 'minimum':
      return { type: 'number_gte', desc: `Must be greater than or equal to ${String(p.limit)}` };
    case 'exclusiveMinimum':
      return { type: 'number_gt', desc: `Must be greater than ${String(p.limit)}` };
    case 'maximum':
      return { type: 'number_lte', desc: `Must be less than or equal to ${String(p.limit)}` };
    case 'exclusiveMaximum':
      return { type: 'number_lt', desc: `Must be less than ${String(p.limit)}` };
    case 'minItems':
      return { type: 'array_min_items', desc: `Array must have at least ${String(p.limit)} items` };
    case 'maxItems':
      return { type: 'array_max_items', desc: `Array must have at most ${String(p.limit)} items` };
    case 'uniqueItems': {
      const [i, j] = [Number(p.i), Number(p.j)].sort((a, b) => a - b);
      return { type: 'unique', desc: `array items[${i},${j}] must be unique` };
    }
    case 'minProperties':
      return { type: 'array_min_properties', desc: `Must have at least ${String(p.limit)} properties` };
    case 'maxProperties':
      return { type: 'array_max_properties', desc: `Must have at most ${String(p.limit)} properties` };
    case 'anyOf':
      return { type: 'number_any_of', desc: 'Must validate at least one schema (anyOf)' };
    case 'oneOf':
      return { type: 'number_one_of', desc: 'Must validate one and only one schema (oneOf)' };
    case 'not':
      return { type: 'number_not', desc: 'Must not validate the schema (not)' };
    case 'dependencies':
    case 'dependentRequired':
      return { type: 'missing_dependency', desc: `Has a dependency on ${String(p.missingProperty)}` };
    case 'if':
      return p.failingKeyword === 'then'
        ? { type: 'condition_then', desc: 'Must validate "then" as "if" was valid' }
        : { type: 'condition_else', desc: 'Must validate "else" as "if" was not valid' };
    case 'false schema':
      return { type: 'false', desc: 'False always fails validation' };
    default:
      return { type: e.keyword, desc: e.message ?? e.keyword };
  }
}

/** The field an error is about: the object's own path for required/additionalProperties/dependencies, as gojsonschema. */
function errorObject(e: ErrorObject, doc: unknown) {
  const field = fieldOf(e.instancePath);
  const { type, desc } = described(e, doc, field);
  return { error: `${field}: ${desc}`, type, field, desc };
}

export const jsonSchemaBuiltins: BuiltinTable = {
  'json.verify_schema': (s) => {
    try {
      compile(s);
      return [true, null];
    } catch (e) {
      return [false, `jsonschema: ${(e as Error).message}`];
    }
  },
  'json.match_schema': (document, s) => {
    let doc: unknown;
    let validate: ReturnType<typeof compile>;
    try {
      doc = load(document);
      validate = compile(s);
    } catch (e) {
      throw new BuiltinError('json.match_schema', (e as Error).message);
    }
    if (validate(doc)) return [true, []];
    return [false, (validate.errors ?? []).map((e) => errorObject(e, doc))];
  },
};
