// Two-variable comprehensions (cel-go ext.TwoVarComprehensions, in Kubernetes' base environment since 1.32):
// `all`, `exists`, `existsOne`/`exists_one` with (k, v, predicate), `transformList`, `transformMap`,
// `transformMapEntry` with (k, v, [filter,] expr). @bufbuild/cel's parser leaves them as plain calls, so they are
// expanded here exactly as cel-go's macros expand them (a comprehension with two iteration variables, for the
// checker), and that comprehension is lowered for @bufbuild/cel's planner, which binds one variable only: it ranges
// over the (index or key, value) pairs of the target and reads the two variables from the pair. Also ext lists'
// sortBy macro.
import { celFunc, celList, celMap, CelScalar, isCelList, isCelMap, listType, mapType, type CelFunc, type CelUint, type CelValue } from '@bufbuild/cel';
import type { Expr, SourceInfo } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';

const ACCU = '@result';
const ENTRIES_FN = 'gatekeeper_internal_entries';
const MAP_INSERT = 'cel.@mapInsert';
const ARITY: Record<string, number[]> = {
  all: [3],
  exists: [3],
  existsOne: [3],
  exists_one: [3],
  transformList: [3, 4],
  transformMap: [3, 4],
  transformMapEntry: [3, 4],
};

/** A macro the input misuses, with cel-go's message. */
export class MacroError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

type Kind = Expr['exprKind'];
const node = (exprKind: Kind, id: bigint): Expr => ({ $typeName: 'cel.expr.Expr', id, exprKind }) as unknown as Expr;

class Builder {
  constructor(
    private next: bigint,
    private readonly info: SourceInfo | undefined,
    private readonly at: number,
  ) {}
  private make(kind: Kind): Expr {
    const id = this.next++;
    if (this.info) this.info.positions[id.toString()] = this.at;
    return node(kind, id);
  }
  ident = (name: string) => this.make({ case: 'identExpr', value: { $typeName: 'cel.expr.Expr.Ident', name } } as Kind);
  call = (fn: string, ...args: Expr[]) => this.make({ case: 'callExpr', value: { $typeName: 'cel.expr.Expr.Call', function: fn, args } } as Kind);
  list = (...elements: Expr[]) => this.make({ case: 'listExpr', value: { $typeName: 'cel.expr.Expr.CreateList', elements, optionalIndices: [] } } as Kind);
  emptyMap = () => this.make({ case: 'structExpr', value: { $typeName: 'cel.expr.Expr.CreateStruct', messageName: '', entries: [] } } as Kind);
  bool = (v: boolean) => this.make({ case: 'constExpr', value: { $typeName: 'cel.expr.Constant', constantKind: { case: 'boolValue', value: v } } } as Kind);
  int = (v: bigint) => this.make({ case: 'constExpr', value: { $typeName: 'cel.expr.Constant', constantKind: { case: 'int64Value', value: v } } } as Kind);
  member = (fn: string, target: Expr, ...args: Expr[]) => this.make({ case: 'callExpr', value: { $typeName: 'cel.expr.Expr.Call', function: fn, target, args } } as Kind);
  fold(range: Expr, iterVar: string, iterVar2: string, init: Expr, cond: Expr, step: Expr, result: Expr, accuVar = ACCU): Expr {
    return this.make({
      case: 'comprehensionExpr',
      value: { $typeName: 'cel.expr.Expr.Comprehension', iterRange: range, iterVar, iterVar2, accuVar, accuInit: init, loopCondition: cond, loopStep: step, result },
    } as Kind);
  }
  get nextId(): bigint {
    return this.next;
  }
}

function maxId(e: Expr | undefined): bigint {
  if (!e) return 0n;
  let m = e.id;
  const k = e.exprKind;
  const kids: Array<Expr | undefined> =
    k.case === 'callExpr' ? [k.value.target, ...k.value.args]
    : k.case === 'selectExpr' ? [k.value.operand]
    : k.case === 'listExpr' ? k.value.elements
    : k.case === 'structExpr' ? k.value.entries.flatMap((x) => [x.keyKind.case === 'mapKey' ? x.keyKind.value : undefined, x.value])
    : k.case === 'comprehensionExpr' ? [k.value.iterRange, k.value.accuInit, k.value.loopCondition, k.value.loopStep, k.value.result]
    : [];
  for (const x of kids) {
    const c = maxId(x);
    if (c > m) m = c;
  }
  return m;
}

/** Expands the two-variable macros of a parsed expression in place (cel-go's expansion); throws MacroError. */
export function expandTwoVarMacros(root: Expr, info: SourceInfo | undefined): Expr {
  let next = maxId(root) + 1n;
  const pos = (e: Expr) => info?.positions[e.id.toString()] ?? 0;
  const visit = (e: Expr | undefined): Expr | undefined => {
    if (!e) return e;
    const k = e.exprKind;
    switch (k.case) {
      case 'callExpr': {
        k.value.target = visit(k.value.target);
        k.value.args = k.value.args.map((a) => visit(a)!);
        const { function: fn, target, args } = k.value;
        const name = (x: Expr) => {
          if (x.exprKind.case !== 'identExpr') throw new MacroError('argument must be a simple name', pos(x));
          return x.exprKind.value.name;
        };
        if (target && fn === 'sortBy' && args.length === 2) {
          const out = sortBy(new Builder(next, info, pos(e)), target, name(args[0]!), args[1]!, pos(target));
          next = maxId(out) + 1n;
          return out;
        }
        if (!target || !ARITY[fn]?.includes(args.length)) return e;
        const [k1, k2] = [name(args[0]!), name(args[1]!)];
        if (k1 === k2) throw new MacroError(`duplicate variable name: ${k1}`, pos(args[1]!));
        if (k1 === ACCU || k1 === '__result__') throw new MacroError('iteration variable overwrites accumulator variable', pos(args[0]!));
        if (k2 === ACCU || k2 === '__result__') throw new MacroError('iteration variable overwrites accumulator variable', pos(args[1]!));
        const b = new Builder(next, info, pos(e));
        const accu = () => b.ident(ACCU);
        const [filter, transform] = args.length === 4 ? [args[2]!, args[3]!] : [undefined, args[2]!];
        const filtered = (step: Expr) => (filter ? b.call('_?_:_', filter, step, accu()) : step);
        let out: Expr;
        switch (fn) {
          case 'all':
            out = b.fold(target, k1, k2, b.bool(true), b.call('@not_strictly_false', accu()), b.call('_&&_', accu(), transform), accu());
            break;
          case 'exists':
            out = b.fold(target, k1, k2, b.bool(false), b.call('@not_strictly_false', b.call('!_', accu())), b.call('_||_', accu(), transform), accu());
            break;
          case 'existsOne':
          case 'exists_one':
            out = b.fold(target, k1, k2, b.int(0n), b.bool(true), b.call('_?_:_', transform, b.call('_+_', accu(), b.int(1n)), accu()), b.call('_==_', accu(), b.int(1n)));
            break;
          case 'transformList':
            out = b.fold(target, k1, k2, b.list(), b.bool(true), filtered(b.call('_+_', accu(), b.list(transform))), accu());
            break;
          case 'transformMap':
            out = b.fold(target, k1, k2, b.emptyMap(), b.bool(true), filtered(b.call(MAP_INSERT, accu(), b.ident(k1), transform)), accu());
            break;
          default:
            out = b.fold(target, k1, k2, b.emptyMap(), b.bool(true), filtered(b.call(MAP_INSERT, accu(), transform)), accu());
        }
        next = b.nextId;
        return out;
      }
      case 'selectExpr':
        k.value.operand = visit(k.value.operand);
        return e;
      case 'listExpr':
        k.value.elements = k.value.elements.map((x) => visit(x)!);
        return e;
      case 'structExpr':
        for (const entry of k.value.entries) {
          if (entry.keyKind.case === 'mapKey') entry.keyKind.value = visit(entry.keyKind.value)!;
          entry.value = visit(entry.value);
        }
        return e;
      case 'comprehensionExpr': {
        const c = k.value;
        c.iterRange = visit(c.iterRange);
        c.accuInit = visit(c.accuInit);
        c.loopCondition = visit(c.loopCondition);
        c.loopStep = visit(c.loopStep);
        c.result = visit(c.result);
        return e;
      }
      default:
        return e;
    }
  };
  return visit(root)!;
}

/**
 * ext lists' sortBy, as cel-go expands it: the target bound once to @__sortBy_input__, then
 * `@__sortBy_input__.@sortByAssociatedKeys(@__sortBy_input__.map(v, key))`.
 */
function sortBy(b: Builder, target: Expr, v: string, key: Expr, targetOffset: number): Expr {
  if (!['listExpr', 'selectExpr', 'identExpr', 'comprehensionExpr', 'callExpr'].includes(target.exprKind.case ?? '')) {
    throw new MacroError('sortBy can only be applied to a list, identifier, comprehension, call or select expression', targetOffset);
  }
  const input = '@__sortBy_input__';
  const keys = b.fold(b.ident(input), v, '', b.list(), b.bool(true), b.call('_+_', b.ident(ACCU), b.list(key)), b.ident(ACCU));
  return b.fold(b.list(), '#unused', '', target, b.bool(false), b.ident(input), b.member('@sortByAssociatedKeys', b.ident(input), keys), input);
}

/** `name` replaced by `replacement()` where it is not shadowed by an inner comprehension. */
function substitute(e: Expr | undefined, name: string, replacement: () => Expr): Expr | undefined {
  if (!e) return e;
  const again = (x: Expr | undefined) => substitute(x, name, replacement);
  const k = e.exprKind;
  switch (k.case) {
    case 'identExpr':
      return k.value.name === name ? replacement() : e;
    case 'callExpr':
      k.value.target = again(k.value.target);
      k.value.args = k.value.args.map((a) => again(a)!);
      return e;
    case 'selectExpr':
      k.value.operand = again(k.value.operand);
      return e;
    case 'listExpr':
      k.value.elements = k.value.elements.map((x) => again(x)!);
      return e;
    case 'structExpr':
      for (const entry of k.value.entries) {
        if (entry.keyKind.case === 'mapKey') entry.keyKind.value = again(entry.keyKind.value)!;
        entry.value = again(entry.value);
      }
      return e;
    case 'comprehensionExpr': {
      const c = k.value;
      c.iterRange = again(c.iterRange);
      c.accuInit = again(c.accuInit);
      if (c.accuVar === name) return e;
      c.result = again(c.result);
      if (c.iterVar === name || c.iterVar2 === name) return e;
      c.loopCondition = again(c.loopCondition);
      c.loopStep = again(c.loopStep);
      return e;
    }
    default:
      return e;
  }
}

/** The expanded expression in a form @bufbuild/cel's planner evaluates: a copy, two-variable loops over pairs. */
export function lowerTwoVarComprehensions(root: Expr): Expr {
  const copy = structuredClone(root);
  let pairs = 0;
  const visit = (e: Expr | undefined): void => {
    if (!e) return;
    const k = e.exprKind;
    if (k.case === 'callExpr') {
      visit(k.value.target);
      k.value.args.forEach(visit);
    } else if (k.case === 'selectExpr') visit(k.value.operand);
    else if (k.case === 'listExpr') k.value.elements.forEach(visit);
    else if (k.case === 'structExpr') k.value.entries.forEach((x) => (visit(x.keyKind.case === 'mapKey' ? x.keyKind.value : undefined), visit(x.value)));
    else if (k.case === 'comprehensionExpr') {
      const c = k.value;
      [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].forEach(visit);
      if (!c.iterVar2) return;
      const pair = `@pair${pairs++}`;
      const read = (i: bigint) => () =>
        node({ case: 'callExpr', value: { $typeName: 'cel.expr.Expr.Call', function: '_[_]', args: [ident(pair, e.id), int(i, e.id)] } } as Kind, e.id);
      for (const [name, i] of [[c.iterVar, 0n], [c.iterVar2, 1n]] as const) {
        c.loopCondition = substitute(c.loopCondition, name, read(i));
        c.loopStep = substitute(c.loopStep, name, read(i));
      }
      c.iterRange = node({ case: 'callExpr', value: { $typeName: 'cel.expr.Expr.Call', function: ENTRIES_FN, args: [c.iterRange!] } } as Kind, e.id);
      c.iterVar = pair;
      c.iterVar2 = '';
    }
  };
  visit(copy);
  return copy;
}

const ident = (name: string, id: bigint) => node({ case: 'identExpr', value: { $typeName: 'cel.expr.Expr.Ident', name } } as Kind, id);
const int = (v: bigint, id: bigint) => node({ case: 'constExpr', value: { $typeName: 'cel.expr.Constant', constantKind: { case: 'int64Value', value: v } } } as Kind, id);

type Key = bigint | string | boolean | CelUint;

function insert(m: Map<Key, CelValue>, key: CelValue, value: CelValue, existing: (k: Key) => boolean): void {
  if (existing(key as Key)) throw new Error(`insert failed: key ${String(key)} already exists`);
  m.set(key as Key, value);
}

export const twoVarFuncs: CelFunc[] = [
  celFunc(ENTRIES_FN, [CelScalar.DYN], listType(CelScalar.DYN), (v: CelValue) => {
    if (isCelList(v)) return [...v].map((x, i) => celList([BigInt(i), x]));
    if (isCelMap(v)) return [...v.entries()].map(([k, x]) => celList([k, x]));
    throw new Error(`cannot range over ${typeof v}`);
  }),
  celFunc(MAP_INSERT, [mapType(CelScalar.DYN, CelScalar.DYN), CelScalar.DYN, CelScalar.DYN], mapType(CelScalar.DYN, CelScalar.DYN), (m, k, v) => {
    const out = new Map<Key, CelValue>(m.entries());
    insert(out, k, v, (key) => m.has(key));
    return celMap(out);
  }),
  celFunc(MAP_INSERT, [mapType(CelScalar.DYN, CelScalar.DYN), mapType(CelScalar.DYN, CelScalar.DYN)], mapType(CelScalar.DYN, CelScalar.DYN), (m, update) => {
    const out = new Map<Key, CelValue>(m.entries());
    for (const [k, v] of update.entries()) insert(out, k, v, (key) => out.has(key));
    return celMap(out);
  }),
];
