// Compiled CEL templates by source: a template re-added unchanged (a restart of the policy folder, gator suites that
// load the same template for every test, the eval workers' copies of one template) is parsed and planned once.
import type { Logger } from 'pino';
import { DEFAULT_CEL_COST_LIMIT } from './cost.js';
import { CelTemplate } from './program.js';
import { parseCelSource } from './source.js';

const CACHE_LIMIT = 500;
const cache = new Map<string, CelTemplate>();

/** The compiled template for a K8sNativeValidation `source`; throws CelSourceError when Gatekeeper would reject it. */
export function compileCelTemplate(rawSource: unknown, costLimit = DEFAULT_CEL_COST_LIMIT): CelTemplate {
  const key = `${costLimit}\0${JSON.stringify(rawSource)}`;
  let t = cache.get(key);
  if (!t) {
    t = new CelTemplate(parseCelSource(rawSource), costLimit);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(key, t);
  }
  return t;
}

/**
 * The engine's entry: the compiled template, or the error that refuses it (named after the template). Expressions that
 * do not compile are only logged: they load, and evaluate to their error, as in Gatekeeper.
 */
export function loadCelTemplate(name: string, rawSource: unknown, costLimit?: number, logger?: Logger): { cel?: CelTemplate; errors: string[] } {
  try {
    const cel = compileCelTemplate(rawSource, costLimit);
    const compileErrors = cel.compileErrors();
    if (compileErrors.length) logger?.warn({ template: name, errors: compileErrors }, 'CEL expressions do not compile; their evaluations are errors (failurePolicy applies)');
    return { cel, errors: [] };
  } catch (e) {
    return { errors: [`template ${name}: ${(e as Error).message}`] };
  }
}
