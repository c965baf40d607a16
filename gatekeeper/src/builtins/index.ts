// The host side of OPA's wasm builtins: every builtin the wasm target does not implement natively and that templates
// may call. Arguments arrive as JSON (sprintf's as Rego values, see sprintf.ts); a thrown error becomes a violation.
import { cryptoX509Builtins } from './crypto-x509.js';
import { dataBuiltins } from './data.js';
import { encodingBuiltins } from './encoding.js';
import { graphBuiltins } from './graph.js';
import { jwtBuiltins } from './jwt.js';
import { netBuiltins } from './net.js';
import { miscBuiltins } from './misc.js';
import { regexBuiltins } from './regex.js';
import { semverBuiltins } from './semver.js';
import { stringBuiltins } from './strings.js';
import { timeBuiltins } from './time.js';
import type { BuiltinTable, EvalContext } from './types.js';
import { unitBuiltins } from './units.js';
import { uriBuiltins } from './uri.js';

export { BuiltinError, RegoSetArg, type EvalContext } from './types.js';
export { regoSprintf } from './sprintf.js';
export { parseRegoValue } from './rego-value.js';

/** Builtins that need network or secrets: Gatekeeper templates must not call them. */
export const forbiddenBuiltins = new Set(['http.send', 'net.lookup_ip_addr', 'providers.aws.sign_req']);

export function hostBuiltins(ctx: () => EvalContext): BuiltinTable {
  return {
    ...stringBuiltins,
    ...unitBuiltins,
    ...semverBuiltins,
    ...regexBuiltins,
    ...miscBuiltins,
    ...dataBuiltins,
    ...encodingBuiltins,
    ...cryptoX509Builtins,
    ...netBuiltins,
    ...graphBuiltins,
    ...uriBuiltins,
    ...timeBuiltins(ctx),
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

/** Names handled specially by the dispatcher (arguments as Rego values). */
export const rawValueBuiltins = new Set(['sprintf']);
