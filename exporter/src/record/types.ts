export const EVENT_TYPES = [
  'admission_decision',
  'violation_admission',
  'violation_audited',
  'audit_started',
  'audit_completed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * A decision record. A superset of Gatekeeper's export message (every Gatekeeper field keeps its name and meaning),
 * plus the fields Gatekeeper lacks: a unique decisionId per record, the audit run id, allowed admissions.
 */
export interface DecisionRecord {
  schemaVersion?: string;
  decisionId: string;
  timestamp: string;
  eventType: EventType | string;
  [field: string]: unknown;
}
