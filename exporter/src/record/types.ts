export const EVENT_TYPES = [
  'admission_decision',
  'violation_admission',
  'violation_audited',
  'audit_started',
  'audit_completed',
  'violation_opened',
  'violation_resolved',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface RecordSource {
  component?: string;
  pod?: string;
  namespace?: string;
  node?: string;
  /** The engine replica: its pod name, else its host name. */
  replica?: string;
  version?: string;
  cluster?: ClusterIdentity;
}

/** The cluster the engine runs in, as configured (--cluster-name, --cluster-label). */
export interface ClusterIdentity {
  name?: string;
  labels?: Record<string, string>;
}

/** Which version of which policy produced a violation (computed by the engine when the policy loads). */
export interface PolicyProvenance {
  /** ConstraintTemplate name. */
  template: string;
  /** The template's metadata.generation, when it has one. */
  templateGeneration?: number;
  /** "sha256:" + hex digest of the template's spec (keys sorted). */
  templateHash: string;
  /** The constraint's metadata.generation, when it has one. */
  constraintGeneration?: number;
}

/** A violation of a resource an ExpansionTemplate implies: the template and the generated resource. */
export interface ImpliedResource {
  /** The ExpansionTemplate's name (the message's `[Implied by <template>]`). */
  template: string;
  resourceGroup?: string;
  resourceAPIVersion?: string;
  resourceKind?: string;
  resourceNamespace?: string;
  resourceName?: string;
}

export interface ViolationItem {
  constraintKind?: string;
  constraintName?: string;
  enforcementAction?: string;
  message?: string;
  /** The engine that evaluated the constraint's template: rego or cel. */
  engine?: string;
  policy?: PolicyProvenance;
  implied?: ImpliedResource;
}

export interface ViolationSummary {
  total: number;
  byAction?: Record<string, number>;
  items?: ViolationItem[];
  truncated?: boolean;
}

export interface AuditTotals {
  constraints?: number;
  objects?: number;
  violations?: number;
  byAction?: Record<string, number>;
  exported?: number;
  durationSeconds?: number;
  /** Violation lifecycle: (constraint, resource) pairs first found by this run. */
  opened?: number;
  /** Violation lifecycle: pairs open before this run that it no longer found. */
  resolved?: number;
  /** Violation lifecycle: pairs open before this run that it found again. */
  ongoing?: number;
  /** Violation lifecycle: open pairs kept open unchecked (their object or kind could not be audited this run). */
  unverified?: number;
}

/** Why a violation_resolved record was sent. */
export type ViolationResolution = 'fixed' | 'resource_gone' | 'constraint_removed' | 'policy_changed';

/** Gatekeeper's export message: every field keeps its name and meaning (proto-docs/gatekeeper-compat.md). */
export interface GatekeeperExportFields {
  id?: string;
  details?: unknown;
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  message?: string;
  enforcementAction?: string;
  enforcementActions?: string[];
  constraintAnnotations?: Record<string, string>;
  resourceGroup?: string;
  resourceAPIVersion?: string;
  resourceKind?: string;
  resourceNamespace?: string;
  resourceName?: string;
  resourceLabels?: Record<string, string>;
  operation?: string;
  requestResource?: string | { group?: string; version?: string; resource?: string };
  requestSubresource?: string;
  requestUsername?: string;
  requestUserUID?: string;
  requestUserGroups?: string[];
  dryRun?: boolean;
}

/**
 * A decision record. A superset of Gatekeeper's export message (every Gatekeeper field keeps its name and meaning),
 * plus the fields Gatekeeper lacks: a unique decisionId per record, the audit run id, allowed admissions.
 */
export interface DecisionRecord extends GatekeeperExportFields {
  schemaVersion?: string;
  decisionId: string;
  timestamp: string;
  eventType: EventType | (string & {});
  auditId?: string;
  admissionUID?: string;
  /** violation records: the engine that evaluated the constraint's template (rego or cel). */
  engine?: string;
  /** violation records: the template (name, generation, content hash) and constraint generation that decided. */
  policy?: PolicyProvenance;
  /** violation records: found on a resource an ExpansionTemplate implies (the message starts `[Implied by <template>]`). */
  implied?: ImpliedResource;
  /** The labels of the reviewed object's namespace, restricted to the engine's allow-list (--export-namespace-labels). */
  namespaceLabels?: Record<string, string>;
  allowed?: boolean;
  violations?: ViolationSummary;
  totals?: AuditTotals;
  source?: RecordSource;
  object?: Record<string, unknown>;
  redactedPaths?: string[];
  /** violation_opened / violation_resolved: the (constraint, resource) pair, stable across runs. */
  violationKey?: string;
  /** violation_opened / violation_resolved: when an audit first found the pair (that run's start, RFC 3339). */
  firstSeen?: string;
  /** violation_opened / violation_resolved: the audit run that first found the pair. */
  firstAuditId?: string;
  /** violation_resolved: the last audit run that still found the pair. */
  lastAuditId?: string;
  /** violation_resolved: why the pair no longer violates. */
  resolution?: ViolationResolution;
  [field: string]: unknown;
}
