// ExpansionTemplates (expansion.gatekeeper.sh): a generator resource (Deployment, CronJob, ...) expanded into the
// resources it implies (the Pod of its pod template, ...), as Gatekeeper's pkg/expansion does: templates chosen by the
// exact group/version/kind of applyTo, recursively (a CronJob's Job's Pod), templates in a cycle left out, the
// resultant named `<generator>-<kind>` with an ownerReference to its generator. Their violations are reported with the
// `[Implied by <template>]` prefix and, when the template sets one, its enforcementAction.
import { splitApiVersion } from '../policy/load.js';
import type { Violation } from '../policy/engine.js';

export const EXPANSION_GROUP = 'expansion.gatekeeper.sh';
const MAX_DEPTH = 30;
const MUTATOR_KINDS = new Set(['Assign', 'AssignMetadata', 'ModifySet', 'AssignImage']);

export class ExpansionError extends Error {}

export interface ExpansionTemplate {
  name: string;
  /** "group/version/kind" keys of every applyTo combination. */
  appliesTo: Set<string>;
  templateSource: string;
  generated: { group: string; version: string; kind: string };
  enforcementAction: string;
}

export interface Resultant {
  obj: Record<string, any>;
  templateName: string;
  enforcementAction: string;
}

const gvkKey = (g: { group: string; version: string; kind: string }) => `${g.group}/${g.version}/${g.kind}`;
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export function isExpansionTemplate(obj: Record<string, any>): boolean {
  return obj.kind === 'ExpansionTemplate' && splitApiVersion(obj.apiVersion).group === EXPANSION_GROUP;
}

/** Gatekeeper's mutators, which gator applies to expanded resources; this engine does not mutate. */
export function isMutator(obj: Record<string, any>): boolean {
  return MUTATOR_KINDS.has(obj.kind) && splitApiVersion(obj.apiVersion).group === 'mutations.gatekeeper.sh';
}

/** Checks an ExpansionTemplate as Gatekeeper's ValidateTemplate does. */
export function parseExpansionTemplate(obj: Record<string, any>): ExpansionTemplate {
  const name = typeof obj.metadata?.name === 'string' ? obj.metadata.name : '';
  if (!name) throw new ExpansionError('ExpansionTemplate has empty name field');
  if (name.length >= 64) throw new ExpansionError('ExpansionTemplate name must be less than 64 characters');
  const spec = obj.spec && typeof obj.spec === 'object' ? obj.spec : {};
  const templateSource = typeof spec.templateSource === 'string' ? spec.templateSource : '';
  if (!templateSource) throw new ExpansionError(`ExpansionTemplate ${name} has empty source field`);
  const g = spec.generatedGVK ?? {};
  const generated = { group: String(g.group ?? ''), version: String(g.version ?? ''), kind: String(g.kind ?? '') };
  if (!generated.group && !generated.version && !generated.kind) throw new ExpansionError(`ExpansionTemplate ${name} has empty generatedGVK field`);
  const applyTo: unknown[] = Array.isArray(spec.applyTo) ? spec.applyTo : [];
  if (!applyTo.length) throw new ExpansionError(`ExpansionTemplate ${name} must specify ApplyTo`);
  const appliesTo = new Set<string>();
  for (const a of applyTo as Array<Record<string, unknown>>) {
    for (const group of strings(a?.groups)) for (const version of strings(a?.versions)) for (const kind of strings(a?.kinds)) appliesTo.add(gvkKey({ group, version, kind }));
  }
  if (appliesTo.has(gvkKey(generated))) {
    throw new ExpansionError(`ExpansionTemplate ${name} generates GVK ${generated.group}/${generated.version}, Kind=${generated.kind}, but also applies to that same GVK`);
  }
  const enforcementAction = typeof spec.enforcementAction === 'string' ? spec.enforcementAction : '';
  return { name, appliesTo, templateSource, generated, enforcementAction };
}

export class Expander {
  private readonly templates: ExpansionTemplate[];
  /** Templates left out because their output leads back to their input (Gatekeeper: "template forms expansion cycle"). */
  readonly inCycle: Set<string>;

  constructor(templates: ExpansionTemplate[]) {
    const byName = new Map(templates.map((t) => [t.name, t]));
    const all = [...byName.values()];
    // A template whose output can lead back to its own input is in a cycle: Gatekeeper leaves such templates out.
    const reaches = (from: string, to: Set<string>, seen = new Set<string>()): boolean => {
      if (to.has(from)) return true;
      if (seen.has(from)) return false;
      seen.add(from);
      return all.some((t) => t.appliesTo.has(from) && reaches(gvkKey(t.generated), to, seen));
    };
    this.templates = all.filter((t) => !reaches(gvkKey(t.generated), t.appliesTo));
    this.inCycle = new Set(all.filter((t) => !this.templates.includes(t)).map((t) => t.name));
  }

  get size(): number {
    return this.templates.length;
  }

  /** Every resource `obj` implies, deepest first (as Gatekeeper orders them). */
  expand(obj: Record<string, any>, depth = 0): Resultant[] {
    if (depth >= MAX_DEPTH) throw new ExpansionError(`maximum recursion depth of ${MAX_DEPTH} reached`);
    const name = typeof obj.metadata?.name === 'string' ? obj.metadata.name : '';
    const kind = typeof obj.kind === 'string' ? obj.kind : '';
    const { group, version } = splitApiVersion(obj.apiVersion);
    if (!kind && !version) throw new ExpansionError(`cannot expand resource ${name} with empty GVK`);
    const key = gvkKey({ group, version, kind });
    const own = this.templates.filter((t) => t.appliesTo.has(key)).map((t) => ({ obj: expandResource(obj, t), templateName: t.name, enforcementAction: t.enforcementAction }));
    const out: Resultant[] = [];
    for (const r of own) out.push(...this.expand(r.obj, depth + 1));
    out.push(...own);
    return out;
  }
}

function expandResource(obj: Record<string, any>, t: ExpansionTemplate): Record<string, any> {
  const name = typeof obj.metadata?.name === 'string' ? obj.metadata.name : '';
  let src: unknown = obj;
  for (const part of t.templateSource.split('.')) {
    if (src === undefined) break;
    if (!src || typeof src !== 'object' || Array.isArray(src)) {
      throw new ExpansionError(`could not extract source field from unstructured: ${t.templateSource} is not an object in resource ${name}`);
    }
    src = (src as Record<string, unknown>)[part];
  }
  if (src === undefined || src === null) throw new ExpansionError(`could not find source field ${JSON.stringify(t.templateSource)} in resource ${name}`);
  if (typeof src !== 'object' || Array.isArray(src)) throw new ExpansionError(`could not extract source field from unstructured: ${t.templateSource} is not an object in resource ${name}`);
  const resource = structuredClone(src) as Record<string, any>;
  const { group, version, kind } = t.generated;
  resource.apiVersion = group ? `${group}/${version}` : version;
  resource.kind = kind;
  const metadata: Record<string, any> = resource.metadata && typeof resource.metadata === 'object' ? resource.metadata : (resource.metadata = {});
  if (typeof obj.metadata?.namespace === 'string' && obj.metadata.namespace) metadata.namespace = obj.metadata.namespace;
  else delete metadata.namespace;
  metadata.name = `${name}${kind ? '-' : ''}${kind}`.toLowerCase();
  if (obj.apiVersion && obj.kind && name) {
    const refs: Array<Record<string, unknown>> = Array.isArray(metadata.ownerReferences) ? metadata.ownerReferences : [];
    if (!refs.some((r) => r.apiVersion === obj.apiVersion && r.kind === obj.kind && r.name === name)) {
      metadata.ownerReferences = [...refs, { apiVersion: obj.apiVersion, kind: obj.kind, name, uid: '' }];
    }
  }
  return resource;
}

/**
 * A resultant's violations as Gatekeeper reports them: `[Implied by <template>]` and the template's action, if any
 * (Gatekeeper's OverrideEnforcementAction replaces the result's action, a scoped constraint's actions included).
 */
export function impliedViolations(r: Resultant, violations: Violation[]): Violation[] {
  const { group, version } = splitApiVersion(r.obj.apiVersion);
  const meta = r.obj.metadata ?? {};
  const resource: NonNullable<Violation['implied']>['resource'] = { group, version, kind: String(r.obj.kind ?? '') };
  if (typeof meta.namespace === 'string' && meta.namespace) resource.namespace = meta.namespace;
  if (typeof meta.name === 'string' && meta.name) resource.name = meta.name;
  return violations.map((v) => {
    const out: Violation = { ...v, msg: `[Implied by ${r.templateName}] ${v.msg}`, implied: { template: r.templateName, resource } };
    if (r.enforcementAction) {
      out.enforcementAction = r.enforcementAction;
      delete out.enforcementActions;
      out.constraint = { ...v.constraint, enforcementAction: r.enforcementAction };
    }
    return out;
  });
}

/** The ExpansionTemplates among objects; refuses mutators next to them (gator would mutate the resultants). */
export function expanderFor(objects: Array<Record<string, any>>): Expander {
  const templates = objects.filter(isExpansionTemplate).map(parseExpansionTemplate);
  if (templates.length) {
    const mutator = objects.find(isMutator);
    if (mutator) throw new ExpansionError(`${mutator.kind} ${mutator.metadata?.name ?? ''}: mutators are not supported, and gator would apply them to the expanded resources`);
  }
  return new Expander(templates);
}

/**
 * The expander of a cluster or a policy folder, as Gatekeeper's expansion system holds them: an ExpansionTemplate that
 * fails validation is left out and reported (its status, a log line), the others apply.
 */
export function expanderOf(objects: Array<Record<string, any>>, onError: (name: string, message: string) => void): Expander {
  const templates: ExpansionTemplate[] = [];
  for (const obj of objects.filter(isExpansionTemplate)) {
    try {
      templates.push(parseExpansionTemplate(obj));
    } catch (e) {
      onError(String(obj.metadata?.name ?? ''), (e as Error).message);
    }
  }
  const expander = new Expander(templates);
  for (const name of expander.inCycle) onError(name, 'template forms expansion cycle');
  return expander;
}
