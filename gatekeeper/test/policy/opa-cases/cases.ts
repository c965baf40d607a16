// OPA's builtin test cases (v1/test/cases/testdata/v1 of the pinned opa module, fetched by
// scripts/peers/get-opa-testcases.sh): loading them and sorting out which ones exercise the host builtins.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

/** One case, as OPA's test/cases.TestCase describes it. */
export interface OpaCase {
  /** directory/file.yaml under the cases root */
  file: string;
  note: string;
  query: string;
  modules: string[];
  data?: Record<string, unknown>;
  input?: unknown;
  input_term?: string;
  want_defined?: boolean;
  want_result?: Array<Record<string, unknown>>;
  want_error?: string;
  want_error_code?: string;
  strict_error?: boolean;
  sort_bindings?: boolean;
  env?: Record<string, string>;
}

export function loadCases(root: string): OpaCase[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) files.push(p);
    }
  };
  walk(root);
  const cases: OpaCase[] = [];
  for (const file of files) {
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
      const set = doc.toJS() as { cases?: OpaCase[] } | null;
      for (const c of set?.cases ?? []) cases.push({ ...c, modules: c.modules ?? [], file: path.relative(root, file) });
    }
  }
  return cases;
}

/** Which builtins OPA's wasm target leaves to the host: every builtin opa knows but those it implements natively. */
export function hostSideBuiltins(opaPath: string, casesRoot: string): string[] {
  const caps = JSON.parse(execFileSync(opaPath, ['capabilities', '--current'], { encoding: 'utf8' })) as { builtins: Array<{ name: string }> };
  const native = new Set(fs.readFileSync(path.join(casesRoot, 'wasm-native-builtins.txt'), 'utf8').split('\n').filter(Boolean));
  return caps.builtins.map((b) => b.name).filter((n) => !native.has(n));
}

/** The builtins among `names` a case's modules or query mention (called, or replaced with `with`). */
export function mentionedBuiltins(c: OpaCase, names: string[]): string[] {
  const text = [...c.modules, c.query].join('\n');
  return names.filter((n) => new RegExp(`(^|[^\\w.])${n.replaceAll('.', '\\.')}(?![\\w.])`).test(text));
}

/** The cases OPA's own wasm end-to-end test skips (note: reason): limits of the wasm target, not of the host. */
export function wasmExceptions(casesRoot: string): Record<string, string> {
  return YAML.parse(fs.readFileSync(path.join(casesRoot, 'wasm-exceptions.yaml'), 'utf8')) as Record<string, string>;
}
