// cel-go's string format validator (ext strings, ext/formatting.go stringFormatValidator), run after a successful
// check: a `"literal".format([literal list])` call has its clauses checked against the types of the list's elements
// (`%d` an int or uint, `%f`/`%e` a double or string, `%s` most types, …) and its argument count, with cel-go's words.
import type { Expr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import type { CheckIssue } from './checker.js';
import { typeName, type CheckType } from './types.js';

const kindOf = (t: CheckType) => (t.kind === 'prim' || t.kind === 'opaque' ? t.name : t.kind);
const TIMESTAMP = 'google.protobuf.Timestamp';
const DURATION = 'google.protobuf.Duration';

const CLAUSES: Record<string, { kinds: string[]; error: string }> = {
  d: { kinds: ['int', 'uint'], error: 'decimal clause can only be used on integers' },
  f: { kinds: ['double', 'string'], error: 'fixed-point clause can only be used on doubles' },
  e: { kinds: ['double', 'string'], error: 'scientific clause can only be used on doubles' },
  b: { kinds: ['int', 'uint', 'bool'], error: 'only integers and bools can be formatted as binary' },
  x: { kinds: ['int', 'uint', 'string', 'bytes'], error: 'only integers, byte buffers, and strings can be formatted as hex' },
  X: { kinds: ['int', 'uint', 'string', 'bytes'], error: 'only integers, byte buffers, and strings can be formatted as hex' },
  o: { kinds: ['int', 'uint'], error: 'octal clause can only be used on integers' },
};
const STRING_KINDS = ['list', 'map', 'int', 'uint', 'double', 'bool', 'string', TIMESTAMP, 'bytes', DURATION, 'type', 'null'];
const STRING_ERROR = 'string clause can only be used on strings, bools, bytes, ints, doubles, maps, lists, types, durations, and timestamps';

class FormatError extends Error {
  constructor(
    message: string,
    readonly at?: Expr,
  ) {
    super(message);
  }
}

export function formatIssues(root: Expr, typeOf: (e: Expr) => CheckType, at: (e: Expr) => number): CheckIssue[] {
  const issues: CheckIssue[] = [];
  const oneOf = (e: Expr, kinds: string[]) => typeOf(e).kind === 'dyn' || kinds.includes(kindOf(typeOf(e)));
  /** The element %s cannot print, looking into list and map literals, or undefined. */
  const badForString = (e: Expr): Expr | undefined => {
    if (!oneOf(e, STRING_KINDS)) return e;
    const k = e.exprKind;
    if (k.case === 'listExpr') {
      for (const x of k.value.elements) {
        const bad = badForString(x);
        if (bad) return bad;
      }
    }
    if (k.case === 'structExpr') {
      for (const x of k.value.entries) {
        const bad = (x.keyKind.case === 'mapKey' ? badForString(x.keyKind.value) : undefined) ?? (x.value ? badForString(x.value) : undefined);
        if (bad) return bad;
      }
    }
    return undefined;
  };
  const checkCall = (format: string, args: Expr[]): number => {
    let argIndex = 0;
    for (let i = 0; i < format.length; ) {
      if (format[i] !== '%') {
        i++;
        continue;
      }
      if (format[i + 1] === '%') {
        i += 2;
        continue;
      }
      if (i + 1 >= format.length) throw new FormatError('unexpected end of string');
      if (argIndex >= args.length) throw new FormatError(`index ${argIndex} out of range`);
      let j = i + 1;
      if (format[j] === '.') {
        j++;
        while (j < format.length && /[0-9]/.test(format[j]!)) j++;
        if (j >= format.length) throw new FormatError('could not parse formatting clause: error while parsing precision: could not find end of precision specifier');
      }
      const clause = format[j]!;
      const arg = args[argIndex]!;
      if (clause === 's') {
        const bad = badForString(arg);
        if (bad) throw new FormatError(`error during formatting: ${STRING_ERROR}, was given ${typeName(typeOf(bad))}`, bad);
      } else if (CLAUSES[clause]) {
        if (!oneOf(arg, CLAUSES[clause].kinds)) throw new FormatError(`error during formatting: ${CLAUSES[clause].error}, was given ${typeName(typeOf(arg))}`, arg);
      } else {
        throw new FormatError(`could not parse formatting clause: unrecognized formatting clause "${clause}"`);
      }
      argIndex++;
      i = j + 1;
    }
    return argIndex;
  };
  const walk = (e: Expr | undefined): void => {
    if (!e) return;
    const k = e.exprKind;
    switch (k.case) {
      case 'callExpr': {
        const { target, args, function: fn } = k.value;
        const list = args[0];
        if (fn === 'format' && target?.exprKind.case === 'constExpr' && target.exprKind.value.constantKind.case === 'stringValue' && args.length === 1 && list?.exprKind.case === 'listExpr') {
          const elements = list.exprKind.value.elements;
          try {
            const used = checkCall(target.exprKind.value.constantKind.value, elements);
            if (elements.length > used) issues.push({ offset: at(e), message: `too many arguments supplied to string.format (expected ${used}, got ${elements.length})` });
          } catch (err) {
            if (!(err instanceof FormatError)) throw err;
            issues.push({ offset: at(err.at ?? e), message: err.message });
          }
        }
        walk(target);
        return args.forEach(walk);
      }
      case 'selectExpr':
        return walk(k.value.operand);
      case 'listExpr':
        return k.value.elements.forEach(walk);
      case 'structExpr':
        return k.value.entries.forEach((x) => (walk(x.keyKind.case === 'mapKey' ? x.keyKind.value : undefined), walk(x.value)));
      case 'comprehensionExpr':
        return [k.value.iterRange, k.value.accuInit, k.value.loopCondition, k.value.loopStep, k.value.result].forEach(walk);
      default:
        return;
    }
  };
  walk(root);
  return issues;
}
