// The violation lifecycle's state: the (constraint, resource) pairs open after the last audit, each with the run that
// first found it. Kept per constraint so that a removed constraint resolves all its pairs at once, and compact (one short
// array per pair) because it is read and written whole at every audit: its size follows the open violations, not the
// cluster.
import type { ResourceIdentity } from '../../export/records.js';

/** Version of the stored layout; a state of another version is refused with a clear error, never guessed at. */
export const STATE_FORMAT = 1;

/** [firstAuditId, resource apiVersion, lastAuditId when it is not the state's auditId (a pair kept open unchecked)]. */
export type PairState = [string, string] | [string, string, string];

export interface ConstraintState {
  /** The template hash and constraint generation the pairs were found with ("<templateHash>#<generation>"). */
  policy?: string;
  enforcementAction: string;
  /** By resource key ("<group>/<kind>/<namespace>/<name>"). */
  pairs: Record<string, PairState>;
}

export interface LifecycleState {
  format: typeof STATE_FORMAT;
  /** The audit run that wrote this state; a newer run's state wins a conflicting write. */
  auditId: string;
  /** By constraint ("<kind>/<name>"). */
  constraints: Record<string, ConstraintState>;
  /**
   * The exported labels (--export-namespace-labels) of the namespaces of open pairs, as last seen: a resolved record
   * carries them, so that a sink filtering on namespaceLabels (routing per tenant) gets its resolutions too.
   */
  namespaceLabels?: Record<string, Record<string, string>>;
}

export const emptyState = (): LifecycleState => ({ format: STATE_FORMAT, auditId: '', constraints: {} });

/** Names and namespaces cannot hold "/", so the key splits back unambiguously. */
export function resourceKey(r: Pick<ResourceIdentity, 'group' | 'kind' | 'namespace' | 'name'>): string {
  return `${r.group}/${r.kind}/${r.namespace ?? ''}/${r.name ?? ''}`;
}

export function parseResourceKey(key: string): { group: string; kind: string; namespace: string; name: string } {
  const [group = '', kind = '', namespace = '', name = ''] = key.split('/');
  return { group, kind, namespace, name };
}

export const constraintKey = (kind: string, name: string) => `${kind}/${name}`;

/** The pair's id in records and as a Kafka key: "<constraintKind>/<constraintName>:<group>/<kind>/<namespace>/<name>". */
export const violationKey = (constraint: string, resource: string) => `${constraint}:${resource}`;

export function pairCount(s: LifecycleState): number {
  let n = 0;
  for (const c of Object.values(s.constraints)) n += Object.keys(c.pairs).length;
  return n;
}

/** Checks a parsed state; throws an error saying what is wrong (where names the file or object). */
export function validateState(value: unknown, where: string): LifecycleState {
  const bad = (why: string) => new Error(`violation lifecycle state ${where}: ${why}`);
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw bad('not a JSON object');
  const s = value as Partial<LifecycleState>;
  if (s.format !== STATE_FORMAT) throw bad(`format ${JSON.stringify(s.format)} is not ${STATE_FORMAT} (written by another version?)`);
  if (typeof s.auditId !== 'string') throw bad('auditId: must be a string');
  if (!s.constraints || typeof s.constraints !== 'object') throw bad('constraints: must be an object');
  if (s.namespaceLabels !== undefined && (!s.namespaceLabels || typeof s.namespaceLabels !== 'object')) throw bad('namespaceLabels: must be an object');
  for (const [ck, c] of Object.entries(s.constraints)) {
    if (!c || typeof c !== 'object' || !c.pairs || typeof c.pairs !== 'object') throw bad(`constraints["${ck}"].pairs: must be an object`);
    for (const [rk, p] of Object.entries(c.pairs)) {
      if (!Array.isArray(p) || p.length < 2 || p.length > 3 || !p.every((x) => typeof x === 'string')) {
        throw bad(`constraints["${ck}"].pairs["${rk}"]: must be [firstAuditId, apiVersion(, lastAuditId)]`);
      }
    }
  }
  return s as LifecycleState;
}

/**
 * The state to keep when two writers met (a leader change during a run, two audits on one state file): the newer run's
 * state wins, as it saw the cluster later; a pair both know keeps the earlier first sighting.
 */
export function mergeStates(ours: LifecycleState, theirs: LifecycleState): LifecycleState {
  const [winner, other] = theirs.auditId > ours.auditId ? [theirs, ours] : [ours, theirs];
  const out: LifecycleState = structuredClone(winner);
  for (const [ck, c] of Object.entries(out.constraints)) {
    const o = other.constraints[ck];
    if (!o) continue;
    for (const [rk, p] of Object.entries(c.pairs)) {
      const q = o.pairs[rk];
      if (q && q[0] < p[0]) p[0] = q[0];
    }
  }
  for (const [ns, labels] of Object.entries(other.namespaceLabels ?? {})) if (!out.namespaceLabels?.[ns]) (out.namespaceLabels ??= {})[ns] = labels;
  return out;
}

/** A state split into `shards` parts by a hash of the pair, each a state of its own (same auditId). */
export function shardState(s: LifecycleState, shards: number): LifecycleState[] {
  const parts: LifecycleState[] = Array.from({ length: shards }, () => ({ format: STATE_FORMAT, auditId: s.auditId, constraints: {} }));
  for (const [ck, c] of Object.entries(s.constraints)) {
    for (const [rk, p] of Object.entries(c.pairs)) {
      const part = parts[fnv1a(violationKey(ck, rk)) % shards]!;
      const pc = (part.constraints[ck] ??= { ...(c.policy ? { policy: c.policy } : {}), enforcementAction: c.enforcementAction, pairs: {} });
      pc.pairs[rk] = p;
      const ns = parseResourceKey(rk).namespace;
      const labels = s.namespaceLabels?.[ns];
      if (labels) (part.namespaceLabels ??= {})[ns] = labels;
    }
  }
  return parts;
}

/** The union of shards read back (they were written by one run; if not, mergeStates settles each pair). */
export function joinShards(parts: LifecycleState[]): LifecycleState {
  const out = emptyState();
  for (const part of parts) {
    if (part.auditId > out.auditId) out.auditId = part.auditId;
    for (const [ck, c] of Object.entries(part.constraints)) {
      const oc = (out.constraints[ck] ??= { ...(c.policy ? { policy: c.policy } : {}), enforcementAction: c.enforcementAction, pairs: {} });
      for (const [rk, p] of Object.entries(c.pairs)) {
        const q = oc.pairs[rk];
        if (!q || p[0] < q[0]) oc.pairs[rk] = p;
      }
    }
    for (const [ns, labels] of Object.entries(part.namespaceLabels ?? {})) (out.namespaceLabels ??= {})[ns] = labels;
  }
  return out;
}

/** 32-bit FNV-1a: stable across processes and versions (the shard of a pair must not move between runs). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
