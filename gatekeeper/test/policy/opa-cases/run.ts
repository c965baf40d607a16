// Runs OPA test cases through the engine's wasm path: many cases compiled by one `opa build -t wasm` (each under a
// data root of its own, see reroot.ts), each case's query turned into a rule collecting its bindings, evaluated with
// the engine's TemplateModule and host builtins, and compared as OPA's own wasm end-to-end test compares them.
import fs from 'node:fs';
import path from 'node:path';
import type { BuiltinError } from '../../../src/builtins/index.js';
import { compareRego, type RegoTerm } from '../../../src/builtins/rego-value.js';
import { TemplateModule } from '../../../src/policy/wasm.js';
import { buildWasm } from '../opa-reference.js';
import type { OpaCase } from './cases.js';
import { reroot } from './reroot.js';

export interface Batch {
  module?: WebAssembly.Module;
  /** Cases opa refused to compile, with its message. */
  refused: Map<number, string>;
}

const rootOf = (id: number) => `gk_case_${id}`;
const entrypointOf = (id: number) => `gk_query_${id}/gk_rows`;

/** The variables whose bindings the case expects. */
function wantedVars(c: OpaCase): string[] {
  return [...new Set((c.want_result ?? []).flatMap((row) => Object.keys(row)))];
}

/** A case's files: its modules moved under its root, and its query as a rule collecting one object per binding. */
function caseFiles(id: number, c: OpaCase): Array<{ name: string; source: string }> {
  const root = rootOf(id);
  const row = `{${wantedVars(c).map((v) => `${JSON.stringify(v)}: ${v}`).join(', ')}}`;
  return [
    ...c.modules.map((m, i) => ({ name: `c${id}_m${i}.rego`, source: reroot(m, root) })),
    { name: `c${id}_query.rego`, source: `package gk_query_${id}\n\ngk_rows contains ${row} if {\n${reroot(c.query, root)}\n}\n` },
  ];
}

/**
 * Compiles the cases into one module. When opa refuses some of them, those are set aside (with its message) and the
 * rest built again: one case must not hide the others.
 */
export function buildBatch(dir: string, cases: Map<number, OpaCase>): Batch {
  const refused = new Map<number, string>();
  for (;;) {
    const ids = [...cases.keys()].filter((id) => !refused.has(id));
    if (!ids.length) return { refused };
    const files = ids.flatMap((id) => caseFiles(id, cases.get(id)!));
    for (const f of files) fs.writeFileSync(path.join(dir, f.name), f.source);
    try {
      const wasm = buildWasm(dir, files.map((f) => f.name), ids.map(entrypointOf));
      return { module: new WebAssembly.Module(wasm), refused };
    } catch (e) {
      const output = `${(e as { stdout?: Buffer }).stdout ?? ''}${(e as { stderr?: Buffer }).stderr ?? ''}`;
      const culprits = new Set([...output.matchAll(/\bc(\d+)_(?:m\d+|query)\.rego/g)].map((m) => Number(m[1])));
      if (!culprits.size) throw new Error(`opa build failed on no case in particular: ${output || (e as Error).message}`);
      for (const id of culprits) refused.set(id, output.split('\n').filter((l) => l.includes(`c${id}_`)).join('\n'));
    } finally {
      for (const f of files) fs.rmSync(path.join(dir, f.name), { force: true });
    }
  }
}

export interface CaseRun {
  /** The builtins the compiled batch leaves to the host (what the engine's builtin table must provide). */
  imports: string[];
  /** The query's result rows (empty: undefined), or the evaluation's error. */
  rows?: unknown[];
  error?: string;
  /** With strict builtin errors, for cases expecting one: the error raised, if any. */
  strictError?: string;
  /** The builtin errors that made calls undefined. */
  builtinErrors: BuiltinError[];
}

export async function runCase(module: WebAssembly.Module, id: number, c: OpaCase): Promise<CaseRun> {
  const m = await TemplateModule.instantiate(module, entrypointOf(id));
  if (c.data) m.setData({ [rootOf(id)]: c.data });
  // opa_eval reads its input as a Rego value: input_term goes in as it is; no input leaves `input` undefined
  const input = new TextEncoder().encode(c.input_term !== undefined ? withoutTrailingCommas(c.input_term) : c.input === undefined ? '' : JSON.stringify(c.input));
  const builtinErrors: BuiltinError[] = [];
  const run: CaseRun = { imports: m.builtinNames, builtinErrors };
  try {
    const rows = m.evaluateTerm(input, { builtinErrors });
    run.rows = rows?.k === 'set' ? rows.items.map(asJson) : [];
  } catch (e) {
    run.error = (e as Error).message;
  }
  if (c.strict_error) {
    try {
      m.evaluate(input, { strictBuiltinErrors: true });
    } catch (e) {
      run.strictError = (e as Error).message;
    }
  }
  return run;
}

/** OPA's term parser takes `{"a": 1, }`; the wasm value parser does not. */
function withoutTrailingCommas(term: string): string {
  let out = '';
  for (let i = 0; i < term.length; i++) {
    const ch = term[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < term.length && term[j] !== '"') j += term[j] === '\\' ? 2 : 1;
      out += term.slice(i, j + 1);
      i = j;
    } else if (ch !== ',' || !/^\s*[}\]]/.test(term.slice(i + 1))) out += ch;
  }
  return out;
}

/** Whether a run gives what the case wants; a message saying how it differs otherwise. */
export function verdict(c: OpaCase, run: CaseRun): string | undefined {
  if (run.error !== undefined) return c.want_error_code && !c.strict_error ? undefined : `evaluation failed: ${run.error}`;
  const rows = run.rows!;
  if (c.want_error_code || c.want_error) {
    if (!c.strict_error) return `wanted the error ${c.want_error_code ?? ''} ${c.want_error ?? ''}, got ${JSON.stringify(rows)}`;
    // without strict builtin errors the failing call is undefined; with them, OPA's error
    if (rows.length) return `wanted undefined (a builtin error), got ${JSON.stringify(rows)}`;
    if (run.strictError === undefined) return `wanted the strict-mode error "${c.want_error}", got none`;
    const wanted = c.want_error?.replace(/^.*?\beval_\w+: /, '');
    if (wanted && !run.strictError.includes(wanted)) return `wanted the strict-mode error "${c.want_error}", got "${run.strictError}"`;
    return undefined;
  }
  if (c.want_result === undefined) {
    const defined = rows.length > 0;
    return defined === c.want_defined ? undefined : `wanted ${c.want_defined ? 'defined' : 'undefined'}, got ${JSON.stringify(rows)}`;
  }
  const norm = (r: unknown) => canonical(c.sort_bindings ? sortBindings(r) : r);
  const got = [...new Set(rows.map(norm))].sort();
  const want = [...new Set(c.want_result.map(norm))].sort();
  if (JSON.stringify(got) === JSON.stringify(want)) return undefined;
  return `wanted ${want.join(' ')}, got ${got.join(' ')}${run.builtinErrors.length ? ` (builtin errors: ${run.builtinErrors.map((e) => e.message).join('; ')})` : ''}`;
}

/** A result as the JSON OPA's tests write: a set as the array of its elements in Rego's order. */
function asJson(t: RegoTerm): unknown {
  switch (t.k) {
    case 'null':
      return null;
    case 'bool':
    case 'str':
      return t.v;
    case 'num':
      return Number(t.lit);
    case 'arr':
      return t.items.map(asJson);
    case 'set':
      return [...t.items].sort(compareRego).map(asJson);
    case 'obj':
      return Object.fromEntries(t.entries.map(([k, v]) => [k.k === 'str' ? k.v : JSON.stringify(asJson(k)), asJson(v)]));
  }
}

/** sort_bindings: a binding whose value is an array (a set in Rego) is compared whatever its order. */
function sortBindings(row: unknown): unknown {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row as Record<string, unknown>)) out[k] = Array.isArray(v) ? [...v].sort((a, b) => (canonical(a) < canonical(b) ? -1 : 1)) : v;
  return out;
}

/** JSON text with sorted keys; numbers compare by value, as OPA's ast comparison does (1.0 is 1). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
