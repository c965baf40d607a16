// The audit's use of expansion (Gatekeeper's pkg/audit reviewObjects): an audited object is also reviewed as the
// resources its ExpansionTemplates imply, and their violations are reported against the object itself.
import type { Logger } from 'pino';
import type { ReviewOptions, Violation } from '../policy/engine.js';
import { ExpansionError, type Expander } from './expansion.js';
import { reviewResultants, type Reviewer } from './review-resultants.js';

/**
 * The implied violations of `obj`. An object that cannot be expanded is logged and listed among the run's errors;
 * unlike Gatekeeper, whose audit then drops the object's own results too, those are kept (never fewer violations).
 */
export async function reviewImplied(reviewer: Reviewer, expander: Expander | undefined, obj: any, opts: ReviewOptions, errors: string[], logger: Logger): Promise<Violation[]> {
  if (!expander?.size) return [];
  try {
    return (await reviewResultants(reviewer, expander, obj, opts)).violations;
  } catch (e) {
    if (!(e instanceof ExpansionError)) throw e;
    const meta = obj?.metadata ?? {};
    const msg = `${obj?.kind ?? ''} ${meta.namespace ? meta.namespace + '/' : ''}${meta.name ?? '(no name)'}: unable to expand object: ${e.message}`;
    errors.push(msg);
    logger.error({ err: e.message, objName: meta.name }, 'unable to expand object');
    return [];
  }
}
