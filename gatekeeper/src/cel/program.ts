// A K8sNativeValidation template compiled once and evaluated per constraint and review, as Gatekeeper's k8scel driver
// hands it to Kubernetes' validator (k8s.io/apiserver .../policy/validating/validator.go): match conditions first,
// then every validation, messages as the validator forms them, errors under the failure policy, one cost budget per
// constraint.
import { celError, celMap, isCelError, type CelResult, type CelValue } from '@bufbuild/cel';
import { NAMESPACE_TYPE, REQUEST_TYPE } from './check/declarations.js';
import { structOf, BOOL, DYN, STRING, type CheckType } from './check/types.js';
import { compileExpression, type Compiled } from './compile.js';
import { CostMeter, DEFAULT_CEL_COST_LIMIT, metered } from './cost.js';
import { templateEnv } from './env.js';
import type { CelSource } from './source.js';
import { toCelInput } from './values.js';

/** Kubernetes' cap on a messageExpression's result (celconfig.MaxEvaluatedMessageExpressionSizeBytes). */
const MAX_MESSAGE_BYTES = 5 * 1024;
const OUT_OF_BUDGET = 'validation failed due to running out of cost budget, no further validation rules will be run';
/** The variables Kubernetes declares for a policy's expressions (compile.go), `variables` aside. */
const BASE_DECLARATIONS: Array<[string, CheckType]> = [
  ['object', DYN],
  ['oldObject', DYN],
  ['request', REQUEST_TYPE],
  ['namespaceObject', NAMESPACE_TYPE],
];

/** The parts of one review every CEL template reads, converted once. */
export interface CelReview {
  object: CelValue;
  oldObject: CelValue;
  request: CelValue;
  anyObject: CelValue;
  namespaceObject: CelValue;
}

/** The parts of one constraint a CEL template reads, converted once per constraint. */
export interface CelConstraint {
  /** variables.params: spec.parameters (after schema defaults), null when the constraint has none. */
  params: CelValue;
  /** `params` while variables are evaluated: the whole constraint. */
  constraint: CelValue;
}

interface ReviewLike {
  operation?: string;
  object?: unknown;
  oldObject?: unknown;
  kind?: unknown;
  resource?: unknown;
}

/** Fields of a Namespace's metadata Kubernetes exposes as namespaceObject (cel.CreateNamespaceObject). */
const NAMESPACE_META = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'finalizers'];

/** The review as CEL variables; on DELETE `object` is null (Kubernetes' form), variables.anyObject is oldObject then. */
export function celReview(req: ReviewLike, namespace: unknown): CelReview {
  const object = req.operation === 'DELETE' || req.object === undefined ? null : toCelInput(req.object);
  const oldObject = req.oldObject === undefined ? null : toCelInput(req.oldObject);
  const { object: _o, oldObject: _old, source: _s, uid: _u, ...rest } = req as ReviewLike & Record<string, unknown>;
  const request = toCelInput({ requestKind: req.kind, requestResource: req.resource, ...rest });
  let namespaceObject: CelValue = null;
  if (namespace && typeof namespace === 'object') {
    const ns = namespace as { metadata?: Record<string, unknown>; spec?: unknown; status?: unknown };
    const metadata = Object.fromEntries(NAMESPACE_META.filter((k) => ns.metadata?.[k] !== undefined).map((k) => [k, ns.metadata![k]]));
    namespaceObject = toCelInput({ metadata, spec: ns.spec ?? {}, status: ns.status ?? {} });
  }
  return { object, oldObject, request, anyObject: object === null ? oldObject : object, namespaceObject };
}

/** The constraint as CEL variables; `parameters` is what the engine evaluates with (schema defaults applied). */
export function celConstraint(raw: Record<string, any>, parameters: unknown): CelConstraint {
  const has = raw.spec?.parameters !== undefined && raw.spec?.parameters !== null;
  const constraint = has ? { ...raw, spec: { ...raw.spec, parameters } } : raw;
  return { params: has ? toCelInput(parameters) : null, constraint: toCelInput(constraint) };
}

/** cel-go's wording for what @bufbuild/cel says differently. */
function celGoMessage(e: Error): string {
  const m = /^field not found: (.*)$/s.exec(e.message);
  return m ? `no such key: ${m[1]}` : e.message;
}

type Outcome = { value: CelValue } | { error: string };

export class CelTemplate {
  readonly engine = 'cel' as const;
  private readonly variables: Array<{ name: string; compiled: Compiled }>;
  private readonly matchConditions: Array<{ expression: string; compiled: Compiled }>;
  private readonly validations: Array<{ expression: string; message: string; compiled: Compiled; messageExpression?: Compiled }>;
  /** Activation prototype: `variables.<name>` getters that evaluate a variable once per evaluation. */
  private readonly proto: object;

  constructor(
    readonly source: CelSource,
    private readonly costLimit = DEFAULT_CEL_COST_LIMIT,
  ) {
    const env = templateEnv();
    // Kubernetes' `variables` object type grows as each variable compiles (composition.go): a variable sees those
    // before it, typed by their output type (dyn when it does not compile); Gatekeeper's anyObject and params first.
    const fields: Record<string, CheckType> = { anyObject: DYN, params: DYN };
    const declarations = (extra: Array<[string, CheckType]>) => new Map([...BASE_DECLARATIONS, ...extra, ['variables', structOf('kubernetes.variables', { ...fields })]]);
    this.variables = source.variables.map((v) => {
      const compiled = compileExpression(env, v.expression, declarations([['params', DYN]]));
      fields[v.name] = compiled.ok ? compiled.type : DYN;
      return { name: v.name, compiled };
    });
    const decl = declarations([]);
    this.matchConditions = source.matchConditions.map((m) => ({ expression: m.expression, compiled: compileExpression(env, m.expression, decl, BOOL) }));
    this.validations = source.validations.map((v) => ({
      expression: v.expression,
      message: v.message,
      compiled: compileExpression(env, v.expression, decl, BOOL),
      ...(v.messageExpression ? { messageExpression: compileExpression(env, v.messageExpression, decl, STRING) } : {}),
    }));
    const proto: Record<string, unknown> = {};
    this.variables.forEach((v, i) => {
      Object.defineProperty(proto, `variables.${v.name}`, {
        get(this: Bindings) {
          return this.__activation.variable(i);
        },
      });
    });
    Object.defineProperty(proto, 'variables', {
      get(this: Bindings) {
        return this.__activation.allVariables();
      },
    });
    this.proto = proto;
  }

  /** Compile errors of the template's expressions (they do not stop it loading: see compile.ts). */
  compileErrors(): string[] {
    const all = [...this.variables, ...this.matchConditions, ...this.validations].map((x) => x.compiled);
    const messages = this.validations.flatMap((v) => (v.messageExpression ? [v.messageExpression] : []));
    return [...all, ...messages].flatMap((c) => (c.ok ? [] : [c.error]));
  }

  /** The violation messages of one constraint for one review. */
  evaluate(review: CelReview, constraint: CelConstraint): Array<{ msg: string }> {
    const meter = new CostMeter(this.costLimit);
    const ctx = new Activation(this, this.proto, review, constraint);
    return metered(meter, () => this.decide(ctx, meter));
  }

  private failure(message: string): Array<{ msg: string }> {
    return this.source.failurePolicy === 'Fail' ? [{ msg: message }] : [];
  }

  private decide(ctx: Activation, meter: CostMeter): Array<{ msg: string }> {
    const matchErrors: string[] = [];
    for (const m of this.matchConditions) {
      const r = run(m.compiled, m.expression, ctx);
      if (meter.exceeded) return this.failure(OUT_OF_BUDGET);
      if ('error' in r) matchErrors.push(r.error);
      else if (r.value !== true) return [];
    }
    if (matchErrors.length) return this.failure(matchErrors.length === 1 ? matchErrors[0]! : `[${matchErrors.join(', ')}]`);

    const results = this.validations.map((v) => run(v.compiled, v.expression, ctx));
    if (meter.exceeded) return this.failure(OUT_OF_BUDGET);
    const out: Array<{ msg: string }> = [];
    results.forEach((r, i) => {
      const v = this.validations[i]!;
      if ('error' in r) out.push(...this.failure(r.error));
      else if (r.value !== true) out.push({ msg: this.message(v, ctx, meter) });
    });
    return out;
  }

  private message(v: CelTemplate['validations'][number], ctx: Activation, meter: CostMeter): string {
    let message = '';
    if (v.messageExpression) {
      const r = run(v.messageExpression, '', ctx);
      if (meter.exceeded) return `failed messageExpression: ${OUT_OF_BUDGET}`;
      if ('value' in r && typeof r.value === 'string') {
        message = r.value.trim();
        if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES || message.includes('\n')) message = '';
      }
    }
    if (!message && v.message) message = v.message.trim();
    return message || `failed expression: ${v.expression.trim()}`;
  }

  /** Evaluates variable i of an activation (used by Activation, memoised there). */
  evaluateVariable(i: number, ctx: Activation): CelResult {
    const v = this.variables[i]!;
    if (!v.compiled.ok) return celError(`composited variable "${v.name}" fails to compile: ${v.compiled.error}`);
    let r: CelResult;
    try {
      r = v.compiled.run(ctx.bindings);
    } catch (e) {
      r = celError(e);
    }
    return isCelError(r) ? celError(`composited variable "${v.name}" fails to evaluate: ${celGoMessage(r)}`) : r;
  }

  get variableNames(): string[] {
    return this.variables.map((v) => v.name);
  }
}

/** One evaluation's variables: the review, the constraint, and the template's variables, each evaluated at most once. */
type Bindings = Record<string, unknown> & { __activation: Activation };

class Activation {
  readonly bindings: Bindings;
  private readonly values: Array<CelResult | undefined> = [];

  constructor(
    private readonly template: CelTemplate,
    proto: object,
    review: CelReview,
    constraint: CelConstraint,
  ) {
    const b = Object.create(proto) as Bindings;
    b.object = review.object;
    b.oldObject = review.oldObject;
    b.request = review.request;
    b.namespaceObject = review.namespaceObject;
    b.params = constraint.constraint;
    b['variables.anyObject'] = review.anyObject;
    b['variables.params'] = constraint.params;
    b.__activation = this;
    this.bindings = b;
  }

  variable(i: number): CelResult {
    let v = this.values[i];
    if (v === undefined) v = this.values[i] = this.template.evaluateVariable(i, this);
    return v;
  }

  allVariables(): CelValue {
    const m = new Map<string, CelValue>([
      ['anyObject', this.bindings['variables.anyObject'] as CelValue],
      ['params', this.bindings['variables.params'] as CelValue],
    ]);
    this.template.variableNames.forEach((name, i) => {
      const v = this.variable(i);
      if (!isCelError(v)) m.set(name, v);
    });
    return celMap(m);
  }
}

function run(compiled: Compiled, expression: string, ctx: Activation): Outcome {
  if (!compiled.ok) return { error: `compilation error: ${compiled.error}` };
  let r: CelResult;
  try {
    r = compiled.run(ctx.bindings);
  } catch (e) {
    r = celError(e);
  }
  if (isCelError(r)) return { error: `expression '${expression}' resulted in error: ${celGoMessage(r)}` };
  return { value: r };
}
