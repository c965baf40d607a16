// spec.match of a constraint, as Gatekeeper's pkg/mutation/match evaluates it: every matcher present must pass, against
// the object or (for UPDATE/DELETE) the old object.
import { selectorMatches, validateSelector, type LabelSelector } from './label-selector.js';
import { wildcardMatches, wildcardMatchesGenerateName } from './wildcard.js';

export interface ConstraintMatch {
  kinds?: Array<{ apiGroups?: string[]; kinds?: string[] }>;
  scope?: string;
  namespaces?: string[];
  excludedNamespaces?: string[];
  labelSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  name?: string;
  source?: string;
}

export class MatchError extends Error {}

export interface MatchTarget {
  group: string;
  kind: string;
  object?: any;
  oldObject?: any;
  /** The request's namespace (input.review.namespace). */
  namespace?: string;
  /** The Namespace object the request's namespace names, when known (inventory / cluster cache). */
  namespaceObject?: any;
  source?: string;
}

/** Where cluster mode finds the Namespace of a namespaced object (a watched cache, then the API) for namespaceSelector. */
export interface NamespaceSource {
  /** The Namespace, or null when it does not exist or cannot be read (the source logs why). */
  get(name: string): Promise<Record<string, any> | null>;
}

const SOURCES = ['All', 'Original', 'Generated'];

/** Validates spec.match (types, selectors, source); returns it typed. */
export function parseMatch(m: unknown): ConstraintMatch {
  if (m === undefined || m === null) return {};
  if (typeof m !== 'object' || Array.isArray(m)) throw new MatchError('spec.match must be an object');
  const match = m as Record<string, unknown>;
  const strList = (key: string) => {
    const v = match[key];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) throw new MatchError(`spec.match.${key} must be a list of strings`);
  };
  strList('namespaces');
  strList('excludedNamespaces');
  if (match.kinds !== undefined) {
    if (!Array.isArray(match.kinds)) throw new MatchError('spec.match.kinds must be a list');
    match.kinds.forEach((k: unknown, i) => {
      if (!k || typeof k !== 'object') throw new MatchError(`spec.match.kinds[${i}] must be an object`);
      for (const f of ['apiGroups', 'kinds'] as const) {
        const v = (k as Record<string, unknown>)[f];
        if (v !== undefined && v !== null && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) {
          throw new MatchError(`spec.match.kinds[${i}].${f} must be a list of strings`);
        }
      }
    });
  }
  if (match.labelSelector != null) validateSelector(match.labelSelector, 'spec.match.labelSelector');
  if (match.namespaceSelector != null) validateSelector(match.namespaceSelector, 'spec.match.namespaceSelector');
  if (match.name !== undefined && typeof match.name !== 'string') throw new MatchError('spec.match.name must be a string');
  if (match.source !== undefined && match.source !== '' && !SOURCES.includes(match.source as string)) {
    throw new MatchError(`spec.match.source ${String(match.source)} is not one of ${SOURCES.join(', ')}`);
  }
  return match as ConstraintMatch;
}

const isNamespaceKind = (t: MatchTarget) => t.kind === 'Namespace' && t.group === '';

function objNamespace(obj: any): string {
  return typeof obj?.metadata?.namespace === 'string' ? obj.metadata.namespace : '';
}

function effectiveNamespace(t: MatchTarget, obj: any): string | undefined {
  if (isNamespaceKind(t)) return obj?.metadata?.name ?? '';
  if (t.namespaceObject) return t.namespaceObject.metadata?.name;
  const ns = objNamespace(obj) || t.namespace || '';
  return ns || undefined; // no namespace: namespaces/excludedNamespaces cannot disqualify
}

/** Gatekeeper's autoreject: the constraint cannot be matched, so it counts as violated (frameworks' ErrAutoreject). */
export interface MatchFailure {
  autoreject: string;
}

const AUTOREJECT = 'unable to match constraints';
const MISSING_NAMESPACE = 'namespace selector for namespace-scoped object but missing Namespace';

/** The message Gatekeeper reports when a matcher errors on the object named `name` (pkg/target/matcher.go). */
function matchingError(name: string, cause: string): MatchFailure {
  return { autoreject: `${AUTOREJECT}: error matching the requested object: ${name} :failed to run Match criteria: ${cause}` };
}

function matchOne(m: ConstraintMatch, t: MatchTarget, obj: any): boolean | MatchFailure {
  if (m.kinds?.length) {
    const ok = m.kinds.some(
      (k) =>
        (!k.kinds?.length || k.kinds.includes('*') || k.kinds.includes(t.kind)) &&
        (!k.apiGroups?.length || k.apiGroups.includes('*') || k.apiGroups.includes(t.group)),
    );
    if (!ok) return false;
  }
  const hasNamespace = objNamespace(obj) !== '' || !!t.namespaceObject || (!!t.namespace && !isNamespaceKind(t));
  if (m.scope === 'Cluster' && !(isNamespaceKind(t) || !hasNamespace)) return false;
  if (m.scope === 'Namespaced' && !(!isNamespaceKind(t) && hasNamespace)) return false;

  if (m.namespaces?.length) {
    const ns = effectiveNamespace(t, obj);
    if (ns !== undefined && !m.namespaces.some((p) => wildcardMatches(p, ns))) return false;
  }
  if (m.excludedNamespaces?.length) {
    const ns = effectiveNamespace(t, obj);
    if (ns !== undefined && m.excludedNamespaces.some((p) => wildcardMatches(p, ns))) return false;
  }
  if (m.labelSelector && !selectorMatches(m.labelSelector, obj?.metadata?.labels)) return false;
  if (m.namespaceSelector) {
    if (isNamespaceKind(t)) {
      if (!selectorMatches(m.namespaceSelector, obj?.metadata?.labels)) return false;
    } else if (t.namespaceObject) {
      if (!selectorMatches(m.namespaceSelector, t.namespaceObject.metadata?.labels)) return false;
    } else if (objNamespace(obj)) {
      // A namespaced object whose Namespace is unknown: Gatekeeper cannot tell, and rejects rather than passes.
      return matchingError(typeof obj?.metadata?.name === 'string' ? obj.metadata.name : '', MISSING_NAMESPACE);
    }
  }
  if (m.name) {
    const name = obj?.metadata?.name ?? '';
    if (!wildcardMatches(m.name, name) && !wildcardMatchesGenerateName(m.name, obj?.metadata?.generateName ?? '')) return false;
  }
  const src = m.source || 'All';
  if (src !== 'All' && src !== (t.source || 'Original')) return false;
  return true;
}

/**
 * True when the constraint's match selects the object or the old object of the review; a MatchFailure when it cannot
 * be told (Gatekeeper then reports the constraint as violated with that message, whatever its template says).
 */
export function matches(m: ConstraintMatch, t: MatchTarget): boolean | MatchFailure {
  const objs = [t.object, t.oldObject].filter((o) => o && typeof o === 'object');
  if (!objs.length) return Object.keys(m).length ? { autoreject: `${AUTOREJECT}: invalid request object: neither object nor old object are defined` } : true;
  for (const o of objs) {
    const r = matchOne(m, t, o);
    if (r) return r;
  }
  return false;
}
