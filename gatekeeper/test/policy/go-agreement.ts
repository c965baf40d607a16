// Requires each Rego expression to give through our wasm path exactly what OPA's Go evaluator gives: the same value,
// or, where Go's builtin fails, an error with Go's message (`opa eval --strict-builtin-errors`).
import { execFileSync } from 'node:child_process';
import type { Test } from 'tap';
import { evalBoth, unorderedIfSet } from './opa-reference.js';
import { opaPath, tempDir } from './helpers.js';

export interface Case {
  expr: string;
  /** Go's error message cannot be reproduced exactly (it comes from a Go library): any error is accepted. */
  anyError?: boolean;
}

/** Go's strict-mode error for an expression, or undefined when it has none (its value is then undefined). */
function goError(expr: string): string | undefined {
  let text: string;
  try {
    text = execFileSync(opaPath, ['eval', '--strict-builtin-errors', '--format', 'json', expr], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    text = (e as { stdout: string }).stdout; // opa eval exits 2 on an error
  }
  const out = JSON.parse(text);
  return (out.errors as Array<{ message: string }> | undefined)?.[0]?.message;
}

export async function agreeWithGo(t: Test, cases: Array<string | Case>): Promise<void> {
  const list = cases.map((c) => (typeof c === 'string' ? { expr: c } : c));
  const byExpr = new Map(list.map((c) => [c.expr, c]));
  for (const r of await evalBoth(tempDir(t, 'gk-builtins-'), list.map((c) => c.expr))) {
    if (r.go.value !== undefined) {
      t.same(unorderedIfSet(r.expr, r.wasm), unorderedIfSet(r.expr, r.go), r.expr);
      continue;
    }
    const message = goError(r.expr);
    if (message === undefined) t.same(r.wasm, { value: undefined }, `${r.expr}: undefined`);
    else if (byExpr.get(r.expr)?.anyError) t.ok(r.wasm.error, `${r.expr}: an error, as Go's "${message}" (got ${JSON.stringify(r.wasm)})`);
    else t.same(r.wasm, { error: message }, `${r.expr}: Go's error`);
  }
}

/** An expression giving nanoseconds, split so JSON numbers (doubles) keep every digit: [seconds, nanoseconds]. */
export const exactNs = (e: string) => `[((${e}) - (${e}) % 1000000000) / 1000000000, (${e}) % 1000000000]`;
