// Reviewing what a generator implies, written once for every caller (verify, test, the webhook, the audit), as
// Gatekeeper's webhook (pkg/webhook/policy.go reviewRequest) and audit (pkg/audit reviewObjects) do: the generator is
// expanded, each resultant is reviewed with source Generated, the generator's operation and Namespace, and its results
// are added to the generator's with `[Implied by <template>]` and the template's enforcementAction.
import type { ReviewOptions, ReviewRequest, ReviewResult, Violation } from '../policy/engine.js';
import { reviewFromObject, splitApiVersion } from '../policy/load.js';
import { impliedViolations, type Expander } from './expansion.js';

/** What evaluates a review: the engine, or the webhook's pool of evaluation workers. */
export interface Reviewer {
  review(req: ReviewRequest, opts: ReviewOptions): Promise<ReviewResult>;
}

/** What a generator's resultants add to its own review. */
export interface ResultantsReview {
  violations: Violation[];
  evaluatedConstraints: number;
  durationMs: number;
  /** How many resources the generator implied. */
  resultants: number;
}

export interface GeneratorContext {
  /** The admission operation (CREATE, UPDATE, DELETE...); the audit has none. */
  operation?: string;
  /** The request's namespace, which Gatekeeper's webhook writes into the generator before expanding it. */
  namespace?: string;
  /** The request's kind, which Gatekeeper's webhook sets as the generator's GVK. */
  kind?: { group: string; version: string; kind: string };
}

/**
 * Expands `generator` and reviews every resultant. An empty expander costs nothing. Throws the ExpansionError of a
 * generator that cannot be expanded (its template's source field missing...): each caller handles it as Gatekeeper does.
 */
export async function reviewResultants(
  reviewer: Reviewer,
  expander: Expander | undefined,
  generator: unknown,
  opts: ReviewOptions,
  ctx: GeneratorContext = {},
): Promise<ResultantsReview> {
  const out: ResultantsReview = { violations: [], evaluatedConstraints: 0, durationMs: 0, resultants: 0 };
  if (!expander?.size || !generator || typeof generator !== 'object') return out;
  let obj = generator as Record<string, any>;
  if (ctx.namespace || ctx.kind) {
    obj = { ...obj, metadata: { ...(obj.metadata ?? {}) } };
    if (ctx.namespace) obj.metadata.namespace = ctx.namespace;
    if (ctx.kind) {
      const current = splitApiVersion(obj.apiVersion);
      if (current.group !== ctx.kind.group || current.version !== ctx.kind.version) obj.apiVersion = ctx.kind.group ? `${ctx.kind.group}/${ctx.kind.version}` : ctx.kind.version;
      obj.kind = ctx.kind.kind;
    }
  }
  for (const r of expander.expand(obj)) {
    const req: ReviewRequest = { ...reviewFromObject(r.obj), source: 'Generated' };
    if (ctx.operation) req.operation = ctx.operation;
    const result = await reviewer.review(req, opts);
    out.violations.push(...impliedViolations(r, result.violations));
    out.evaluatedConstraints += result.evaluatedConstraints;
    out.durationMs += result.durationMs;
    out.resultants++;
  }
  return out;
}
