// What the webhook needs to check Gatekeeper's own resources at admission: templates are compiled by an engine of
// their own (same compiler cache as the main one, so the controller's compile that follows is a cache hit), one at a
// time, and never kept; constraints are checked against their template as the policy controller sees it.
import type { PolicyEngine } from '../policy/engine.js';
import type { GatekeeperResourceChecker } from '../webhook/validate-gatekeeper-resources.js';
import type { PolicyController } from './policy-controller.js';

export function resourceChecker(scratch: PolicyEngine, policies: PolicyController): GatekeeperResourceChecker {
  let queue: Promise<unknown> = Promise.resolve();
  const compile = async (obj: unknown): Promise<string[]> => {
    const { kind, errors } = await scratch.upsertTemplate(obj);
    if (kind) scratch.removeTemplate(kind);
    return errors;
  };
  return {
    compileTemplate(obj) {
      const result = queue.then(() => compile(obj));
      queue = result.catch(() => undefined);
      return result;
    },
    templateOf: (kind) => policies.templateOf(kind),
  };
}
