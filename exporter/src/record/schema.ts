// Source of truth for the record's JSON Schema; proto-docs/schema/decision-record.v1.schema.json is generated from it
// (node exporter/scripts/gen-schema.mjs) and a test fails when the two drift.
// Every Gatekeeper export field keeps its name and meaning (proto-docs/gatekeeper-compat.md); ours are documented in
// proto-docs/record.md. Within major version 1, changes are additive only (proto-docs/versioning.md).

/** The major version this exporter writes and accepts. A record without schemaVersion is taken as this version. */
export const SCHEMA_VERSION = '1';

const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
const count = { type: 'integer', minimum: 0 } as const;
const countsByAction = {
  type: 'object',
  description: 'Counts per enforcement action (deny, dryrun, warn, scoped, ...).',
  additionalProperties: count,
} as const;

const policy = {
  type: 'object',
  description: 'Which version of which policy produced the violation, fixed when the engine loaded the template and constraint.',
  required: ['template', 'templateHash'],
  properties: {
    template: { type: 'string', description: 'The ConstraintTemplate\'s name.' },
    templateGeneration: { ...count, description: 'The template\'s metadata.generation (absent when it has none, e.g. read from a file).' },
    templateHash: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$', description: '"sha256:" and the hex SHA-256 of the template\'s spec serialised with sorted keys.' },
    constraintGeneration: { ...count, description: 'The constraint\'s metadata.generation (absent when it has none).' },
  },
} as const;

const implied = {
  type: 'object',
  description:
    'The violation was found on a resource an ExpansionTemplate implies (Gatekeeper\'s `[Implied by <template>]` results), ' +
    'not on the reviewed object itself: the template, and the generated resource (the record\'s own resource* fields stay the reviewed object\'s, as in Gatekeeper).',
  required: ['template'],
  properties: {
    template: { type: 'string', description: 'The ExpansionTemplate\'s name.' },
    resourceGroup: { type: 'string' },
    resourceAPIVersion: { type: 'string' },
    resourceKind: { type: 'string' },
    resourceNamespace: { type: 'string' },
    resourceName: { type: 'string', description: 'Gatekeeper\'s name for it: `<generator>-<kind>`, lower case.' },
  },
} as const;

const violationSummary = {
  type: 'object',
  description: 'admission_decision: the violations behind the verdict (a summary; one violation_admission record is sent per violation).',
  required: ['total'],
  properties: {
    total: { ...count, description: 'Number of violations.' },
    byAction: countsByAction,
    items: {
      type: 'array',
      description: 'The first violations (the engine caps the list; `truncated` says when it did).',
      items: {
        type: 'object',
        properties: {
          constraintKind: { type: 'string' },
          constraintName: { type: 'string' },
          enforcementAction: { type: 'string' },
          message: { type: 'string' },
          engine: { type: 'string', description: 'The engine that evaluated the constraint\'s template: rego or cel.' },
          policy,
          implied,
        },
      },
    },
    truncated: { type: 'boolean' },
  },
} as const;

const auditTotals = {
  type: 'object',
  description: 'audit_completed: what the audit run did.',
  properties: {
    constraints: { ...count, description: 'Constraints evaluated.' },
    objects: { ...count, description: 'Objects reviewed.' },
    violations: { ...count, description: 'Violations found (all of them, including those not exported).' },
    byAction: countsByAction,
    exported: { ...count, description: 'violation_audited records sent for this run.' },
    durationSeconds: { type: 'number', minimum: 0 },
    opened: { ...count, description: 'Violation lifecycle: (constraint, resource) pairs this run found for the first time (one violation_opened each).' },
    resolved: { ...count, description: 'Violation lifecycle: pairs open before this run that it no longer found (one violation_resolved each).' },
    ongoing: { ...count, description: 'Violation lifecycle: pairs open before this run that it found again.' },
    unverified: { ...count, description: 'Violation lifecycle: open pairs kept open without a check, their object or kind could not be audited by this run.' },
  },
} as const;

const source = {
  type: 'object',
  description: 'Who produced the record.',
  properties: {
    component: { type: 'string', description: 'webhook, audit, ... (free text).' },
    pod: { type: 'string' },
    namespace: { type: 'string' },
    node: { type: 'string' },
    replica: { type: 'string', description: 'The engine replica: its pod name ($POD_NAME), else its host name.' },
    version: { type: 'string', description: 'Version of the producing engine.' },
    cluster: {
      type: 'object',
      description: 'The cluster the engine runs in, as configured (--cluster-name, --cluster-label).',
      properties: { name: { type: 'string' }, labels: stringMap },
    },
  },
} as const;

const groupVersionResource = {
  anyOf: [
    { type: 'string', description: 'group/version/resource' },
    {
      type: 'object',
      properties: { group: { type: 'string' }, version: { type: 'string' }, resource: { type: 'string' } },
    },
  ],
} as const;

/** Field requirements per known eventType (applied by full validation; the hot path checks only the invariants). */
const byEventType = [
  { eventType: 'admission_decision', required: ['allowed', 'admissionUID', 'operation'] },
  { eventType: 'violation_admission', required: ['admissionUID', 'kind', 'name', 'enforcementAction'] },
  { eventType: 'violation_audited', required: ['auditId', 'kind', 'name', 'enforcementAction'] },
  { eventType: 'audit_started', required: ['auditId'] },
  { eventType: 'audit_completed', required: ['auditId', 'totals'] },
  { eventType: 'violation_opened', required: ['auditId', 'violationKey', 'kind', 'name', 'firstSeen', 'firstAuditId'] },
  { eventType: 'violation_resolved', required: ['auditId', 'violationKey', 'kind', 'name', 'firstSeen', 'firstAuditId', 'lastAuditId', 'resolution'] },
] as const;

export const decisionRecordSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://gk-exporter.dev/schema/decision-record.v1.json',
  title: 'Decision record, version 1',
  description:
    'One decision of the policy engine, as the engine sends it to the exporter (one JSON object per line) and as every sink ' +
    'forwards it. A superset of Gatekeeper\'s export message. Unknown fields are allowed and must be kept by consumers.',
  type: 'object',
  required: ['eventType'],
  properties: {
    // --- envelope (ours) ---
    schemaVersion: {
      type: 'string',
      pattern: '^1(\\.[0-9]+)*$',
      description: 'Major version of this schema ("1"). Absent means "1"; the exporter adds it.',
    },
    decisionId: {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      description: 'Unique per record; the key consumers deduplicate on. The engine sends a UUIDv7; the exporter assigns one when absent.',
    },
    timestamp: {
      type: 'string',
      format: 'date-time',
      description: 'RFC 3339 time of the decision (Gatekeeper: admission timestamp). The exporter adds its receive time when absent.',
    },
    eventType: {
      type: 'string',
      minLength: 1,
      maxLength: 128,
      description:
        'violation_audited, violation_admission, admission_decision, audit_started, audit_completed, violation_opened, violation_resolved; consumers must ignore types they do not know.',
    },
    auditId: {
      type: 'string',
      description: 'Id of the audit run; shared by audit_started, every violation_audited, violation_opened, violation_resolved and audit_completed of that run.',
    },
    violationKey: {
      type: 'string',
      minLength: 1,
      description:
        'violation_opened, violation_resolved: the (constraint, resource) pair, "<constraintKind>/<constraintName>:<resourceGroup>/<resourceKind>/<resourceNamespace>/<resourceName>"; the same pair has the same key in every run.',
    },
    firstSeen: {
      type: 'string',
      format: 'date-time',
      description: 'violation_opened, violation_resolved: when an audit first found the pair (the start of that run).',
    },
    firstAuditId: { type: 'string', description: 'violation_opened, violation_resolved: the audit run that first found the pair.' },
    lastAuditId: { type: 'string', description: 'violation_resolved: the last audit run that still found the pair.' },
    resolution: {
      type: 'string',
      description:
        'violation_resolved: why the pair no longer violates: fixed (the object was audited and passes), resource_gone (the object was not among the audited objects: deleted, or out of the audit\'s scope), constraint_removed, policy_changed (the object passes a changed template or constraint). Consumers must accept other values.',
    },
    admissionUID: { type: 'string', description: 'uid of the AdmissionReview request; shared by an admission_decision and its violation_admission records.' },
    engine: {
      type: 'string',
      description: 'violation_admission, violation_audited: the engine that evaluated the constraint\'s template: rego (its Rego) or cel (its K8sNativeValidation block).',
    },
    policy,
    implied,
    namespaceLabels: {
      ...stringMap,
      description: 'The labels of the reviewed object\'s namespace, only the keys the engine is told to export (--export-namespace-labels): for routing per tenant.',
    },
    allowed: { type: 'boolean', description: 'admission_decision: the verdict returned to the API server.' },
    violations: violationSummary,
    totals: auditTotals,
    source,
    object: { type: 'object', description: 'The reviewed object, when the engine is configured to include it (after redaction).' },
    redactedPaths: {
      type: 'array',
      items: { type: 'string' },
      description: 'Paths inside `object` whose values were replaced by "[redacted]".',
    },
    // --- Gatekeeper's export message, same names and meanings ---
    id: { type: 'string', description: 'Gatekeeper: the audit run id (a timestamp) for audit records. Equals auditId (audit) or admissionUID (admission).' },
    details: { description: 'Gatekeeper: the violation details returned by the policy.' },
    group: { type: 'string', description: 'Gatekeeper: API group of the constraint.' },
    version: { type: 'string', description: 'Gatekeeper: API version of the constraint.' },
    kind: { type: 'string', description: 'Gatekeeper: kind of the constraint (the template\'s kind).' },
    name: { type: 'string', description: 'Gatekeeper: name of the constraint.' },
    namespace: { type: 'string', description: 'Gatekeeper: namespace of the constraint (usually empty).' },
    message: { type: 'string', description: 'Gatekeeper: the violation message; "audit is started" / "audit is completed" for run frames.' },
    enforcementAction: { type: 'string', description: 'Gatekeeper: deny, dryrun, warn or scoped.' },
    enforcementActions: { type: 'array', items: { type: 'string' }, description: 'Gatekeeper: scoped enforcement actions.' },
    constraintAnnotations: stringMap,
    resourceGroup: { type: 'string' },
    resourceAPIVersion: { type: 'string' },
    resourceKind: { type: 'string' },
    resourceNamespace: { type: 'string' },
    resourceName: { type: 'string' },
    resourceLabels: stringMap,
    operation: { type: 'string', description: 'Gatekeeper (admission): CREATE, UPDATE, DELETE or CONNECT.' },
    requestResource: groupVersionResource,
    requestSubresource: { type: 'string' },
    requestUsername: { type: 'string' },
    requestUserUID: { type: 'string' },
    requestUserGroups: { type: 'array', items: { type: 'string' } },
    dryRun: { type: 'boolean', description: 'Gatekeeper (admission): the request was a dry run.' },
  },
  additionalProperties: true,
  allOf: byEventType.map(({ eventType, required }) => ({
    if: { properties: { eventType: { const: eventType } }, required: ['eventType'] },
    then: { required: [...required] },
  })),
} as const;
