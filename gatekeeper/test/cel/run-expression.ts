// Compiles and runs one expression as a template expression is compiled and run (every name dyn), for the library
// tests: the value (a list spread into an array), or an Error with the compile or evaluation message.
import { isCelList } from '@bufbuild/cel';
import { compileExpression, dynDeclarations } from '../../src/cel/compile.js';
import { CostMeter, metered } from '../../src/cel/cost.js';
import { templateEnv } from '../../src/cel/env.js';

/** homogeneousLiterals false: the environment of cel-go's own tests, where a mixed literal is a list(dyn). */
export function run(expr: string, bindings: Record<string, unknown> = {}, homogeneousLiterals = true): unknown {
  const c = compileExpression(templateEnv(), expr, dynDeclarations(Object.keys(bindings)), undefined, { homogeneousLiterals });
  if (!c.ok) return new Error(c.error);
  const r = metered(new CostMeter(1_000_000), () => c.run(bindings));
  return isCelList(r) ? [...r] : r;
}

