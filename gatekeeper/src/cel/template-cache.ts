// Compiled CEL templates by source: a template re-added unchanged (a restart of the policy folder, gator suites that
// load the same template for every test, the eval workers' copies of one template) is parsed and planned once.
import type { Logger } from 'pino';
import { DEFAULT_CEL_COST_LIMIT } from './cost.js';
import { CelTemplate } from './program.js';
import { parseCelSource, type FailurePolicy } from './source.js';

const CACHE_LIMIT = 500;

/** The engine's CEL settings. */
export interface CelOptions {
  costLimit?: number;
  defaultFailurePolicy?: FailurePolicy;
}

/** The settings, checked (an Error names the bad one). */
export function checkCelOptions(o: CelOptions): CelOptions {
  if (o.costLimit !== undefined && !(Number.isInteger(o.costLimit) && o.costLimit >= 1)) throw new Error(`celCostLimit must be a positive integer, got ${o.costLimit}`);
  if (o.defaultFailurePolicy !== undefined && o.defaultFailurePolicy !== 'Fail' && o.defaultFailurePolicy !== 'Ignore') {
    throw new Error(`celDefaultFailurePolicy must be Fail or Ignore, got ${String(o.defaultFailurePolicy)}`);
  }
  return o;
}
const cache = new Map<string, CelTemplate>();

/** The compiled template for a K8sNativeValidation `source`; throws CelSourceError when Gatekeeper would reject it. */
export function compileCelTemplate(rawSource: unknown, costLimit = DEFAULT_CEL_COST_LIMIT, defaultFailurePolicy: FailurePolicy = 'Fail'): CelTemplate {
  const key = `${costLimit}\0${defaultFailurePolicy}\0${JSON.stringify(rawSource)}`;
  let t = cache.get(key);
  if (!t) {
    t = new CelTemplate(parseCelSource(rawSource, defaultFailurePolicy), costLimit);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(key, t);
  }
  return t;
}

/**
 * The engine's entry: the compiled template, or the error that refuses it (named after the template). Expressions that
 * do not compile are only logged: they load, and evaluate to their error, as in Gatekeeper.
 */
export function loadCelTemplate(
  name: string,
  rawSource: unknown,
  opts: CelOptions & { logger?: Logger },
): { cel?: CelTemplate; errors: string[] } {
  const logger = opts.logger;
  try {
    const cel = compileCelTemplate(rawSource, opts.costLimit, opts.defaultFailurePolicy);
    const compileErrors = cel.compileErrors();
    if (compileErrors.length) logger?.warn({ template: name, errors: compileErrors }, 'CEL expressions do not compile; their evaluations are errors (failurePolicy applies)');
    return { cel, errors: [] };
  } catch (e) {
    return { errors: [`template ${name}: ${(e as Error).message}`] };
  }
}
