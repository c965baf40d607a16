// Kubernetes' AST validators (cel-go ValidateRegexLiterals, ValidateDurationLiterals, ValidateTimestampLiterals),
// run after a successful type check: a literal pattern, duration or timestamp that cannot be valid is a compile error.
import { plan, isCelError, type CelEnv } from '@bufbuild/cel';
import type { Expr, SourceInfo } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { re2 } from '../../builtins/regex.js';
import type { CheckIssue } from './checker.js';

function valid(env: CelEnv, fn: string, call: Expr, literal: string): boolean {
  if (fn === 'matches') {
    try {
      re2('matches', literal);
      return true;
    } catch {
      return false;
    }
  }
  try {
    return !isCelError(plan(env, call)({}));
  } catch {
    return false;
  }
}

const VALIDATED = new Set(['matches', 'duration', 'timestamp']);

export function invalidLiterals(env: CelEnv, expr: Expr, info: SourceInfo | undefined): CheckIssue[] {
  const issues: CheckIssue[] = [];
  const walk = (e: Expr | undefined): void => {
    if (!e) return;
    const k = e.exprKind;
    switch (k.case) {
      case 'callExpr': {
        walk(k.value.target);
        k.value.args.forEach(walk);
        const arg = k.value.args[0];
        if (VALIDATED.has(k.value.function) && arg?.exprKind.case === 'constExpr' && arg.exprKind.value.constantKind.case === 'stringValue') {
          if (!valid(env, k.value.function, e, arg.exprKind.value.constantKind.value)) {
            issues.push({ offset: info?.positions[arg.id.toString()] ?? 0, message: `invalid ${k.value.function} argument` });
          }
        }
        return;
      }
      case 'selectExpr':
        return walk(k.value.operand);
      case 'listExpr':
        return k.value.elements.forEach(walk);
      case 'structExpr':
        return k.value.entries.forEach((x) => {
          if (x.keyKind.case === 'mapKey') walk(x.keyKind.value);
          walk(x.value);
        });
      case 'comprehensionExpr':
        return [k.value.iterRange, k.value.accuInit, k.value.loopCondition, k.value.loopStep, k.value.result].forEach(walk);
      default:
        return;
    }
  };
  walk(expr);
  return issues.sort((a, b) => a.offset - b.offset);
}
