// gator's Suite format (test.gatekeeper.sh/v1alpha1): reading suite files from files and folders.
import fs from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { hasPolicyExtension, listFiles } from '../policy/load.js';

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
  /** A file of ExpansionTemplates: each case's object is also reviewed as the resources it implies. */
  expansion?: string;
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

/** The first document of a file, when it says kind Suite (YAML or JSON, which is YAML); undefined otherwise. */
function suiteDocument(text: string, file: string): any {
  if (!text.includes('Suite')) return undefined;
  const docs = YAML.parseAllDocuments(text);
  const first = Array.isArray(docs) ? docs[0] : docs;
  if (!first) return undefined;
  if (first.errors.length) {
    if (/["']?kind["']?\s*:\s*["']?Suite["']?\s*[,}\n]/.test(text)) throw new SuiteError(`${file}: invalid YAML: ${first.errors[0]!.message}`);
    return undefined;
  }
  const doc = first.toJS();
  return doc && typeof doc === 'object' && doc.kind === 'Suite' ? doc : undefined;
}

/**
 * Suites in the given files and folders (searched recursively: every .yaml/.yml/.json file whose kind is Suite). A file
 * named explicitly must have one of those extensions and hold a Suite.
 */
export async function readSuites(paths: string[]): Promise<Suite[]> {
  const suites: Suite[] = [];
  for (const p of paths) {
    const st = await fs.stat(p).catch(() => undefined);
    if (!st) throw new SuiteError(`${p}: no such file or directory`);
    if (st.isFile() && !hasPolicyExtension(p)) throw new SuiteError(`${p}: unsupported extension: "${path.extname(p)}" (want .yaml, .yml or .json)`);
    const files = st.isFile() ? [p] : await listFiles(p);
    for (const file of files) {
      const doc = suiteDocument(await fs.readFile(file, 'utf8'), file);
      if (!doc) {
        if (st.isFile()) throw new SuiteError(`${file}: not a Suite (kind: Suite, apiVersion: test.gatekeeper.sh/v1alpha1)`);
        continue;
      }
      suites.push(toSuite(doc, file));
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
  return toSuite(doc, file);
}

function toSuite(doc: any, file: string): Suite {
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
      ...(typeof t?.expansion === 'string' && t.expansion ? { expansion: t.expansion } : {}),
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
