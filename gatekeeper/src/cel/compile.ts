// One CEL expression compiled as Kubernetes compiles a policy's expressions: parsed, every identifier checked against
// the variables declared for it (cel-go's "undeclared reference" and "undefined field" errors, with its position and
// source excerpt), instrumented for cost and planned once. A compile error is not thrown: as in Gatekeeper, the
// template loads and the error is the result of every evaluation of that expression (failurePolicy decides).
import { parse, plan, type CelEnv, type CelResult } from '@bufbuild/cel';
import type { Expr, SourceInfo } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { instrument, qualifiedName } from './cost.js';

export interface Declarations {
  /** Top-level variables (object, request, ...). */
  names: ReadonlySet<string>;
  /** Fields of `variables` declared so far. */
  variables: ReadonlySet<string>;
}

export type Compiled = { ok: true; run: (ctx: object) => CelResult } | { ok: false; error: string };

/** Calls the planner evaluates itself (not through the function table). */
const PLANNER_CALLS = new Set(['_[_]', '_[?_]', '_?._', '_?_:_', '_&&_', '_||_', '@not_strictly_false', '__not_strictly_false__']);

/** Type names and constants CEL resolves as identifiers. */
const BUILTIN_IDENTS = new Set(['int', 'uint', 'double', 'bool', 'string', 'bytes', 'list', 'map', 'null_type', 'type', 'dyn']);

/** cel-go's error form: `ERROR: <input>:line:col: message`, then the source line and a caret under the column. */
function celGoError(source: string, offset: number, message: string): string {
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const col = offset - lineStart;
  const lineText = source.slice(lineStart).split('\n')[0] ?? '';
  return `ERROR: <input>:${line}:${col + 1}: ${message}\n | ${lineText}\n | ${'.'.repeat(col)}^`;
}

function undeclared(env: CelEnv, e: Expr, decl: Declarations, info: SourceInfo | undefined, source: string): string | undefined {
  const at = (x: Expr) => info?.positions[x.id.toString()] ?? 0;
  const walk = (x: Expr | undefined, scope: ReadonlySet<string>): string | undefined => {
    if (!x) return undefined;
    const k = x.exprKind;
    switch (k.case) {
      case 'identExpr': {
        const name = k.value.name;
        if (scope.has(name) || decl.names.has(name) || BUILTIN_IDENTS.has(name)) return undefined;
        return celGoError(source, at(x), `undeclared reference to '${name}' (in container '')`);
      }
      case 'selectExpr': {
        const op = k.value.operand;
        const q = qualifiedName(x);
        if (q !== undefined && !scope.has(q.split('.')[0]!) && env.registry.getMessage(q)) return undefined; // a type name: net.IP
        if (op?.exprKind.case === 'identExpr' && op.exprKind.value.name === 'variables' && !scope.has('variables') && !decl.variables.has(k.value.field)) {
          return celGoError(source, at(x), `undefined field '${k.value.field}'`);
        }
        return walk(op, scope);
      }
      case 'callExpr': {
        // strings.quote(x), sets.contains(a, b): a namespaced function, not a method of a variable `strings`
        const ns = qualifiedName(k.value.target);
        const namespaced = ns !== undefined && !scope.has(ns.split('.')[0]!) && env.funcs.find(`${ns}.${k.value.function}`) !== undefined;
        const inner = (namespaced ? undefined : walk(k.value.target, scope)) ?? k.value.args.reduce<string | undefined>((err, a) => err ?? walk(a, scope), undefined);
        if (inner) return inner;
        if (!namespaced && !PLANNER_CALLS.has(k.value.function) && env.funcs.find(k.value.function) === undefined) {
          // cel-go's wording for an unknown function; Kubernetes libraries this engine lacks end here too (README)
          return celGoError(source, at(x), `undeclared reference to '${k.value.function}' (in container '')`);
        }
        return undefined;
      }
      case 'listExpr':
        return k.value.elements.reduce<string | undefined>((err, a) => err ?? walk(a, scope), undefined);
      case 'structExpr':
        for (const entry of k.value.entries) {
          const err = (entry.keyKind.case === 'mapKey' ? walk(entry.keyKind.value, scope) : undefined) ?? walk(entry.value, scope);
          if (err) return err;
        }
        return undefined;
      case 'comprehensionExpr': {
        const c = k.value;
        const inner = new Set([...scope, c.iterVar, c.accuVar, ...(c.iterVar2 ? [c.iterVar2] : [])]);
        const withAccu = new Set([...scope, c.accuVar]);
        return walk(c.iterRange, scope) ?? walk(c.accuInit, scope) ?? walk(c.loopCondition, inner) ?? walk(c.loopStep, inner) ?? walk(c.result, withAccu);
      }
      default:
        return undefined;
    }
  };
  return walk(e, new Set());
}

export function compileExpression(env: CelEnv, source: string, decl: Declarations): Compiled {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (e) {
    return { ok: false, error: `ERROR: <input>: ${(e as Error).message}` };
  }
  const err = undeclared(env, parsed.expr, decl, parsed.sourceInfo, source);
  if (err) return { ok: false, error: err };
  try {
    const run = plan(env, instrument(parsed.expr, (name) => env.funcs.find(name) !== undefined)!) as (ctx: object) => CelResult;
    return { ok: true, run };
  } catch (e) {
    return { ok: false, error: `ERROR: <input>: ${(e as Error).message}` };
  }
}
