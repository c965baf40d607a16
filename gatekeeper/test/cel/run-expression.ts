// Compiles and runs one expression as a template expression is compiled and run (every name dyn), for the library
// tests: the value (a list spread into an array), or an Error with the compile or evaluation message.
import { isCelList } from '@bufbuild/cel';
import { compileExpression, dynDeclarations } from '../../src/cel/compile.js';
import { CostMeter, metered } from '../../src/cel/cost.js';
import { templateEnv } from '../../src/cel/env.js';

/** validators false: the environment of cel-go's own tests (no homogeneous-literal or format validator). */
export function run(expr: string, bindings: Record<string, unknown> = {}, validators = true): unknown {
  const c = compileExpression(templateEnv(), expr, dynDeclarations(Object.keys(bindings)), undefined, { validators });
  if (!c.ok) return new Error(c.error);
  const r = metered(new CostMeter(1_000_000), () => c.run(bindings));
  return isCelList(r) ? [...r] : r;
}

