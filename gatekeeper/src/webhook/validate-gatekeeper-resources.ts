// Gatekeeper's own resources at admission, as its validation.gatekeeper.sh webhook checks them: a ConstraintTemplate
// whose Rego does not compile, whose schema is invalid or whose name is not its kind in lowercase is rejected, and so
// is a constraint whose parameters do not fit its template's schema or whose enforcementAction is unknown, and an
// ExpansionTemplate Gatekeeper's expansion system would refuse. Nothing is
// loaded here: the controllers load what the API server stores.
import { ConstraintError, parseConstraint } from '../policy/constraint.js';
import { parseTemplate } from '../templates/template.js';
import { EXPANSION_GROUP, ExpansionError, parseExpansionTemplate } from '../expansion/expansion.js';
import type { AdmissionRequest } from './admission-review.js';

export const TEMPLATES_GROUP = 'templates.gatekeeper.sh';
export const CONSTRAINTS_GROUP = 'constraints.gatekeeper.sh';
/** Gatekeeper's supported enforcement actions. */
export const ENFORCEMENT_ACTIONS = ['deny', 'dryrun', 'warn', 'scoped'] as const;
const SCOPED_ACTIONS: unknown[] = ['deny', 'dryrun', 'warn'];
/** Gatekeeper's resources (its isGatekeeperResource) but status.gatekeeper.sh, whose names are generated. */
const NAMED_GROUPS = new Set([TEMPLATES_GROUP, CONSTRAINTS_GROUP, 'mutations.gatekeeper.sh', 'config.gatekeeper.sh', 'externaldata.gatekeeper.sh', EXPANSION_GROUP]);

export interface GatekeeperResourceChecker {
  /** Compiles a template (with the engine's compiler and cache) without loading it; its errors, [] when it is valid. */
  compileTemplate(obj: unknown): Promise<string[]>;
  /** The ConstraintTemplate defining a constraint kind, as the controllers know it. */
  templateOf(kind: string): unknown;
}

/** Why the request must be rejected, or undefined (not a Gatekeeper resource, a DELETE, or valid). */
export async function checkGatekeeperResource(req: AdmissionRequest, checker: GatekeeperResourceChecker): Promise<string | undefined> {
  if (req.operation === 'DELETE' || !req.object || typeof req.object !== 'object') return undefined;
  if (NAMED_GROUPS.has(req.kind.group)) {
    // Gatekeeper's check: status objects aside, its resources' names must fit a label value.
    const name = String(req.name || (req.object as { metadata?: { name?: unknown } }).metadata?.name || '');
    if (name.length > 63) return `resource cannot have metadata.name larger than 63 char; length: ${name.length}`;
  }
  if (req.kind.group === TEMPLATES_GROUP && req.kind.kind === 'ConstraintTemplate') return checkTemplate(req.object, checker);
  if (req.kind.group === CONSTRAINTS_GROUP) return checkConstraint(req.kind.kind, req.object, checker);
  if (req.kind.group === EXPANSION_GROUP && req.kind.kind === 'ExpansionTemplate') return checkExpansionTemplate(req.object);
  return undefined;
}

/** Gatekeeper's ValidateTemplate (names, source, generatedGVK, applyTo, no self-edge). */
function checkExpansionTemplate(obj: any): string | undefined {
  try {
    parseExpansionTemplate(obj);
  } catch (e) {
    if (e instanceof ExpansionError) return e.message;
    throw e;
  }
  return undefined;
}

async function checkTemplate(obj: any, checker: GatekeeperResourceChecker): Promise<string | undefined> {
  const name = obj.metadata?.name;
  const kind = obj.spec?.crd?.spec?.names?.kind;
  if (typeof kind === 'string' && typeof name === 'string' && kind.toLowerCase() !== name) {
    return `ConstraintTemplate ${name}: its name must be the lowercase of its kind ${kind} ("${kind.toLowerCase()}")`;
  }
  const errors = await checker.compileTemplate(obj);
  return errors.length ? errors.join('; ') : undefined;
}

function checkConstraint(kind: string, obj: any, checker: GatekeeperResourceChecker): string | undefined {
  const label = `${kind}/${obj.metadata?.name ?? '(no name)'}`;
  const spec = obj.spec ?? {};
  const action: unknown = spec.enforcementAction || 'deny';
  if (!(ENFORCEMENT_ACTIONS as readonly unknown[]).includes(action)) {
    return `constraint ${label}: enforcementAction ${JSON.stringify(action)} is not supported; use one of ${ENFORCEMENT_ACTIONS.join(', ')}`;
  }
  if (action === 'scoped' && Array.isArray(spec.scopedEnforcementActions)) {
    for (const s of spec.scopedEnforcementActions) {
      if (!SCOPED_ACTIONS.includes(s?.action)) {
        return `constraint ${label}: scopedEnforcementActions action ${JSON.stringify(s?.action)} is not supported; use one of ${SCOPED_ACTIONS.join(', ')}`;
      }
    }
  }
  const template = checker.templateOf(kind);
  if (!template) return undefined; // without its template the API server does not serve the kind at all
  let schema: { name: string; schema?: Record<string, unknown> };
  try {
    const parsed = parseTemplate(template);
    schema = { name: parsed.name, ...(parsed.schema ? { schema: parsed.schema } : {}) };
  } catch {
    return undefined; // a broken template is reported on the template
  }
  try {
    parseConstraint(obj, schema);
  } catch (e) {
    if (e instanceof ConstraintError) return e.message;
    throw e;
  }
  return undefined;
}
