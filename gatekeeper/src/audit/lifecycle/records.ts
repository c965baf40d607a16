// violation_opened and violation_resolved records. An opened record is the pair's first violation_audited record of
// the run under another eventType, with the lifecycle fields added (so it carries the message, details, policy and
// resource exactly as the audit exported them); a resolved record is built from the state alone, the object being
// possibly gone.
import { violationResolved, type DecisionRecord, type RecordSource } from '@gk-exporter/exporter/record';
import { CONSTRAINT_GROUP, CONSTRAINT_VERSION, violationAuditedRecord, type AuditRun, type ResourceIdentity } from '../../export/records.js';
import type { Violation } from '../../policy/engine.js';
import type { ResolvedPair } from './run.js';
import { parseResourceKey, violationKey } from './state.js';

export function violationOpenedRecord(run: AuditRun, constraint: string, resource: string, target: ResourceIdentity, v: Violation, source?: RecordSource): DecisionRecord {
  const rec = violationAuditedRecord(run, target, v, source);
  rec.eventType = 'violation_opened';
  rec.violationKey = violationKey(constraint, resource);
  rec.firstSeen = run.startedAt.toISOString();
  rec.firstAuditId = run.auditId;
  return rec;
}

export function violationResolvedRecord(run: AuditRun, pair: ResolvedPair, source?: RecordSource): DecisionRecord {
  const slash = pair.constraint.indexOf('/');
  const r = parseResourceKey(pair.resource);
  return violationResolved({
    auditId: run.auditId,
    violationKey: violationKey(pair.constraint, pair.resource),
    group: CONSTRAINT_GROUP,
    version: CONSTRAINT_VERSION,
    kind: pair.constraint.slice(0, slash),
    name: pair.constraint.slice(slash + 1),
    enforcementAction: pair.enforcementAction,
    ...(r.group ? { resourceGroup: r.group } : {}),
    ...(pair.apiVersion ? { resourceAPIVersion: pair.apiVersion } : {}),
    resourceKind: r.kind,
    ...(r.namespace ? { resourceNamespace: r.namespace } : {}),
    ...(r.name ? { resourceName: r.name } : {}),
    ...(pair.namespaceLabels ? { namespaceLabels: pair.namespaceLabels } : {}),
    firstSeen: firstSeenOf(pair.firstAuditId),
    firstAuditId: pair.firstAuditId,
    lastAuditId: pair.lastAuditId,
    resolution: pair.resolution,
    ...(source ? { source } : {}),
  });
}

/** Audit ids are the run's start time (RFC 3339), so the first sighting is the first run's id read as a time. */
function firstSeenOf(auditId: string): string {
  const t = Date.parse(auditId);
  return Number.isNaN(t) ? auditId : new Date(t).toISOString();
}
