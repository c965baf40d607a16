// A decision record as an OpenTelemetry log record (the OTLP logs data model), and the request in OTLP/JSON.
// The mapping (semantic-convention attributes, severity, timestamps) is documented in proto-docs/sinks/otlp.md.
import { severityOf } from '../kit/severity.js';

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export type Attributes = ReadonlyArray<readonly [string, Json]>;

export interface LogRecordModel {
  readonly timeUnixNano: bigint;
  readonly observedTimeUnixNano: bigint;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly eventName: string;
  /** The whole record, as a structured (kvlist) body. */
  readonly body: Json;
  readonly attributes: Attributes;
}

export const SCOPE_NAME = 'gk-exporter';

/** Kubernetes kinds with a semantic-convention attribute for their name (k8s.<kind>.name). */
const KIND_ATTRIBUTE: Readonly<Record<string, string>> = {
  Pod: 'k8s.pod.name',
  Deployment: 'k8s.deployment.name',
  ReplicaSet: 'k8s.replicaset.name',
  StatefulSet: 'k8s.statefulset.name',
  DaemonSet: 'k8s.daemonset.name',
  Job: 'k8s.job.name',
  CronJob: 'k8s.cronjob.name',
  Node: 'k8s.node.name',
  Namespace: 'k8s.namespace.name',
};

/** Record field -> attribute, for the fields without a semantic convention (gatekeeper.*). */
const RECORD_ATTRIBUTES: ReadonlyArray<readonly [string, string]> = [
  ['decisionId', 'gatekeeper.decision_id'],
  ['eventType', 'gatekeeper.event_type'],
  ['allowed', 'gatekeeper.allowed'],
  ['enforcementAction', 'gatekeeper.enforcement_action'],
  ['kind', 'gatekeeper.constraint.kind'],
  ['name', 'gatekeeper.constraint.name'],
  ['auditId', 'gatekeeper.audit_id'],
  ['admissionUID', 'gatekeeper.admission_uid'],
  ['operation', 'gatekeeper.operation'],
  ['resourceKind', 'k8s.resource.kind'],
  ['resourceName', 'k8s.resource.name'],
  ['requestUsername', 'user.name'],
];

/** RFC 3339 to nanoseconds since the epoch, keeping sub-millisecond digits; undefined when unparsable. */
export function rfc3339Nanos(ts: unknown): bigint | undefined {
  if (typeof ts !== 'string') return undefined;
  const ms = Date.parse(ts);
  if (Number.isNaN(ms)) return undefined;
  const frac = /\.(\d+)/.exec(ts)?.[1] ?? '';
  const subMs = BigInt((frac.slice(3, 9) + '000000').slice(0, 6));
  return BigInt(ms) * 1_000_000n + subMs;
}

export function toLogRecord(json: string, observedNanos: bigint): LogRecordModel {
  const r = JSON.parse(json) as Record<string, Json>;
  const attributes: [string, Json][] = [];
  const ns = r['resourceNamespace'];
  if (typeof ns === 'string' && ns) attributes.push(['k8s.namespace.name', ns]);
  const kindAttr = typeof r['resourceKind'] === 'string' ? KIND_ATTRIBUTE[r['resourceKind']] : undefined;
  if (kindAttr && typeof r['resourceName'] === 'string' && r['resourceName'] && !(kindAttr === 'k8s.namespace.name' && ns)) {
    attributes.push([kindAttr, r['resourceName']]);
  }
  for (const [field, attr] of RECORD_ATTRIBUTES) {
    const v = r[field];
    if (typeof v === 'string' ? v !== '' : typeof v === 'boolean') attributes.push([attr, v as string | boolean]);
  }
  const severity = severityOf(r);
  return {
    timeUnixNano: rfc3339Nanos(r['timestamp']) ?? observedNanos,
    observedTimeUnixNano: observedNanos,
    severityNumber: severity.number,
    severityText: severity.text,
    eventName: typeof r['eventType'] === 'string' ? r['eventType'] : '',
    body: r,
    attributes,
  };
}

function anyValueJson(v: Json): object {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (v === null) return {};
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValueJson) } };
  return { kvlistValue: { values: Object.entries(v).map(([key, x]) => ({ key, value: anyValueJson(x) })) } };
}

const attributesJson = (attrs: Attributes) => attrs.map(([key, v]) => ({ key, value: anyValueJson(v) }));

/** One LogRecord in OTLP/JSON (camelCase names, 64-bit integers as strings, enums as numbers). */
export function logRecordJson(l: LogRecordModel): string {
  return JSON.stringify({
    timeUnixNano: String(l.timeUnixNano),
    observedTimeUnixNano: String(l.observedTimeUnixNano),
    severityNumber: l.severityNumber,
    severityText: l.severityText,
    eventName: l.eventName,
    body: anyValueJson(l.body),
    attributes: attributesJson(l.attributes),
  });
}

/**
 * An ExportLogsServiceRequest in OTLP/JSON as the text before and after its log records (each one logRecordJson's,
 * comma-separated between them): the request's envelope is made once per sink, the records once per batch.
 */
export function requestJsonAround(resource: Attributes): { open: string; close: string } {
  const attributes = JSON.stringify(attributesJson(resource));
  return {
    open: `{"resourceLogs":[{"resource":{"attributes":${attributes}},"scopeLogs":[{"scope":{"name":${JSON.stringify(SCOPE_NAME)}},"logRecords":[`,
    close: ']}]}]}',
  };
}

export interface PartialSuccess {
  readonly rejected: number;
  readonly message: string;
}

/** ExportLogsServiceResponse in OTLP/JSON; an empty body is a full success. */
export function responseJson(body: string): PartialSuccess {
  if (!body.trim()) return { rejected: 0, message: '' };
  const p = (JSON.parse(body) as { partialSuccess?: { rejectedLogRecords?: string | number; errorMessage?: string } }).partialSuccess;
  return { rejected: Number(p?.rejectedLogRecords ?? 0), message: p?.errorMessage ?? '' };
}
