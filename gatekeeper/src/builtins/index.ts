// The host side of OPA's wasm builtins: every builtin the wasm target does not implement natively and that templates
// may call. Arguments arrive as JSON (sprintf's as Rego values, see sprintf.ts); a thrown error becomes a violation.
import { cryptoX509Builtins } from './crypto-x509.js';
import { dataBuiltins } from './data.js';
import { encodingBuiltins } from './encoding.js';
import { graphBuiltins } from './graph.js';
import { jsonPatch } from './json-patch.js';
import { jsonSchemaBuiltins } from './json-schema.js';
import { jwtBuiltins } from './jwt.js';
import { netBuiltins } from './net.js';
import { miscBuiltins } from './misc.js';
import { randomBuiltins } from './random.js';
import { regexBuiltins } from './regex.js';
import { regoTypeName, type RegoTerm } from './rego-value.js';
import { semverBuiltins } from './semver.js';
import { regoSprintf } from './sprintf.js';
import { stringBuiltins } from './strings.js';
import { objectSubsetBuiltin } from './subset.js';
import { templateBuiltins } from './template.js';
import { timeBuiltins } from './time.js';
import { BuiltinError, type BuiltinTable, type EvalContext } from './types.js';
import { unitBuiltins } from './units.js';
import { uriBuiltins } from './uri.js';
import { yamlBuiltins } from './yaml.js';

export { BuiltinError, RegoSetArg, type EvalContext } from './types.js';
export { regoSprintf } from './sprintf.js';
export { parseRegoValue, regoLiteral, type RegoTerm } from './rego-value.js';

/** Builtins that need network or secrets: Gatekeeper templates must not call them. */
export const forbiddenBuiltins = new Set(['http.send', 'net.lookup_ip_addr', 'providers.aws.sign_req']);

/** Non-native builtins the engine does not provide, and why (a template calling one is refused at load). */
export const notProvidedBuiltins: Record<string, string> = {
  'http.send': 'network access from a template is forbidden',
  'net.lookup_ip_addr': 'network access from a template is forbidden',
  'providers.aws.sign_req': 'signing with credentials from a template is forbidden',
  ...Object.fromEntries(
    ['graphql.is_valid', 'graphql.parse', 'graphql.parse_and_verify', 'graphql.parse_query', 'graphql.parse_schema', 'graphql.schema_is_valid'].map((n) => [
      n,
      "a port of the GraphQL parser and validator OPA embeds (gqlparser) that Kubernetes admission has no use for; a partial one would accept or reject what Go's does not",
    ]),
  ),
  'rego.parse_module': "it returns OPA's Go AST of a Rego module as JSON, which only OPA's own parser produces",
  ...Object.fromEntries(
    ['cast_array', 'cast_boolean', 'cast_null', 'cast_object', 'cast_set', 'cast_string'].map((n) => [n, 'deprecated, and not callable from Rego v1']),
  ),
};

export function hostBuiltins(ctx: () => EvalContext): BuiltinTable {
  return {
    ...stringBuiltins,
    ...unitBuiltins,
    ...semverBuiltins,
    ...regexBuiltins,
    ...miscBuiltins,
    ...dataBuiltins,
    ...yamlBuiltins,
    ...templateBuiltins,
    ...jsonSchemaBuiltins,
    ...encodingBuiltins,
    ...cryptoX509Builtins,
    ...netBuiltins,
    ...graphBuiltins,
    ...uriBuiltins,
    ...timeBuiltins(ctx),
    ...randomBuiltins(ctx),
    ...jwtBuiltins(ctx),
  };
}

/**
 * Builtins whose result is a Rego set. They return its elements as a sorted JSON array (what Go's JSON output shows);
 * the dispatcher (policy/wasm.ts) loads it into the policy as a Rego set literal, so `net.cidr_merge(x) == {"10.0.0.0/8"}`
 * holds as in Go.
 */
/** Builtins that index a set argument by element (an array's by position): their arguments keep sets as RegoSetArg. */
export const setArgBuiltins = new Set(['net.cidr_contains_matches']);

export const setResultBuiltins = new Set(['net.cidr_expand', 'net.cidr_merge', 'net.cidr_contains_matches', 'graph.reachable_paths']);

/**
 * Builtins that take and return Rego values (arguments read with opa_value_dump, the result loaded as a Rego
 * literal), for what JSON loses: sets (json.patch into a set, object.subset of sets) and number literals (sprintf).
 */
export const termBuiltins: Record<string, (...args: RegoTerm[]) => RegoTerm | undefined> = {
  sprintf: (format, values) => {
    if (format!.k !== 'str') throw new BuiltinError('sprintf', `operand 1 must be string but got ${regoTypeName(format!)}`);
    if (values!.k !== 'arr') throw new BuiltinError('sprintf', `operand 2 must be array but got ${regoTypeName(values!)}`);
    return { k: 'str', v: regoSprintf(format.v, values.items) };
  },
  'json.patch': (doc, operations) => jsonPatch(doc!, operations!),
  'object.subset': (sup, sub) => objectSubsetBuiltin(sup!, sub!),
};
