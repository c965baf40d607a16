// The decision record: the unit the engine sends, the queue stores and every sink forwards.
// Contract: proto-docs/record.md and proto-docs/schema/decision-record.v1.schema.json (generated from ./schema.ts).
export { normalizeLine, fullValidator, type NormalizedRecord, type NormalizeResult, type NormalizeOptions, type ValidationMode } from './normalize.js';
export {
  EVENT_TYPES,
  type EventType,
  type DecisionRecord,
  type GatekeeperExportFields,
  type RecordSource,
  type ViolationSummary,
  type ViolationItem,
  type AuditTotals,
  type ClusterIdentity,
  type PolicyProvenance,
  type ImpliedResource,
  type ViolationResolution,
} from './types.js';
export { SCHEMA_VERSION, decisionRecordSchema } from './schema.js';
export { newDecisionId, decisionIdTime } from './id.js';
export {
  buildRecord,
  auditStarted,
  auditCompleted,
  violationAudited,
  violationOpened,
  violationResolved,
  violationAdmission,
  admissionDecision,
  redactObject,
  REDACTED,
  AUDIT_STARTED_MESSAGE,
  AUDIT_COMPLETED_MESSAGE,
  type RecordFields,
} from './builders.js';
