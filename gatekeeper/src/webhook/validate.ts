// /v1/admit: evaluates an AdmissionRequest against every matching constraint and answers as Gatekeeper's validating webhook.
import type { Logger } from 'pino';
import { ReviewDeadlineError, type ReviewOptions, type ReviewRequest, type ReviewResult, type Violation } from '../policy/engine.js';
import type { AdmissionOutcome } from '../export/records.js';
import {
  allowedResponse,
  deniedResponse,
  erroredResponse,
  objectUnderReview,
  type AdmissionRequest,
  type AdmissionResponse,
} from './admission-review.js';
import type { NamespaceSource } from '../match/match.js';
import { ExpansionError, type Expander } from '../expansion/expansion.js';
import { reviewResultants, type Reviewer } from '../expansion/review-resultants.js';
import type { NamespaceExemptions } from './namespaces.js';

export const VALIDATION_ENFORCEMENT_POINT = 'validation.gatekeeper.sh';

export class EvaluationDeadlineError extends Error {
  constructor(ms: number) {
    super(`policy evaluation exceeded the deadline of ${ms} ms`);
    this.name = 'EvaluationDeadlineError';
  }
}

export type { Reviewer };

export interface ValidateOptions {
  engine: Reviewer;
  logger: Logger;
  exemptions: NamespaceExemptions;
  /** Per-request evaluation deadline (ms). */
  deadlineMs: number;
  logDenies: boolean;
  /** Without it, namespaceSelector falls back to data.inventory (the Config's sync list). */
  namespaces?: NamespaceSource;
  /** The ExpansionTemplates in force: the request's object is also reviewed as the resources they imply. */
  expander?: () => Expander | undefined;
}

export interface ValidateResult {
  response: AdmissionResponse;
  outcome: AdmissionOutcome;
  /** The object the policies saw (oldObject on DELETE). */
  object: any;
  status: 'allow' | 'deny' | 'error';
}

export function toReviewRequest(req: AdmissionRequest, object: any): ReviewRequest {
  const r: ReviewRequest = { uid: req.uid, kind: req.kind };
  if (req.resource) r.resource = req.resource;
  if (req.subResource) r.subResource = req.subResource;
  const name = req.name || object?.metadata?.name;
  if (name) r.name = name;
  if (req.namespace) r.namespace = req.namespace;
  if (req.operation) r.operation = req.operation;
  if (req.userInfo) r.userInfo = req.userInfo;
  if (object !== undefined) r.object = object;
  if (req.oldObject !== undefined && req.oldObject !== null) r.oldObject = req.oldObject;
  if (req.dryRun !== undefined) r.dryRun = req.dryRun;
  if (req.options !== undefined) r.options = req.options;
  return r;
}

async function reviewWithDeadline(deadlineMs: number, namespace: ReviewOptions['namespace'], run: (opts: ReviewOptions) => Promise<ReviewResult>): Promise<ReviewResult> {
  // The engine checks the deadline between constraints; the timer also covers an engine stuck awaiting something.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EvaluationDeadlineError(deadlineMs)), deadlineMs);
  });
  try {
    const opts: ReviewOptions = { enforcementPoint: VALIDATION_ENFORCEMENT_POINT, deadlineMs };
    if (namespace !== undefined) opts.namespace = namespace;
    return await Promise.race([run(opts), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The request, then the resources its object implies (ExpansionTemplates), merged into one result as Gatekeeper does. */
async function reviewAdmission(req: AdmissionRequest, object: any, engine: Reviewer, expander: Expander | undefined, opts: ReviewOptions): Promise<ReviewResult> {
  const result = await engine.review(toReviewRequest(req, object), opts);
  if (!expander?.size || !object) return result;
  let implied;
  try {
    // Gatekeeper clears the namespace of a Namespace request (server-side apply sets it to the Namespace's name).
    const isNamespace = req.kind.group === '' && req.kind.kind === 'Namespace';
    implied = await reviewResultants(engine, expander, object, opts, { operation: req.operation, ...(isNamespace ? {} : { namespace: req.namespace }), kind: req.kind });
  } catch (e) {
    if (e instanceof ExpansionError) throw new Error(`unable to expand object: ${e.message}`);
    throw e;
  }
  return {
    ...result,
    violations: [...result.violations, ...implied.violations],
    evaluatedConstraints: result.evaluatedConstraints + implied.evaluatedConstraints,
    durationMs: result.durationMs + implied.durationMs,
  };
}

/** Gatekeeper's form: `[constraint-name] message`. */
export function formatViolation(v: Violation): string {
  return `[${v.constraint.name}] ${v.msg}`;
}

export async function validate(req: AdmissionRequest, opts: ValidateOptions): Promise<ValidateResult> {
  const started = performance.now();
  const object = objectUnderReview(req);
  const namespace = req.namespace || object?.metadata?.namespace;
  // A Namespace object is exempt when its own name is.
  const exemptName = req.kind.group === '' && req.kind.kind === 'Namespace' ? req.name || object?.metadata?.name : namespace;
  if (opts.exemptions.isExempt(exemptName)) {
    return {
      response: allowedResponse(req.uid, undefined, `namespace ${exemptName} is exempt`),
      outcome: { allowed: true, warnings: [], violations: [], evaluatedConstraints: 0, durationMs: performance.now() - started, exempt: true },
      object,
      status: 'allow',
    };
  }

  let result: ReviewResult;
  try {
    const namespaced = !!req.namespace && !(req.kind.group === '' && req.kind.kind === 'Namespace');
    const nsObject = namespaced && opts.namespaces ? await opts.namespaces.get(req.namespace!) : undefined;
    const expander = opts.expander?.();
    result = await reviewWithDeadline(opts.deadlineMs, nsObject, (reviewOpts) => reviewAdmission(req, object, opts.engine, expander, reviewOpts));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const timedOut = e instanceof EvaluationDeadlineError || e instanceof ReviewDeadlineError;
    opts.logger.error({ uid: req.uid, err: message }, timedOut ? 'evaluation deadline exceeded' : 'evaluation failed');
    return {
      response: erroredResponse(req.uid, 500, message),
      outcome: { allowed: false, message, warnings: [], violations: [], evaluatedConstraints: 0, durationMs: performance.now() - started, error: message },
      object,
      status: 'error',
    };
  }

  const denies: string[] = [];
  const warnings: string[] = [];
  for (const v of result.violations) {
    // A scoped constraint may both deny and warn at this point: every action applies.
    const actions = v.enforcementActions ?? [v.enforcementAction];
    if (actions.includes('deny')) denies.push(formatViolation(v));
    if (actions.includes('warn')) warnings.push(formatViolation(v));
    if (opts.logDenies && actions.some((a) => a === 'deny' || a === 'dryrun' || a === 'warn')) {
      logDenial(opts.logger, req, object, v);
    }
  }
  const durationMs = performance.now() - started;
  const common = { warnings, violations: result.violations, evaluatedConstraints: result.evaluatedConstraints, durationMs, namespaceLabels: result.namespaceLabels };
  const unmatched = result.violations.filter((v) => v.autoreject);
  if (unmatched.length) {
    // Gatekeeper cannot review a request whose Namespace it cannot read: an error, whatever the constraint's action.
    const message = unmatched.map(formatViolation).join('\n');
    opts.logger.error({ uid: req.uid, namespace: req.namespace, err: message }, 'constraints could not be matched');
    return {
      response: erroredResponse(req.uid, 500, message),
      outcome: { allowed: false, message, ...common, error: message },
      object,
      status: 'error',
    };
  }
  if (denies.length) {
    const message = denies.join('\n');
    return { response: deniedResponse(req.uid, message, warnings), outcome: { allowed: false, message, ...common }, object, status: 'deny' };
  }
  return { response: allowedResponse(req.uid, warnings), outcome: { allowed: true, ...common }, object, status: 'allow' };
}

/** The fields Gatekeeper logs with --log-denies. */
function logDenial(logger: Logger, req: AdmissionRequest, object: any, v: Violation): void {
  logger.info(
    {
      process: 'admission',
      event_type: 'violation',
      constraint_name: v.constraint.name,
      constraint_group: 'constraints.gatekeeper.sh',
      constraint_api_version: 'v1beta1',
      constraint_kind: v.constraint.kind,
      constraint_action: v.enforcementActions ? 'scoped' : v.enforcementAction,
      ...(v.enforcementActions ? { constraint_enforcement_actions: v.enforcementActions } : {}),
      resource_group: req.kind.group,
      resource_api_version: req.kind.version,
      resource_kind: req.kind.kind,
      resource_namespace: req.namespace || object?.metadata?.namespace,
      resource_name: req.name || object?.metadata?.name,
      request_username: req.userInfo?.username,
    },
    v.msg,
  );
}
