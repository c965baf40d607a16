// gator-verify-style text output: failures with what was expected and what came, then the counts.
import type { CaseResult } from './runner.js';

export function describe(r: CaseResult): string {
  return `${r.suite} > ${r.test}${r.case ? ` > ${r.case}` : ''}`;
}

export function formatResult(r: CaseResult, verbose: boolean): string | undefined {
  if (r.status === 'fail') return `FAIL ${describe(r)}\n     ${r.error}`;
  if (verbose) return `${r.status === 'pass' ? 'ok  ' : 'skip'} ${describe(r)} (${r.durationMs.toFixed(1)} ms)`;
  return undefined;
}

export function summary(results: CaseResult[]): { passed: number; failed: number; skipped: number; line: string } {
  const passed = results.filter((r) => r.status === 'pass').length;
  const failed = results.filter((r) => r.status === 'fail').length;
  const skipped = results.filter((r) => r.status === 'skip').length;
  return { passed, failed, skipped, line: `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}` };
}
