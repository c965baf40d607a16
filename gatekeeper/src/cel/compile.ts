// One CEL expression compiled as Kubernetes compiles a policy's expressions (k8s.io/apiserver
// pkg/admission/plugin/cel/compile.go): parsed, type-checked against the declared variables and functions
// (check/), its literals validated (Kubernetes' AST validators), its output type compared with the type the
// expression must have, then instrumented for cost and planned once. A compile error is not thrown: as in
// Gatekeeper, the template loads and the error is the result of every evaluation of that expression (failurePolicy
// decides), with Kubernetes' wording (`compilation failed: ERROR: <input>:…`, `must evaluate to bool but got dyn`).
import { parse, plan, type CelEnv, type CelResult } from '@bufbuild/cel';
import { checkExpression, type CheckOptions } from './check/checker.js';
import { invalidLiterals } from './check/literals.js';
import { typeString, DYN, type CheckType } from './check/types.js';
import { instrument } from './cost.js';
import { expandTwoVarMacros, lowerTwoVarComprehensions, MacroError } from './macros.js';

/** The variables an expression may use, with their static types. */
export type Declarations = ReadonlyMap<string, CheckType>;

/** Every name dynamically typed (conformance cases, library tests). */
export const dynDeclarations = (names: Iterable<string>): Declarations => new Map([...names].map((n) => [n, DYN]));

export type Compiled = { ok: true; run: (ctx: object) => CelResult; type: CheckType } | { ok: false; error: string };

/** cel-go's error form: `ERROR: <input>:line:col: message`, then the source line and a caret under the column. */
function celGoError(source: string, offset: number, message: string): string {
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const col = offset - lineStart;
  const lineText = source.slice(lineStart).split('\n')[0] ?? '';
  return `ERROR: <input>:${line}:${col + 1}: ${message}\n | ${lineText}\n | ${'.'.repeat(col)}^`;
}

/**
 * Compiles `source`; `returnType` is what Kubernetes requires of it (bool for a validation or match condition,
 * string for a messageExpression; none for a variable).
 */
export function compileExpression(env: CelEnv, source: string, decl: Declarations, returnType?: CheckType, options?: CheckOptions): Compiled {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (e) {
    return { ok: false, error: `compilation failed: ERROR: <input>: ${(e as Error).message}` };
  }
  let expr = parsed.expr;
  try {
    expr = expandTwoVarMacros(expr, parsed.sourceInfo);
  } catch (e) {
    if (e instanceof MacroError) return { ok: false, error: `compilation failed: ${celGoError(source, e.offset, e.message)}` };
    throw e;
  }
  const checked = checkExpression(expr, parsed.sourceInfo, source, decl, options);
  const issues = checked.issues.length ? checked.issues : invalidLiterals(env, expr, parsed.sourceInfo);
  if (issues.length) return { ok: false, error: `compilation failed: ${issues.map((i) => celGoError(source, i.offset, i.message)).join('\n')}` };
  if (returnType && typeString(checked.type) !== typeString(returnType)) {
    return { ok: false, error: `must evaluate to ${typeString(returnType)} but got ${typeString(checked.type)}` };
  }
  try {
    const run = plan(env, instrument(lowerTwoVarComprehensions(expr), (name) => env.funcs.find(name) !== undefined)!) as (ctx: object) => CelResult;
    return { ok: true, run, type: checked.type };
  } catch (e) {
    return { ok: false, error: `program instantiation failed: ${(e as Error).message}` };
  }
}
