// A constraint object checked against its template: kind, spec.match, spec.parameters (the template's schema) and the
// enforcement action(s).
import { Ajv, type ValidateFunction } from 'ajv';
import { parseMatch, MatchError, type ConstraintMatch } from '../match/match.js';
import { SelectorError } from '../match/label-selector.js';

export class ConstraintError extends Error {
  constructor(
    message: string,
    /** "schema" when the constraint does not fit its CRD's schema (spec.parameters, spec.match...: gator's ErrSchema). */
    readonly reason: 'schema' | 'kind' | 'invalid' = 'invalid',
  ) {
    super(message);
    this.name = 'ConstraintError';
  }
}

export const ENFORCEMENT_POINTS = {
  validation: 'validation.gatekeeper.sh',
  audit: 'audit.gatekeeper.sh',
  gator: 'gator.gatekeeper.sh',
} as const;

export interface ParsedConstraint {
  kind: string;
  name: string;
  match: ConstraintMatch;
  parameters: unknown;
  /** JSON of spec.parameters, spliced into every evaluation input. */
  parametersJson: string;
  enforcementAction: string;
  scoped: Array<{ action: string; points: string[] }>;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  raw: Record<string, unknown>;
}

const KNOWN_ACTIONS = ['deny', 'dryrun', 'warn'];
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const validators = new WeakMap<object, ValidateFunction>();

/** Kubernetes structural-schema keywords that JSON Schema does not know: turned into what ajv understands. */
function toJsonSchema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(toJsonSchema);
  if (!s || typeof s !== 'object') return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-kubernetes-')) continue;
    out[k] = k === 'properties' || k === 'patternProperties' || k === 'definitions' ? mapValues(v, toJsonSchema) : toJsonSchema(v);
  }
  if ((s as Record<string, unknown>)['x-kubernetes-int-or-string']) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if ((s as Record<string, unknown>).nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  delete out.nullable;
  return out;
}

const mapValues = (o: unknown, f: (v: unknown) => unknown) =>
  o && typeof o === 'object' ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)])) : o;

function validatorFor(schema: Record<string, unknown>, templateName: string): ValidateFunction {
  let v = validators.get(schema);
  if (!v) {
    try {
      v = ajv.compile(toJsonSchema(schema) as object);
    } catch (e) {
      throw new ConstraintError(`the openAPIV3Schema of template ${templateName} is not a valid schema: ${(e as Error).message}`, 'invalid');
    }
    validators.set(schema, v);
  }
  return v;
}

/** Checks the template's schema compiles (done when the template is added, so the error names the template). */
export function checkSchema(schema: Record<string, unknown> | undefined, templateName: string): void {
  if (schema) validatorFor(schema, templateName);
}

const isObj = (v: unknown): v is Record<string, any> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * spec.parameters with the template schema's `default:` values filled in, as the API server's structural defaulting
 * (and Gatekeeper's ApplyDefaultParams) does: a missing property, or a null one that is not nullable, takes its default;
 * then every property, item and additionalProperties value is defaulted in turn (defaults included). Absent parameters
 * stay absent (`{}`) unless the schema's root has a default. The constraint object itself is not changed.
 */
export function withDefaults(parameters: unknown, schema: Record<string, unknown> | undefined): unknown {
  if (!schema) return parameters ?? {};
  if (parameters === undefined || parameters === null) return schema.default !== undefined ? defaulted(structuredClone(schema.default), schema) : {};
  return defaulted(structuredClone(parameters), schema);
}

function defaulted(x: unknown, s: Record<string, any> | undefined): unknown {
  if (!s || typeof s !== 'object') return x;
  if (isObj(x)) {
    const props: Record<string, any> = isObj(s.properties) ? s.properties : {};
    for (const [k, prop] of Object.entries(props)) {
      if (!isObj(prop) || prop.default === undefined) continue;
      if (!(k in x) || (x[k] === null && prop.nullable !== true)) x[k] = structuredClone(prop.default);
    }
    for (const k of Object.keys(x)) {
      if (isObj(props[k])) x[k] = defaulted(x[k], props[k]);
      else if (isObj(s.additionalProperties)) x[k] = defaulted(x[k], s.additionalProperties);
    }
  } else if (Array.isArray(x) && isObj(s.items)) {
    for (let i = 0; i < x.length; i++) x[i] = defaulted(x[i], s.items);
  }
  return x;
}

export function parseConstraint(obj: unknown, template: { name: string; schema?: Record<string, unknown> } | undefined): ParsedConstraint {
  if (!isObj(obj)) throw new ConstraintError('a constraint must be an object');
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const name = isObj(obj.metadata) && typeof obj.metadata.name === 'string' ? obj.metadata.name : '';
  const label = `constraint ${kind || '(no kind)'}/${name || '(no name)'}`;
  if (!kind) throw new ConstraintError(`${label}: kind is required`);
  if (!name) throw new ConstraintError(`${label}: metadata.name is required`);
  if (typeof obj.apiVersion === 'string' && !obj.apiVersion.startsWith('constraints.gatekeeper.sh/')) {
    throw new ConstraintError(`${label}: apiVersion ${obj.apiVersion} is not constraints.gatekeeper.sh/*`);
  }
  if (!template) throw new ConstraintError(`${label}: no ConstraintTemplate defines kind ${kind}`, 'kind');
  const spec = obj.spec === undefined || obj.spec === null ? {} : obj.spec;
  if (!isObj(spec)) throw new ConstraintError(`${label}: spec must be an object`, 'schema');

  let match: ConstraintMatch;
  try {
    match = parseMatch(spec.match);
  } catch (e) {
    if (e instanceof MatchError || e instanceof SelectorError) throw new ConstraintError(`${label}: ${e.message}`, 'schema');
    throw e;
  }

  const parameters = withDefaults(spec.parameters, template.schema);
  if (template.schema) {
    const validate = validatorFor(template.schema, template.name);
    if (!validate(parameters)) {
      const problems = (validate.errors ?? []).map((e) => `spec.parameters${e.instancePath.replaceAll('/', '.')} ${e.message}`);
      throw new ConstraintError(`${label}: parameters do not match the schema of template ${template.name}: ${problems.join('; ')}`, 'schema');
    }
  }

  const rawAction = spec.enforcementAction;
  if (rawAction !== undefined && typeof rawAction !== 'string') throw new ConstraintError(`${label}: spec.enforcementAction must be a string`, 'schema');
  const enforcementAction = !rawAction ? 'deny' : rawAction;
  const scoped: ParsedConstraint['scoped'] = [];
  if (enforcementAction === 'scoped') {
    const list = spec.scopedEnforcementActions;
    if (!Array.isArray(list) || !list.length) {
      throw new ConstraintError(`${label}: enforcementAction scoped needs spec.scopedEnforcementActions`);
    }
    list.forEach((s: unknown, i) => {
      if (!isObj(s) || typeof s.action !== 'string') throw new ConstraintError(`${label}: spec.scopedEnforcementActions[${i}].action is required`);
      const points = Array.isArray(s.enforcementPoints) ? s.enforcementPoints.map((p: any) => String(p?.name ?? '')) : [];
      scoped.push({ action: s.action.toLowerCase() === 'dryrun' ? 'dryrun' : s.action.toLowerCase(), points });
    });
  }
  return {
    kind,
    name,
    match,
    parameters,
    parametersJson: JSON.stringify(parameters),
    enforcementAction,
    scoped,
    annotations: isObj(obj.metadata?.annotations) ? obj.metadata.annotations : undefined,
    labels: isObj(obj.metadata?.labels) ? obj.metadata.labels : undefined,
    raw: obj,
  };
}

const severity: Record<string, number> = { deny: 3, warn: 2, dryrun: 1 };

/**
 * The actions that apply at an enforcement point, the strictest first, or undefined when the constraint does not apply
 * there. deny/dryrun/warn apply everywhere; scoped takes every action listed for the point (or `*`): each one applies
 * (a deny and a warn on one point both happen); anything else is "unrecognized" (reported, never enforced).
 */
export function actionsAt(c: ParsedConstraint, point: string): readonly string[] | undefined {
  if (c.enforcementAction !== 'scoped') return SINGLE_ACTIONS.get(c.enforcementAction) ?? SINGLE_ACTIONS.get('unrecognized');
  // Called for every constraint of every review: the answer per point is computed once per constraint.
  let byPoint = scopedCache.get(c);
  if (!byPoint) scopedCache.set(c, (byPoint = new Map()));
  if (byPoint.has(point)) return byPoint.get(point);
  const actions = [...new Set(c.scoped.filter((s) => s.points.includes(point) || s.points.includes('*')).map((s) => s.action))];
  const sorted = actions.length ? Object.freeze(actions.sort((a, b) => (severity[b] ?? 0) - (severity[a] ?? 0))) : undefined;
  byPoint.set(point, sorted);
  return sorted;
}

const SINGLE_ACTIONS = new Map<string, readonly string[]>([...KNOWN_ACTIONS, 'unrecognized'].map((a) => [a, Object.freeze([a])]));
const scopedCache = new WeakMap<ParsedConstraint, Map<string, readonly string[] | undefined>>();

/** The strictest action at an enforcement point (see actionsAt). */
export function effectiveAction(c: ParsedConstraint, point: string): string | undefined {
  return actionsAt(c, point)?.[0];
}
