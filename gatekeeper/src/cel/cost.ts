// Bounding every CEL evaluation. @bufbuild/cel has no cost tracking, so each planned expression is rewritten once:
// the range of every comprehension, every loop step and every argument of a function call pass through an identity
// function that charges the evaluation under way. A charge is 1, plus the length of a string argument / 10, plus the
// size of a list or map argument of a function that walks it (`in`, `==`, join, sets, lists); past the limit the
// evaluation fails ("out of cost budget"), whatever the expression would have made of the error.
import { celFunc, CelScalar, isCelList, isCelMap, type CelFunc } from '@bufbuild/cel';
import type { Expr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';

/** Kubernetes' per-call limit (k8s.io/apiserver/pkg/apis/cel PerCallLimit), the default here too. */
export const DEFAULT_CEL_COST_LIMIT = 1_000_000;
const COST_FN = 'gatekeeper_internal_cost';
const TRAVERSED_FN = 'gatekeeper_internal_cost_traversed';
/** Functions that walk a whole list or map argument. */
const TRAVERSING = new Set([
  '@in',
  '_==_',
  '_!=_',
  'join',
  'sets.contains',
  'sets.equivalent',
  'sets.intersects',
  'isSorted',
  'sum',
  'min',
  'max',
  'indexOf',
  'lastIndexOf',
  'string',
  'format',
  'slice',
  'flatten',
  'sort',
  '@sortByAssociatedKeys',
  'reverse',
  'distinct',
  'cel.@mapInsert',
]);
/** Short-circuiting operators: their arguments are not wrapped (cheap, and errors there have their own meaning). */
const LOGICAL = new Set(['_&&_', '_||_', '_?_:_', '@not_strictly_false', '!_']);

export class CostBudgetError extends Error {
  constructor(limit: number) {
    super(`operation cancelled: actual cost limit exceeded (limit ${limit})`);
    this.name = 'CostBudgetError';
  }
}

/** The charge of the evaluation under way (evaluations are synchronous and never interleave). */
export class CostMeter {
  used = 0;
  exceeded = false;
  constructor(readonly limit: number) {}
}
let meter: CostMeter | undefined;

/** Runs fn with meter charged by the instrumented expressions it evaluates. */
export function metered<T>(m: CostMeter, fn: () => T): T {
  const previous = meter;
  meter = m;
  try {
    return fn();
  } finally {
    meter = previous;
  }
}

function charge(v: unknown, traversed: boolean): void {
  if (!meter) return;
  let cost = 1;
  if (typeof v === 'string') cost += Math.ceil(v.length / 10);
  else if (traversed && (isCelList(v) || isCelMap(v))) cost += v.size;
  meter.used += cost;
  if (meter.used > meter.limit) {
    meter.exceeded = true;
    throw new CostBudgetError(meter.limit);
  }
}

export const costFuncs: CelFunc[] = [
  celFunc(COST_FN, [CelScalar.DYN], CelScalar.DYN, (v) => {
    charge(v, false);
    return v;
  }),
  celFunc(TRAVERSED_FN, [CelScalar.DYN], CelScalar.DYN, (v) => {
    charge(v, true);
    return v;
  }),
];

function wrap(e: Expr, fn: string): Expr {
  return {
    $typeName: 'cel.expr.Expr',
    id: e.id,
    exprKind: { case: 'callExpr', value: { $typeName: 'cel.expr.Expr.Call', function: fn, args: [e] } },
  } as unknown as Expr;
}

/** `a.b` of a select chain on an identifier, or undefined. */
export function qualifiedName(e: Expr | undefined): string | undefined {
  if (e?.exprKind.case === 'identExpr') return e.exprKind.value.name;
  if (e?.exprKind.case === 'selectExpr' && !e.exprKind.value.testOnly) {
    const base = qualifiedName(e.exprKind.value.operand);
    return base === undefined ? undefined : `${base}.${e.exprKind.value.field}`;
  }
  return undefined;
}

/**
 * Rewrites a parsed expression in place so that evaluating it charges the current meter. isFunction tells a
 * namespaced function (`strings.quote(x)`: its target `strings` is part of its name, left as the planner needs it).
 */
export function instrument(e: Expr | undefined, isFunction: (name: string) => boolean): Expr | undefined {
  if (!e) return e;
  const again = (x: Expr | undefined) => instrument(x, isFunction);
  const k = e.exprKind;
  switch (k.case) {
    case 'callExpr': {
      const call = k.value;
      const logical = LOGICAL.has(call.function);
      const fn = TRAVERSING.has(call.function) ? TRAVERSED_FN : COST_FN;
      call.args = call.args.map((a) => (logical ? again(a)! : wrap(again(a)!, fn)));
      const ns = qualifiedName(call.target);
      if (ns !== undefined && isFunction(`${ns}.${call.function}`)) break;
      if (call.target) call.target = logical ? again(call.target) : wrap(again(call.target)!, fn);
      break;
    }
    case 'selectExpr':
      k.value.operand = again(k.value.operand);
      break;
    case 'listExpr':
      k.value.elements = k.value.elements.map((x) => again(x)!);
      break;
    case 'structExpr':
      for (const entry of k.value.entries) {
        entry.value = again(entry.value);
        if (entry.keyKind.case === 'mapKey') entry.keyKind.value = again(entry.keyKind.value)!;
      }
      break;
    case 'comprehensionExpr': {
      const c = k.value;
      c.iterRange = wrap(again(c.iterRange)!, TRAVERSED_FN);
      c.accuInit = again(c.accuInit);
      c.loopCondition = again(c.loopCondition);
      c.loopStep = wrap(again(c.loopStep)!, COST_FN);
      c.result = again(c.result);
      break;
    }
    default:
      break;
  }
  return e;
}
