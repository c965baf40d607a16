// Reading policy files: YAML (multi-document) and JSON, files or folders (recursively), sorted into templates,
// constraints and everything else; and the review Gatekeeper builds for a plain object (audit, gator).
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { isTemplate } from '../templates/template.js';
import type { ReviewRequest } from './engine.js';

export interface LoadedObject {
  obj: Record<string, any>;
  /** file:document-index, for error messages */
  source: string;
}

export interface PolicyFiles {
  templates: LoadedObject[];
  constraints: LoadedObject[];
  others: LoadedObject[];
}

export class LoadError extends Error {}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Whether a file name ends in .yaml, .yml or .json (what gator reads). */
export const hasPolicyExtension = (file: string) => EXTENSIONS.has(path.extname(file).toLowerCase());

/**
 * The files a path names: itself (it must end in .yaml, .yml or .json: a mistyped argument is an error, as in gator),
 * or the .yaml/.yml/.json files below a folder (other files there are skipped).
 */
export async function listFiles(p: string): Promise<string[]> {
  let st;
  try {
    st = await fs.stat(p);
  } catch {
    throw new LoadError(`${p}: no such file or directory`);
  }
  if (st.isFile()) {
    if (!hasPolicyExtension(p)) throw new LoadError(`path "${p}" must be of extensions: [.yaml .yml .json]`);
    return [p];
  }
  const out: string[] = [];
  const entries = await fs.readdir(p, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const full = path.join(p, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(full)));
    else if (e.isFile() && hasPolicyExtension(e.name)) out.push(full);
  }
  return out;
}

/** Every object in a YAML or JSON file (a JSON array, a `kind: List`, or YAML documents). */
export function parseObjects(text: string, file: string): LoadedObject[] {
  const out: LoadedObject[] = [];
  const push = (v: unknown, i: number) => {
    if (v === null || v === undefined) return;
    if (Array.isArray(v)) return v.forEach((x, j) => push(x, j));
    if (typeof v !== 'object') throw new LoadError(`${file}: document ${i + 1} is not an object`);
    const o = v as Record<string, any>;
    if (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) return o.items.forEach((x: unknown, j: number) => push(x, j));
    out.push({ obj: o, source: `${file}#${i + 1}` });
  };
  if (file.toLowerCase().endsWith('.json')) {
    try {
      push(JSON.parse(text), 0);
    } catch (e) {
      if (e instanceof LoadError) throw e;
      throw new LoadError(`${file}: invalid JSON: ${(e as Error).message}`);
    }
    return out;
  }
  let docs = YAML.parseAllDocuments(text);
  if (docs.some((d) => d.errors.length)) {
    const relaxed = YAML.parseAllDocuments(reindentQuotedContinuations(text));
    if (!relaxed.some((d) => d.errors.length)) docs = relaxed;
  }
  docs.forEach((d, i) => {
    if (d.errors.length) throw new LoadError(`${file}: invalid YAML in document ${i + 1}: ${d.errors[0]!.message}`);
    push(d.toJS({ maxAliasCount: 1000 }), i);
  });
  return out;
}

/**
 * Go's YAML parser (which kubectl and gator use) accepts a multi-line quoted scalar whose continuation lines are not
 * indented past its key, e.g. `description: "When set ...` then `to false."` at the key's column; the `yaml` package
 * rightly rejects that. Used only as a fallback when a file does not parse: continuation lines of an unclosed quoted
 * scalar are re-indented under their key (line folding discards that indentation anyway).
 */
export function reindentQuotedContinuations(text: string): string {
  const lines = text.split('\n');
  let quote: string | undefined;
  let indent = '';
  const closes = (s: string, q: string): boolean => {
    if (q === "'") return (s.replaceAll("''", '').match(/'/g) ?? []).length % 2 === 1;
    return /(^|[^\\])(\\\\)*"/.test(s);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (quote) {
      lines[i] = indent + '  ' + line.trimStart();
      if (closes(line, quote)) quote = undefined;
      continue;
    }
    const m = /^(\s*)(?:- )?[^"'#:]+:\s+(["'])(.*)$/.exec(line);
    if (m && !closes(m[3]!, m[2]!)) {
      quote = m[2];
      indent = m[1]!;
    }
  }
  return lines.join('\n');
}

export function isConstraint(obj: Record<string, any>): boolean {
  return typeof obj.apiVersion === 'string' && obj.apiVersion.startsWith('constraints.gatekeeper.sh/');
}

/** gator reads standard input unless it is a character device (a terminal, /dev/null): piped, redirected, a socket. */
export function readStdinObjects(): LoadedObject[] {
  let st: import('node:fs').Stats;
  try {
    st = fsSync.fstatSync(0);
  } catch {
    return [];
  }
  if (st.isCharacterDevice()) return [];
  return parseObjects(fsSync.readFileSync(0, 'utf8'), 'stdin');
}

/** Every object of the files and folders, in order. */
export async function loadObjects(paths: string[]): Promise<LoadedObject[]> {
  const out: LoadedObject[] = [];
  for (const p of paths) {
    for (const file of await listFiles(p)) out.push(...parseObjects(await fs.readFile(file, 'utf8'), file));
  }
  return out;
}

/** The objects sorted into templates, constraints and the rest. */
export function sortObjects(objects: LoadedObject[]): PolicyFiles {
  const result: PolicyFiles = { templates: [], constraints: [], others: [] };
  for (const o of objects) {
    if (isTemplate(o.obj)) result.templates.push(o);
    else if (isConstraint(o.obj)) result.constraints.push(o);
    else result.others.push(o);
  }
  return result;
}

export async function loadPolicyFiles(paths: string[]): Promise<PolicyFiles> {
  return sortObjects(await loadObjects(paths));
}

/** Group, version of an apiVersion ("v1" → core group ""). */
export function splitApiVersion(apiVersion: unknown): { group: string; version: string } {
  const av = typeof apiVersion === 'string' ? apiVersion : '';
  const i = av.indexOf('/');
  return i < 0 ? { group: '', version: av } : { group: av.slice(0, i), version: av.slice(i + 1) };
}

/**
 * The review Gatekeeper evaluates for a plain object (audit, gator test/verify): the JSON of an AdmissionRequest with
 * kind, name, namespace and object set. Go marshals the fields without omitempty too — uid, resource, operation and
 * userInfo empty, oldObject and options null (so `input.review.oldObject` is defined, as null, in Rego).
 */
export function reviewFromObject(obj: any): ReviewRequest {
  const { group, version } = splitApiVersion(obj?.apiVersion);
  const r: ReviewRequest = {
    uid: '',
    kind: { group, version, kind: typeof obj?.kind === 'string' ? obj.kind : '' },
    resource: { group: '', version: '', resource: '' },
    operation: '',
    userInfo: {},
    object: obj,
    oldObject: null,
    options: null,
    source: 'Original',
  };
  if (obj?.metadata?.name) r.name = obj.metadata.name;
  if (obj?.metadata?.namespace) r.namespace = obj.metadata.namespace;
  return r;
}

/**
 * An object Kubernetes' decoder would refuse (Go's unstructured.UnmarshalJSON, which gator reads objects with): kind
 * missing. Returns the error text, gator's wording.
 */
export function missingKind(obj: unknown): string | undefined {
  const o = obj as Record<string, unknown> | null;
  if (o && typeof o === 'object' && typeof o.kind === 'string' && o.kind) return undefined;
  return `Object 'Kind' is missing in '${JSON.stringify(obj)}'`;
}

/** The review carried by an AdmissionReview object (its request), refused where gator refuses it. */
export function reviewFromAdmissionReview(ar: any): ReviewRequest {
  const req = ar?.request;
  if (!req || typeof req !== 'object') throw new LoadError('missing an AdmissionRequest object: request did not actually pass in an AdmissionRequest');
  if (!req.object && !req.oldObject) {
    throw new LoadError('no object or oldObject found to review: AdmissionRequest does not contain an "object" or "oldObject" to review');
  }
  for (const o of [req.object, req.oldObject]) {
    const bad = o ? missingKind(o) : undefined;
    if (bad) throw new LoadError(`object or oldObject cannot be unmarshalled: ${bad}`);
  }
  if (req.operation === 'DELETE' && !req.oldObject) throw new LoadError('oldObject cannot be nil for DELETE operations');
  const out: ReviewRequest = { ...req, source: 'Original' };
  if (req.operation === 'DELETE' && !req.object) out.object = req.oldObject;
  return out;
}
