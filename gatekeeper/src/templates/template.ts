// A ConstraintTemplate read into what the engine needs: the constraint kind, the parameters schema, the Rego modules
// and the K8sNativeValidation (CEL) source, whichever the template carries (the engine picks, as Gatekeeper does).
import { CEL_ENGINE } from '../cel/source.js';

export interface RegoModule {
  /** Name used in compile errors: template.rego, lib-1.rego, ... */
  file: string;
  source: string;
}

export interface ParsedTemplate {
  name: string;
  kind: string;
  apiVersion: string;
  schema?: Record<string, unknown>;
  target: string;
  /** Empty when the template has no Rego (a CEL-only template). */
  modules: RegoModule[];
  /** Rego package of the template module, e.g. "k8srequiredlabels" ('' without Rego). */
  packageName: string;
  /** The `source` of the K8sNativeValidation code block, unparsed (cel/source.ts reads it when CEL is chosen). */
  celSource?: unknown;
  regoVersion: 'v0' | 'v1';
  raw: Record<string, unknown>;
}

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export const TEMPLATE_API_VERSIONS = ['templates.gatekeeper.sh/v1', 'templates.gatekeeper.sh/v1beta1', 'templates.gatekeeper.sh/v1alpha1'];
export const ADMISSION_TARGET = 'admission.k8s.gatekeeper.sh';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

export function isTemplate(obj: unknown): boolean {
  return isObj(obj) && obj.kind === 'ConstraintTemplate' && typeof obj.apiVersion === 'string' && obj.apiVersion.startsWith('templates.gatekeeper.sh/');
}

/** The package a Rego module declares (the first `package` line outside comments). */
export function regoPackage(source: string): string | undefined {
  for (const line of source.split('\n')) {
    const m = /^\s*package\s+([A-Za-z_][\w.]*(?:\["[^"]*"\])*)/.exec(line);
    if (m) return m[1];
    if (line.trim() && !line.trim().startsWith('#')) continue;
  }
  return undefined;
}

export function parseTemplate(obj: unknown): ParsedTemplate {
  if (!isObj(obj)) throw new TemplateError('a ConstraintTemplate must be an object');
  const name = isObj(obj.metadata) && typeof obj.metadata.name === 'string' ? obj.metadata.name : undefined;
  const label = `ConstraintTemplate ${name ?? '(no name)'}`;
  if (obj.kind !== 'ConstraintTemplate') throw new TemplateError(`${label}: kind is ${String(obj.kind)}, expected ConstraintTemplate`);
  if (typeof obj.apiVersion !== 'string' || !TEMPLATE_API_VERSIONS.includes(obj.apiVersion)) {
    throw new TemplateError(`${label}: apiVersion ${String(obj.apiVersion)} is not one of ${TEMPLATE_API_VERSIONS.join(', ')}`);
  }
  if (!name) throw new TemplateError(`${label}: metadata.name is required`);
  const spec = isObj(obj.spec) ? obj.spec : {};
  const crdSpec = isObj(spec.crd) && isObj(spec.crd.spec) ? spec.crd.spec : {};
  const kind = isObj(crdSpec.names) && typeof crdSpec.names.kind === 'string' ? crdSpec.names.kind : undefined;
  if (!kind) throw new TemplateError(`${label}: spec.crd.spec.names.kind is required`);
  if (kind.toLowerCase() !== name) {
    throw new TemplateError(`${label}: metadata.name must be the lowercase of spec.crd.spec.names.kind (${kind.toLowerCase()})`);
  }
  const validation = isObj(crdSpec.validation) ? crdSpec.validation : {};
  const schema = isObj(validation.openAPIV3Schema) ? validation.openAPIV3Schema : undefined;

  const targets = Array.isArray(spec.targets) ? spec.targets.filter(isObj) : [];
  if (targets.length !== 1) throw new TemplateError(`${label}: spec.targets must hold exactly one target, found ${targets.length}`);
  const target = targets[0]!;
  const targetName = typeof target.target === 'string' ? target.target : '';
  if (targetName !== ADMISSION_TARGET) throw new TemplateError(`${label}: target ${targetName || '(none)'} is not ${ADMISSION_TARGET}`);

  let rego: string | undefined = typeof target.rego === 'string' && target.rego.trim() ? target.rego : undefined;
  let libs: unknown[] = Array.isArray(target.libs) ? target.libs : [];
  let regoVersion: 'v0' | 'v1' = 'v0';
  const code = Array.isArray(target.code) ? target.code.filter(isObj) : [];
  const celCode = code.find((c) => c.engine === CEL_ENGINE);
  const regoCode = code.find((c) => c.engine === 'Rego');
  if (regoCode) {
    const source = isObj(regoCode.source) ? regoCode.source : {};
    if (typeof source.rego === 'string' && source.rego.trim()) {
      rego = source.rego;
      libs = Array.isArray(source.libs) ? source.libs : [];
      regoVersion = source.version === 'v1' ? 'v1' : 'v0';
    }
  }
  const base = { name, kind, apiVersion: obj.apiVersion, schema, target: targetName, regoVersion, raw: obj, ...(celCode ? { celSource: celCode.source } : {}) };
  if (!rego) {
    if (celCode) return { ...base, modules: [], packageName: '' };
    const engines = code.map((c) => String(c.engine));
    throw new TemplateError(
      `${label}: no Rego source (targets[0].rego or targets[0].code[] with engine: Rego) and no ${CEL_ENGINE} source${engines.length ? `; code engines present: ${engines.join(', ')}` : ''}`,
    );
  }
  const packageName = regoPackage(rego);
  if (!packageName) throw new TemplateError(`${label}: the Rego source has no package declaration`);
  const modules: RegoModule[] = [{ file: 'template.rego', source: rego }];
  libs.forEach((lib, i) => {
    if (typeof lib !== 'string') throw new TemplateError(`${label}: libs[${i}] must be a string`);
    modules.push({ file: `lib-${i + 1}.rego`, source: lib });
  });
  return { ...base, modules, packageName };
}
