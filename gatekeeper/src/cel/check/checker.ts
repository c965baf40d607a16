// CEL's static type check as cel-go's checker does it (checker/checker.go), over @bufbuild/cel's parsed AST (whose own
// checker only types literals and identifiers): identifiers and fields resolved against the declarations, every call
// resolved against its overloads with type parameters, list and map literals homogeneous (Kubernetes'
// HomogeneousAggregateLiterals), comprehension variables typed from their range. Errors are cel-go's, sorted by
// position; the output type is what Kubernetes compares with the type an expression must have.
import type { Constant, Expr, SourceInfo } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { FUNCTIONS, TYPE_IDENTS, type Overload } from './declarations.js';
import { formatIssues } from './format.js';
import {
  assignable,
  assignableList,
  formatType,
  freshen,
  isDynOrError,
  listOf,
  mapOf,
  mostGeneral,
  substitute,
  Mapping,
  BOOL,
  BYTES,
  DOUBLE,
  DYN,
  ERROR,
  INT,
  NULL,
  STRING,
  UINT,
  type CheckType,
} from './types.js';

export interface CheckIssue {
  offset: number;
  message: string;
}

export interface Checked {
  type: CheckType;
  issues: CheckIssue[];
  /** The type of every sub-expression by id, type parameters left unresolved as dyn. */
  typeOf(e: Expr): CheckType;
}

/** Where cel-go reports a call: at its `(`, `?` or operator, where @bufbuild/cel records the start of the call. */
function reportOffset(source: string, e: Expr, recorded: number): number {
  const k = e.exprKind;
  if (k.case === 'selectExpr' && k.value.testOnly) return skipTo(source, recorded, '(');
  if (k.case !== 'callExpr') return recorded;
  const fn = k.value.function;
  if (fn === '_?_:_') return skipTo(source, recorded, '?');
  if (fn === '@in') return source.indexOf('in', recorded);
  if (/^[A-Za-z]/.test(fn)) return skipTo(source, recorded, '(');
  // a binary operator: @bufbuild/cel may record the space before it
  let at = recorded;
  while (/\s/.test(source[at] ?? '')) at++;
  return at;
}

/** The first `wanted` at bracket depth 0 outside string literals, from `from`. */
function skipTo(source: string, from: number, wanted: string): number {
  let depth = 0;
  for (let i = from; i < source.length; i++) {
    const c = source[i]!;
    if (c === '"' || c === "'") {
      const triple = source.startsWith(c.repeat(3), i);
      const close = triple ? c.repeat(3) : c;
      i += close.length;
      while (i < source.length && !source.startsWith(close, i)) i += source[i] === '\\' ? 2 : 1;
      i += close.length - 1;
      continue;
    }
    if (c === wanted && depth === 0) return i;
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
  }
  return from;
}

const LOGICAL = new Set(['_&&_', '_||_']);

export interface CheckOptions {
  /**
   * The AST validators of Kubernetes' environment after a successful check (default): homogeneous aggregate literals
   * and ext strings v2's format validator. false: off, as in cel-spec's environment and cel-go's library tests.
   */
  validators?: boolean;
}

export function checkExpression(expr: Expr, info: SourceInfo | undefined, source: string, variables: ReadonlyMap<string, CheckType>, options: CheckOptions = {}): Checked {
  const types = new Map<bigint, CheckType>();
  const issues: CheckIssue[] = [];
  let mapping = new Mapping();
  let freeVars = 0;
  const scopes: Array<Map<string, CheckType>> = [];

  const at = (e: Expr) => reportOffset(source, e, info?.positions[e.id.toString()] ?? 0);
  const report = (e: Expr, message: string) => issues.push({ offset: at(e), message });
  const set = (e: Expr, t: CheckType): void => void types.set(e.id, t);
  const get = (e: Expr | undefined) => (e ? (types.get(e.id) ?? ERROR) : ERROR);
  const newTypeVar = (): CheckType => ({ kind: 'param', name: `_var${freeVars++}` });
  const isAssignable = (t1: CheckType, t2: CheckType) => {
    const m = assignable(mapping, t1, t2);
    if (m) mapping = m;
    return m !== undefined;
  };
  const typeMismatch = (e: Expr, expected: CheckType, actual: CheckType) =>
    report(e, `expected type '${formatType(expected)}' but found '${formatType(actual)}'`);

  const lookupIdent = (name: string): CheckType | undefined => {
    for (let i = scopes.length - 1; i >= 0; i--) {
      const t = scopes[i]!.get(name);
      if (t) return t;
    }
    return variables.get(name) ?? TYPE_IDENTS.get(name);
  };

  /** a.b.c as a qualified name, when it is one (no test-only select in it). */
  const qualifiedName = (e: Expr | undefined): string | undefined => {
    if (!e) return undefined;
    if (e.exprKind.case === 'identExpr') return e.exprKind.value.name;
    if (e.exprKind.case === 'selectExpr' && !e.exprKind.value.testOnly) {
      const prefix = qualifiedName(e.exprKind.value.operand);
      return prefix === undefined ? undefined : `${prefix}.${e.exprKind.value.field}`;
    }
    return undefined;
  };

  const checkConst = (c: Constant): CheckType => {
    switch (c.constantKind.case) {
      case 'boolValue':
        return BOOL;
      case 'int64Value':
        return INT;
      case 'uint64Value':
        return UINT;
      case 'doubleValue':
        return DOUBLE;
      case 'stringValue':
        return STRING;
      case 'bytesValue':
        return BYTES;
      case 'nullValue':
        return NULL;
      default:
        return DYN;
    }
  };

  const checkSelectField = (e: Expr, operand: Expr | undefined, field: string): CheckType => {
    check(operand);
    const target = substitute(mapping, get(operand), false);
    switch (target.kind) {
      case 'map':
        return target.value;
      case 'struct': {
        const t = target.fields.get(field);
        if (t) return t;
        report(e, `undefined field '${field}'`);
        return ERROR;
      }
      case 'param':
        isAssignable(DYN, target);
        return DYN;
      default:
        if (!isDynOrError(target)) report(e, `type '${formatType(target)}' does not support field selection`);
        return DYN;
    }
  };

  const resolve = (e: Expr, name: string, overloads: Overload[], argExprs: Expr[], member: boolean): CheckType => {
    const argTypes = argExprs.map(get);
    if (LOGICAL.has(name)) {
      let ok = true;
      argExprs.forEach((a, i) => {
        if (!isAssignable(argTypes[i]!, BOOL)) {
          typeMismatch(a, BOOL, argTypes[i]!);
          ok = false;
        }
      });
      return ok ? BOOL : ERROR;
    }
    let result: CheckType | undefined;
    for (const o of overloads) {
      if (o.member !== member) continue;
      const fresh = new Map<string, CheckType>();
      const inst = (t: CheckType) => freshen(t, (p) => fresh.get(p) ?? (fresh.set(p, newTypeVar()), fresh.get(p)!));
      const params = o.args.map(inst);
      const resultType = inst(o.result);
      const m = assignableList(mapping, argTypes, params);
      if (!m) continue;
      mapping = m;
      // a result type parameter nothing bound (the value of `dyn[k]`) is dyn, as gator v3.23.1 types it: there
      // `[object.a, c ? object.m["k"] : "x"]` is a list of one type
      const t = substitute(mapping, resultType, true);
      if (result === undefined) result = t;
      else if (result.kind !== 'dyn' && formatType(t) !== formatType(result)) result = DYN;
    }
    if (result !== undefined) return result;
    const shown = argTypes.map((t) => formatType(substitute(mapping, t, true)));
    const signature = member ? `${shown[0]}.(${shown.slice(1).join(', ')})` : `(${shown.join(', ')})`;
    report(e, `found no matching overload for '${name}' applied to '${signature}'`);
    return ERROR;
  };

  const undeclared = (e: Expr, name: string) => report(e, `undeclared reference to '${name}' (in container '')`);

  const check = (e: Expr | undefined): void => {
    if (!e) return;
    const k = e.exprKind;
    switch (k.case) {
      case 'constExpr':
        return set(e, checkConst(k.value));
      case 'identExpr': {
        const t = lookupIdent(k.value.name);
        if (t) return set(e, t);
        undeclared(e, k.value.name);
        return set(e, ERROR);
      }
      case 'selectExpr': {
        const q = qualifiedName(e);
        const resolved = q !== undefined && q.includes('.') ? TYPE_IDENTS.get(q) : undefined;
        if (resolved) return set(e, resolved);
        const t = checkSelectField(e, k.value.operand, k.value.field);
        return set(e, substitute(mapping, k.value.testOnly ? BOOL : t, false));
      }
      case 'callExpr': {
        const { function: fn, args, target } = k.value;
        args.forEach(check);
        if (!target) {
          const overloads = FUNCTIONS.get(fn);
          if (!overloads) {
            undeclared(e, fn);
            return set(e, ERROR);
          }
          return set(e, resolve(e, fn, overloads, args, false));
        }
        const ns = qualifiedName(target);
        const namespaced = ns === undefined ? undefined : FUNCTIONS.get(`${ns}.${fn}`);
        if (namespaced) return set(e, resolve(e, `${ns}.${fn}`, namespaced, args, false));
        check(target);
        const overloads = FUNCTIONS.get(fn);
        if (!overloads) {
          undeclared(e, fn);
          return set(e, ERROR);
        }
        return set(e, resolve(e, fn, overloads, [target, ...args], true));
      }
      case 'listExpr': {
        let elem: CheckType | undefined;
        for (const x of k.value.elements) {
          check(x);
          elem = join(x, elem, get(x));
        }
        return set(e, listOf(elem ?? newTypeVar()));
      }
      case 'structExpr': {
        if (k.value.messageName) {
          undeclared(e, k.value.messageName);
          return set(e, ERROR);
        }
        let key: CheckType | undefined;
        let value: CheckType | undefined;
        for (const entry of k.value.entries) {
          if (entry.keyKind.case === 'mapKey') {
            check(entry.keyKind.value);
            key = join(entry.keyKind.value, key, get(entry.keyKind.value));
          }
          check(entry.value);
          if (entry.value) value = join(entry.value, value, get(entry.value));
        }
        return set(e, key === undefined ? mapOf(newTypeVar(), newTypeVar()) : mapOf(key, value ?? DYN));
      }
      case 'comprehensionExpr': {
        const c = k.value;
        check(c.iterRange);
        check(c.accuInit);
        const range = substitute(mapping, get(c.iterRange), false);
        const accuType = get(c.accuInit);
        scopes.push(new Map([[c.accuVar, accuType]]));
        let varType: CheckType;
        let var2Type: CheckType = DYN;
        if (range.kind === 'list') {
          varType = c.iterVar2 ? INT : range.elem;
          var2Type = range.elem;
        } else if (range.kind === 'map') {
          varType = range.key;
          var2Type = range.value;
        } else if (isDynOrError(range) || range.kind === 'param') {
          isAssignable(DYN, range);
          varType = DYN;
        } else {
          report(c.iterRange!, `expression of type '${formatType(range)}' cannot be range of a comprehension (must be list, map, or dynamic)`);
          varType = var2Type = ERROR;
        }
        scopes.push(new Map([[c.iterVar, varType], ...(c.iterVar2 ? ([[c.iterVar2, var2Type]] as const) : [])]));
        check(c.loopCondition);
        assertType(c.loopCondition, BOOL);
        check(c.loopStep);
        assertType(c.loopStep, accuType);
        scopes.pop();
        check(c.result);
        scopes.pop();
        return set(e, substitute(mapping, get(c.result), false));
      }
      default:
        return set(e, DYN);
    }
  };

  const assertType = (e: Expr | undefined, t: CheckType) => {
    if (e && !isAssignable(t, get(e))) typeMismatch(e, t, get(e));
  };

  const join = (e: Expr, previous: CheckType | undefined, current: CheckType): CheckType => {
    if (previous === undefined) return current;
    if (isAssignable(previous, current)) return mostGeneral(previous, current);
    return DYN;
  };

  check(expr);
  issues.sort((a, b) => a.offset - b.offset);
  const typeOf = (e: Expr) => substitute(mapping, get(e), true);
  if (!issues.length && options.validators !== false) {
    issues.push(...heterogeneousLiterals(expr, typeOf, (e) => at(e)), ...formatIssues(expr, typeOf, (e) => at(e)));
    issues.sort((a, b) => a.offset - b.offset);
  }
  return { type: substitute(mapping, get(expr), true), issues, typeOf };
}

/**
 * cel-go's ValidateHomogeneousAggregateLiterals, run after a successful check: the elements of a list literal, and the
 * keys and the values of a map literal, must have exactly the same type (dyn and string differ), except inside a
 * `format` call (ext strings exempts it).
 */
function heterogeneousLiterals(root: Expr, typeOf: (e: Expr) => CheckType, at: (e: Expr) => number): CheckIssue[] {
  const issues: CheckIssue[] = [];
  const mismatch = (e: Expr, expected: CheckType, actual: CheckType) =>
    issues.push({ offset: at(e), message: `expected type '${formatType(expected)}' but found '${formatType(actual)}'` });
  const same = (a: CheckType, b: CheckType) => formatType(a) === formatType(b);
  const walk = (e: Expr | undefined, exempt: boolean): void => {
    if (!e) return;
    const k = e.exprKind;
    switch (k.case) {
      case 'callExpr': {
        const inner = exempt || k.value.function === 'format';
        walk(k.value.target, inner);
        return k.value.args.forEach((a) => walk(a, inner));
      }
      case 'selectExpr':
        return walk(k.value.operand, exempt);
      case 'listExpr': {
        const [first, ...rest] = k.value.elements;
        if (!exempt && first) {
          const bad = rest.find((x) => !same(typeOf(first), typeOf(x)));
          if (bad) mismatch(bad, typeOf(first), typeOf(bad));
        }
        return k.value.elements.forEach((x) => walk(x, exempt));
      }
      case 'structExpr': {
        const entries = k.value.entries.filter((x) => x.keyKind.case === 'mapKey');
        const [first, ...rest] = entries;
        if (!exempt && first && first.keyKind.case === 'mapKey' && first.value) {
          const [key, value] = [typeOf(first.keyKind.value), typeOf(first.value)];
          for (const x of rest) {
            if (x.keyKind.case === 'mapKey' && !same(key, typeOf(x.keyKind.value))) mismatch(x.keyKind.value, key, typeOf(x.keyKind.value));
            if (x.value && !same(value, typeOf(x.value))) mismatch(x.value, value, typeOf(x.value));
          }
        }
        return k.value.entries.forEach((x) => (walk(x.keyKind.case === 'mapKey' ? x.keyKind.value : undefined, exempt), walk(x.value, exempt)));
      }
      case 'comprehensionExpr': {
        const c = k.value;
        return [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].forEach((x) => walk(x, exempt));
      }
      default:
        return;
    }
  };
  walk(root, false);
  return issues;
}
