// The violation lifecycle across audits: each run starts from the stored state, is told what the audit finds, and at
// its end sends violation_opened / violation_resolved records, then stores the new state once the exporter has
// acknowledged them: a crash in between, or an exporter that does not acknowledge in time, repeats them in the next run
// (at least once, like every record); none is lost. In a cluster only the audit leader runs audits; a replica that lost the lease mid-run still finishes, and the
// store's optimistic concurrency merges the two writes.
import type { Logger } from 'pino';
import type { DecisionExport } from '../../export/decision-export.js';
import type { AuditRun } from '../../export/records.js';
import type { ConstraintRef } from '../../policy/engine.js';
import { LifecycleRun, type LifecycleTotals } from './run.js';
import type { LifecycleStore } from './store.js';

export const DEFAULT_MAX_PAIRS = 100_000;

export interface ViolationLifecycleOptions {
  store: LifecycleStore;
  /** Open pairs kept at most; new ones past it are not opened (logged). */
  maxPairs?: number;
  logger: Logger;
}

export interface LifecycleResult {
  totals?: LifecycleTotals;
  /** Why the lifecycle could not run or be stored this time. */
  error?: string;
}

export class ViolationLifecycle {
  constructor(private readonly o: ViolationLifecycleOptions) {}

  /** Loads the state for a run; an error (logged) when it cannot be read: the run then has no lifecycle. */
  async begin(run: AuditRun, constraints: ConstraintRef[], exporter?: DecisionExport): Promise<LifecycleRun | { error: string }> {
    try {
      const previous = await this.o.store.load();
      return new LifecycleRun(previous, run.auditId, constraints, this.o.maxPairs ?? DEFAULT_MAX_PAIRS, (labels) => exporter?.exportedNamespaceLabels(labels));
    } catch (e) {
      const error = `violation lifecycle: could not read the state: ${(e as Error).message}`;
      this.o.logger.error(error);
      return { error };
    }
  }

  /** Sends the run's lifecycle records and stores the new state. */
  async complete(
    lifecycle: LifecycleRun,
    run: AuditRun,
    exporter: DecisionExport | undefined,
    unverifiedKind?: (group: string, kind: string) => boolean,
  ): Promise<LifecycleResult> {
    const outcome = lifecycle.finish(unverifiedKind);
    if (outcome.untracked) {
      this.o.logger.warn({ untracked: outcome.untracked, maxPairs: this.o.maxPairs ?? DEFAULT_MAX_PAIRS }, 'violation lifecycle: the state is full; violations of new pairs not opened (--violation-lifecycle-max-pairs)');
    }
    for (const p of outcome.opened) {
      exporter?.violationOpened(run, p.constraint, p.resource, p.target, p.violation, p.namespaceLabels);
      await exporter?.backpressure();
    }
    for (const p of outcome.resolved) {
      exporter?.violationResolved(run, p);
      await exporter?.backpressure();
    }
    if ((outcome.opened.length || outcome.resolved.length) && exporter && !(await exporter.acknowledged())) {
      const error = 'violation lifecycle: the exporter did not acknowledge the lifecycle records in time; the state is kept as it was and the next run sends them again';
      this.o.logger.warn(error);
      return { totals: outcome.totals, error };
    }
    try {
      await this.o.store.save(outcome.next);
      return { totals: outcome.totals };
    } catch (e) {
      const error = `violation lifecycle: could not store the state: ${(e as Error).message}`;
      this.o.logger.error(error);
      return { totals: outcome.totals, error };
    }
  }
}
