// gator's Suite format (test.gatekeeper.sh/v1alpha1): reading suite files from files and folders.
import fs from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { listFiles } from '../policy/load.js';

export interface Assertion {
  violations?: number | string | boolean;
  message?: string;
}
export interface Case {
  name: string;
  object: string;
  inventory?: string[];
  assertions: Assertion[];
  skip?: boolean;
}
export interface Test {
  name: string;
  template: string;
  constraint: string;
  cases: Case[];
  invalid?: boolean;
  skip?: boolean;
}
export interface Suite {
  /** The suite file, as given or found. */
  path: string;
  name: string;
  tests: Test[];
  skip?: boolean;
}

export class SuiteError extends Error {}

const isSuiteText = (text: string) => /^kind:\s*["']?Suite["']?\s*$/m.test(text);

/** Suites in the given files and folders (searched recursively: every YAML file whose kind is Suite). */
export async function readSuites(paths: string[]): Promise<Suite[]> {
  const suites: Suite[] = [];
  for (const p of paths) {
    const st = await fs.stat(p).catch(() => undefined);
    if (!st) throw new SuiteError(`${p}: no such file or directory`);
    const files = st.isFile() ? [p] : (await listFiles(p)).filter((f) => /\.ya?ml$/i.test(f));
    for (const file of files) {
      const text = await fs.readFile(file, 'utf8');
      if (!isSuiteText(text)) {
        if (st.isFile()) throw new SuiteError(`${file}: not a Suite (kind: Suite, apiVersion: test.gatekeeper.sh/v1alpha1)`);
        continue;
      }
      suites.push(parseSuite(text, file));
    }
  }
  return suites;
}

export function parseSuite(text: string, file: string): Suite {
  let doc: any;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new SuiteError(`${file}: invalid YAML: ${(e as Error).message}`);
  }
  if (!doc || doc.kind !== 'Suite') throw new SuiteError(`${file}: kind must be Suite`);
  if (typeof doc.apiVersion !== 'string' || !doc.apiVersion.startsWith('test.gatekeeper.sh/')) {
    throw new SuiteError(`${file}: apiVersion must be test.gatekeeper.sh/v1alpha1, got ${String(doc.apiVersion)}`);
  }
  const tests = Array.isArray(doc.tests) ? doc.tests : [];
  return {
    path: file,
    name: String(doc.metadata?.name ?? path.basename(path.dirname(file))),
    skip: doc.skip === true,
    tests: tests.map((t: any, i: number) => ({
      name: String(t?.name ?? `test-${i + 1}`),
      template: typeof t?.template === 'string' ? t.template : '',
      constraint: typeof t?.constraint === 'string' ? t.constraint : '',
      invalid: t?.invalid === true,
      skip: t?.skip === true,
      cases: (Array.isArray(t?.cases) ? t.cases : []).map((c: any, j: number) => ({
        name: String(c?.name ?? `case-${j + 1}`),
        object: typeof c?.object === 'string' ? c.object : '',
        inventory: Array.isArray(c?.inventory) ? c.inventory.map(String) : [],
        assertions: Array.isArray(c?.assertions) ? c.assertions : [],
        skip: c?.skip === true,
      })),
    })),
  };
}
