// Runs Rego expressions two ways — OPA's Go evaluator (`opa eval`, what Gatekeeper runs) and our wasm path (opa build
// -t wasm + host builtins) — so tests can require identical answers.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { TemplateModule } from '../../src/policy/wasm.js';
import { extractFromTar } from '../../src/templates/compiler.js';
import { opaPath } from './helpers.js';
import { setResultBuiltins } from '../../src/builtins/index.js';

export interface Outcome {
  value?: unknown;
  error?: string;
}

/** Each expression becomes rule r<i> of package ref; returns Go's and wasm's outcome for each (undefined = no value). */
export async function evalBoth(dir: string, exprs: string[]): Promise<Array<{ expr: string; go: Outcome; wasm: Outcome }>> {
  const rules = exprs.map((e, i) => `r${i} := x if { x := ${e} }`).join('\n');
  const file = path.join(dir, 'ref.rego');
  fs.writeFileSync(file, `package ref\n\n${rules}\n`);
  const goOut = JSON.parse(execFileSync(opaPath, ['eval', '--format', 'json', '-d', file, 'data.ref'], { encoding: 'utf8' }));
  const goValues = (goOut.result?.[0]?.expressions?.[0]?.value ?? {}) as Record<string, unknown>;
  const module = await WebAssembly.compile(buildWasm(dir, [file], exprs.map((_, i) => `ref/r${i}`)));
  const out = [];
  for (const [i, expr] of exprs.entries()) {
    const m = await TemplateModule.instantiate(module, `ref/r${i}`);
    let wasmOutcome: Outcome;
    try {
      wasmOutcome = { value: m.evaluate(new TextEncoder().encode('{}'), { strictBuiltinErrors: true }) };
    } catch (e) {
      wasmOutcome = { error: (e as Error).message };
    }
    out.push({ expr, go: { value: goValues[`r${i}`] }, wasm: wasmOutcome });
  }
  return out;
}

/** policy.wasm of `opa build -t wasm` for the given entrypoints; throws with opa's output when the build fails. */
export function buildWasm(dir: string, files: string[], entrypoints: string[]): Buffer {
  const bundle = path.join(dir, 'bundle.tar.gz');
  execFileSync(opaPath, ['build', '-t', 'wasm', ...entrypoints.flatMap((e) => ['-e', e]), '-o', bundle, ...files], { cwd: dir, stdio: 'pipe' });
  return extractFromTar(zlib.gunzipSync(fs.readFileSync(bundle)), 'policy.wasm')!;
}

/**
 * A set a builtin returns is a set inside the policy; its JSON dump is an array whose order is Go's sort order on one
 * side and wasm's hash order on the other. For those, compare the elements, not their order.
 */
export function unorderedIfSet(expr: string, o: Outcome): Outcome {
  if (!setResultBuiltins.has(expr.slice(0, expr.indexOf('('))) || !Array.isArray(o.value)) return o;
  return { value: [...o.value].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) };
}
