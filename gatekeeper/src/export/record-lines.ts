// The records of one admission review as JSON lines, written directly: the webhook's thread builds them for every
// exported review, so nothing here builds a record object. The record builders (records.ts) define the fields; the
// lines are the same text those records serialise to (test/export-records compares them byte for byte).
import { SCHEMA_VERSION, newDecisionId, type RecordSource } from '@gk-exporter/exporter/record';
import type { AdmissionRequest } from '../webhook/admission-review.js';
import {
  CONSTRAINT_GROUP,
  CONSTRAINT_VERSION,
  admissionShared,
  constraintAnnotations,
  impliedField,
  roundedDurationMs,
  setIf,
  verdictFields,
  type AdmissionOutcome,
  type Fields,
} from './records.js';

/** What goes after an admission_decision's own fields (the reviewed object, when exported), as JSON members with a leading comma. */
export type DecisionTail = string;

/** The reviewed object and its redacted paths as the JSON members admissionRecordLines appends to the admission_decision. */
export function objectTail(object: unknown, redactedPaths: string[]): DecisionTail {
  return `,"object":${JSON.stringify(object)}${redactedPaths.length ? `,"redactedPaths":${JSON.stringify(redactedPaths)}` : ''}`;
}

const q = JSON.stringify;

/** The members of a JSON object's text, without its braces. */
function members(fields: Fields): string {
  return JSON.stringify(fields).slice(1, -1);
}

/** toISOString()'s text, its date and time to the second made once a second (a Date's formatting is ~0.5 µs). */
let isoSecond = NaN;
let isoPrefix = '';
export function isoTimestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(ms).toISOString().slice(0, -4); // without "sssZ"
  }
  const milli = ms - second * 1000;
  return `${isoPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/**
 * The verdict's members for the common review (allowed or not, no message, warning, violation, exemption or error):
 * what members(verdictFields(outcome)) gives, without building the objects; undefined for any other.
 */
function plainVerdictMembers(outcome: AdmissionOutcome): string | undefined {
  if (outcome.message || outcome.warnings?.length || outcome.violations.length || outcome.exempt || outcome.error) return undefined;
  const durationMs = roundedDurationMs(outcome);
  if (!Number.isFinite(durationMs) || !Number.isFinite(outcome.evaluatedConstraints)) return undefined;
  return `"violations":{"total":0,"byAction":{}},"evaluatedConstraints":${outcome.evaluatedConstraints},"durationMs":${durationMs}`;
}

/** A process's source is the same object for every review: serialised once (a quarter of the shared fields' cost). */
const sourceMembers = new WeakMap<RecordSource, string>();
function sourceMember(source: RecordSource): string {
  let m = sourceMembers.get(source);
  if (m === undefined) sourceMembers.set(source, (m = `,"source":${JSON.stringify(source)}`));
  return m;
}

/**
 * The records of one review as JSON lines, the admission_decision first: the same fields, values and order as
 * admissionDecisionRecord and violationAdmissionRecord give once serialised (test/export-records compares them), but the
 * request, resource and source fields every record of the review shares are serialised once, and no record object is built.
 * This runs on the webhook's thread for every exported review.
 */
export function admissionRecordLines(
  req: AdmissionRequest,
  object: any,
  outcome: AdmissionOutcome,
  source: RecordSource | undefined,
  now: Date,
  decisionTail: DecisionTail = '',
): string[] {
  const ms = now.getTime();
  const timestamp = isoTimestamp(ms);
  const uid = JSON.stringify(req.uid || timestamp);
  // source comes last among them, as in admissionShared.
  const shared = admissionShared(req, object, undefined, outcome.namespaceLabels);
  // Never empty: dryRun is always there. operation is only there when the request has one.
  const sharedMembers = source ? members(shared) + sourceMember(source) : members(shared);
  const envelope = (eventType: string) =>
    `{"schemaVersion":"${SCHEMA_VERSION}","decisionId":"${newDecisionId(ms)}","timestamp":"${timestamp}","eventType":"${eventType}","id":${uid},`;

  const verdict = plainVerdictMembers(outcome) ?? members(verdictFields(outcome));
  // The builder's operation keeps its place among the request fields when they have it, else it comes after allowed.
  const operation = 'operation' in shared ? '' : `,"operation":${JSON.stringify(req.operation ?? '')}`;
  const lines = [
    `${envelope('admission_decision')}${verdict},${sharedMembers},"admissionUID":${uid},"allowed":${outcome.allowed}${operation}${decisionTail}}`,
  ];
  for (const v of outcome.violations) {
    // Serialised member by member: one JSON.stringify of a whole object per violation cost more than the strings alone.
    const c = v.constraint;
    let own = `"group":"${CONSTRAINT_GROUP}","version":"${CONSTRAINT_VERSION}","kind":${q(c.kind)},"name":${q(c.name)},"enforcementAction":${q(c.enforcementAction || v.enforcementAction)}`;
    if (v.msg) own += `,"message":${q(v.msg)}`;
    if (v.details !== undefined && v.details !== null) own += `,"details":${q(v.details)}`;
    if (c.enforcementAction === 'scoped') own += `,"enforcementActions":[${(v.enforcementActions ?? [v.enforcementAction]).map((a) => q(a)).join(',')}]`;
    if (c.annotations) {
      const annotations: Fields = {};
      setIf(annotations, 'constraintAnnotations', constraintAnnotations(c));
      if ('constraintAnnotations' in annotations) own += `,${members(annotations)}`;
    }
    if (v.engine) own += `,"engine":"${v.engine}"`;
    if (c.policyJson) own += `,"policy":${c.policyJson}`;
    if (v.implied) own += `,"implied":${q(impliedField(v))}`;
    lines.push(`${envelope('violation_admission')}${own},${sharedMembers},"admissionUID":${uid}}`);
  }
  return lines;
}
