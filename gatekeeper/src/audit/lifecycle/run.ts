// One audit run's view of the lifecycle: it is told every audited object and every violation, and at the end compares
// what it found with the state the previous run left: new pairs are opened, pairs it no longer found are resolved (with
// the reason), pairs it found again are ongoing, pairs it could not check are kept open as they were.
import type { ConstraintRef, Violation } from '../../policy/engine.js';
import type { ResourceIdentity } from '../../export/records.js';
import type { ViolationResolution } from '@gk-exporter/exporter/record';
import { constraintKey, parseResourceKey, resourceKey, type ConstraintState, type LifecycleState, type PairState } from './state.js';

export interface OpenedPair {
  constraint: string;
  resource: string;
  /** The first violation of the pair in this run, with its object's identity. */
  target: ResourceIdentity;
  violation: Violation;
  namespaceLabels?: Record<string, string> | undefined;
}

export interface ResolvedPair {
  constraint: string;
  resource: string;
  enforcementAction: string;
  apiVersion: string;
  firstAuditId: string;
  lastAuditId: string;
  resolution: ViolationResolution;
  /** The exported labels of its namespace, as last seen. */
  namespaceLabels?: Record<string, string>;
}

export interface LifecycleTotals {
  opened: number;
  resolved: number;
  ongoing: number;
  unverified: number;
}

export interface LifecycleOutcome {
  opened: OpenedPair[];
  resolved: ResolvedPair[];
  totals: LifecycleTotals;
  /** Violations of new pairs not opened because the state would hold more than maxPairs. */
  untracked: number;
  next: LifecycleState;
}

/** "<templateHash>#<constraintGeneration>": a change means the template or the constraint changed. */
export function policyTag(c: ConstraintRef): string | undefined {
  return c.policy ? `${c.policy.templateHash}#${c.policy.constraintGeneration ?? ''}` : undefined;
}

export class LifecycleRun {
  /** Resource keys of the open pairs (only these need to be remembered as seen). */
  readonly #wanted = new Set<string>();
  readonly #seen = new Set<string>();
  readonly #unverified = new Set<string>();
  /** Pairs found by this run: constraint key → resource key → [apiVersion, the opened pair if new]. */
  readonly #found = new Map<string, Map<string, { apiVersion: string; opened?: OpenedPair }>>();
  readonly #constraints = new Map<string, ConstraintRef>();
  /** The exported labels of the namespaces this run found violations in. */
  readonly #labels = new Map<string, Record<string, string>>();
  /** New pairs this run may open: maxPairs less the pairs already open (a resolution frees room for the next run). */
  readonly #room: number;
  #openedCount = 0;
  #untracked = 0;

  constructor(
    private readonly previous: LifecycleState,
    readonly auditId: string,
    constraints: ConstraintRef[],
    maxPairs: number,
    /** Keeps the namespace labels that are exported (--export-namespace-labels); none without it. */
    private readonly pickLabels: (labels: Record<string, string> | undefined) => Record<string, string> | undefined = () => undefined,
  ) {
    for (const c of constraints) this.#constraints.set(constraintKey(c.kind, c.name), c);
    let open = 0;
    for (const c of Object.values(previous.constraints)) {
      for (const rk of Object.keys(c.pairs)) {
        this.#wanted.add(rk);
        open++;
      }
    }
    this.#room = Math.max(0, maxPairs - open);
  }

  /** Every object the audit evaluates (a pair whose object was not audited resolves as resource_gone). */
  audited(target: ResourceIdentity): void {
    if (!this.#wanted.size) return;
    const rk = resourceKey(target);
    if (this.#wanted.has(rk)) this.#seen.add(rk);
  }

  /** An object whose evaluation failed: its open pairs stay open, unchecked. */
  unverified(target: ResourceIdentity): void {
    const rk = resourceKey(target);
    if (this.#wanted.has(rk)) this.#unverified.add(rk);
  }

  violation(target: ResourceIdentity, v: Violation, namespaceLabels?: Record<string, string>): void {
    const ck = constraintKey(v.constraint.kind, v.constraint.name);
    const rk = resourceKey(target);
    if (target.namespace && namespaceLabels && !this.#labels.has(target.namespace)) {
      const picked = this.pickLabels(namespaceLabels);
      if (picked) this.#labels.set(target.namespace, picked);
    }
    let byResource = this.#found.get(ck);
    if (!byResource) this.#found.set(ck, (byResource = new Map()));
    if (byResource.has(rk)) return;
    if (this.previous.constraints[ck]?.pairs[rk]) {
      byResource.set(rk, { apiVersion: target.version });
      return;
    }
    // Held until the run ends (its record goes out then), so bounded by the room left, not by the violations found.
    if (this.#openedCount >= this.#room) {
      this.#untracked++;
      return;
    }
    this.#openedCount++;
    byResource.set(rk, { apiVersion: target.version, opened: { constraint: ck, resource: rk, target, violation: v, namespaceLabels } });
  }

  /** unverifiedKind: kinds the run could not list (their pairs stay open, unchecked). */
  finish(unverifiedKind: (group: string, kind: string) => boolean = () => false): LifecycleOutcome {
    const prev = this.previous;
    const next: LifecycleState = { format: prev.format, auditId: this.auditId, constraints: {} };
    const resolved: ResolvedPair[] = [];
    let ongoing = 0;
    let unverified = 0;
    const stateOf = (ck: string, action: string): ConstraintState => {
      const c = this.#constraints.get(ck);
      const tag = c ? policyTag(c) : undefined;
      return (next.constraints[ck] ??= { ...(tag ? { policy: tag } : {}), enforcementAction: c?.enforcementAction || action, pairs: {} });
    };

    for (const [ck, pc] of Object.entries(prev.constraints)) {
      const now = this.#constraints.get(ck);
      const found = this.#found.get(ck);
      for (const [rk, p] of Object.entries(pc.pairs)) {
        const lastAuditId = p[2] ?? prev.auditId;
        if (found?.has(rk)) {
          ongoing++;
          stateOf(ck, pc.enforcementAction).pairs[rk] = [p[0], found.get(rk)!.apiVersion];
          continue;
        }
        const { group, kind } = parseResourceKey(rk);
        if (now && (this.#unverified.has(rk) || unverifiedKind(group, kind))) {
          unverified++;
          stateOf(ck, pc.enforcementAction).pairs[rk] = [p[0], p[1], lastAuditId];
          continue;
        }
        const resolution: ViolationResolution = !now
          ? 'constraint_removed'
          : !this.#seen.has(rk)
            ? 'resource_gone'
            : pc.policy !== undefined && policyTag(now) !== pc.policy
              ? 'policy_changed'
              : 'fixed';
        const labels = this.#labelsOf(rk);
        resolved.push({ constraint: ck, resource: rk, enforcementAction: pc.enforcementAction, apiVersion: p[1], firstAuditId: p[0], lastAuditId, resolution, ...(labels ? { namespaceLabels: labels } : {}) });
      }
    }

    const opened: OpenedPair[] = [];
    for (const [ck, byResource] of this.#found) {
      for (const [rk, f] of byResource) {
        if (!f.opened) continue;
        opened.push(f.opened);
        stateOf(ck, f.opened.violation.constraint.enforcementAction || f.opened.violation.enforcementAction).pairs[rk] = [this.auditId, f.apiVersion];
      }
    }
    for (const c of Object.values(next.constraints)) {
      for (const rk of Object.keys(c.pairs)) {
        const labels = this.#labelsOf(rk);
        if (labels) (next.namespaceLabels ??= {})[parseResourceKey(rk).namespace] = labels;
      }
    }
    return { opened, resolved, totals: { opened: opened.length, resolved: resolved.length, ongoing, unverified }, untracked: this.#untracked, next };
  }

  /** The pair's namespace labels: as this run saw them, else as stored. */
  #labelsOf(rk: string): Record<string, string> | undefined {
    const ns = parseResourceKey(rk).namespace;
    return ns ? (this.#labels.get(ns) ?? this.previous.namespaceLabels?.[ns]) : undefined;
  }
}
