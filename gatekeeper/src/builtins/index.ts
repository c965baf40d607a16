// The host side of OPA's wasm builtins: every builtin the wasm target does not implement natively and that templates
// may call. Arguments arrive as JSON (sprintf's as Rego values, see sprintf.ts); a thrown error becomes a violation.
import { dataBuiltins } from './data.js';
import { miscBuiltins } from './misc.js';
import { regexBuiltins } from './regex.js';
import { semverBuiltins } from './semver.js';
import { stringBuiltins } from './strings.js';
import { timeBuiltins } from './time.js';
import type { BuiltinTable, EvalContext } from './types.js';
import { unitBuiltins } from './units.js';

export { BuiltinError, type EvalContext } from './types.js';
export { regoSprintf } from './sprintf.js';
export { parseRegoValue } from './rego-value.js';

/** Builtins that need network or secrets: Gatekeeper templates must not call them. */
export const forbiddenBuiltins = new Set(['http.send', 'net.lookup_ip_addr', 'providers.aws.sign_req']);

export function hostBuiltins(ctx: () => EvalContext): BuiltinTable {
  return { ...stringBuiltins, ...unitBuiltins, ...semverBuiltins, ...regexBuiltins, ...miscBuiltins, ...dataBuiltins, ...timeBuiltins(ctx) };
}

/** Names handled specially by the dispatcher (arguments as Rego values). */
export const rawValueBuiltins = new Set(['sprintf']);
