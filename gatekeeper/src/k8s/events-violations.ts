// Gatekeeper's violation Events (v3.23, pkg/webhook/policy.go and pkg/audit/manager.go): the same reasons, annotations,
// messages, involvedObject and namespace placement, so that what reads Gatekeeper's Events reads these.
import type { Violation } from '../policy/engine.js';
import type { AdmissionRequest } from '../webhook/admission-review.js';
import type { EventRecorder, ObjectReference } from './events.js';

export const CONSTRAINT_GROUP = 'constraints.gatekeeper.sh';
export const CONSTRAINT_VERSION = 'v1beta1';
const WEBHOOK = 'Admission webhook "validation.gatekeeper.sh"';

export interface ViolationEventSettings {
  /** Gatekeeper's namespace: where the Events go by default. */
  gkNamespace: string;
  /** --admission-events-involved-namespace / --audit-events-involved-namespace: in the object's namespace instead. */
  involvedNamespace: boolean;
}

interface Involved {
  kind: string;
  name: string;
  namespace?: string | undefined;
  uid?: string | undefined;
  resourceVersion?: string | undefined;
}

/**
 * Gatekeeper's getViolationRef. In its namespace, the reference gets a made-up uid per (object, constraint), so that
 * client-go's per-object rate limit applies per violation; in the object's namespace it is the object's own uid, when
 * the object has both a uid and a resourceVersion (not on CREATE). Cluster-scoped objects stay in Gatekeeper's namespace.
 */
export function violationRef(s: ViolationEventSettings, o: Involved, v: Violation): ObjectReference {
  const ref: ObjectReference = { kind: o.kind, name: o.name, namespace: s.involvedNamespace && o.namespace ? o.namespace : s.gkNamespace };
  if (s.involvedNamespace && o.uid && o.resourceVersion) {
    ref.uid = o.uid;
    ref.resourceVersion = o.resourceVersion;
  } else if (!s.involvedNamespace) {
    ref.uid = `${o.kind}/${o.namespace ?? ''}/${o.name}/${v.constraint.kind}//${v.constraint.name}`;
  }
  return ref;
}

/** The constraint_* annotations. constraint_action is the constraint's own (e.g. scoped); the effective one follows. */
function constraintAnnotations(v: Violation): Record<string, string> {
  const own = v.constraint.enforcementAction || v.enforcementAction;
  return {
    constraint_group: CONSTRAINT_GROUP,
    constraint_api_version: CONSTRAINT_VERSION,
    constraint_kind: v.constraint.kind,
    constraint_name: v.constraint.name,
    constraint_action: own,
    constraint_enforcement_actions: own === 'scoped' ? v.enforcementAction : '',
  };
}

function admissionReason(action: string): { reason: string; text: string } {
  if (action === 'dryrun') return { reason: 'DryrunViolation', text: 'Dryrun violation' };
  if (action === 'warn') return { reason: 'WarningAdmission', text: `${WEBHOOK} raised a warning for this request` };
  return { reason: 'FailedAdmission', text: `${WEBHOOK} denied request` };
}

/** --emit-admission-events: one Warning per violation of the review (deny, dryrun and warn alike). */
export function recordAdmissionEvents(recorder: EventRecorder, s: ViolationEventSettings, req: AdmissionRequest, object: any, violations: Violation[]): void {
  if (!violations.length) return;
  const meta = object && typeof object === 'object' ? (object.metadata ?? {}) : {};
  const name: string = req.name || meta.name || '';
  for (const v of violations) {
    const { reason, text } = admissionReason(v.enforcementAction);
    const annotations = {
      process: 'admission',
      event_type: 'violation',
      ...constraintAnnotations(v),
      resource_group: req.kind.group,
      resource_api_version: req.kind.version,
      resource_kind: req.kind.kind,
      resource_namespace: req.namespace ?? '',
      resource_name: name,
      request_username: req.userInfo?.username ?? '',
    };
    const ref = violationRef(s, { kind: req.kind.kind, name, namespace: meta.namespace, uid: meta.uid, resourceVersion: meta.resourceVersion }, v);
    const where = s.involvedNamespace ? '' : `Resource Namespace: ${req.namespace ?? ''}, `;
    recorder.warning(ref, annotations, reason, `${text}, ${where}Constraint: ${v.constraint.name}, Message: ${v.msg}`);
  }
}

/** --emit-audit-events: one AuditViolation Warning per violation found by an audit. */
export function recordAuditEvent(recorder: EventRecorder, s: ViolationEventSettings, auditTimestamp: string, object: any, v: Violation): void {
  const apiVersion: string = typeof object?.apiVersion === 'string' ? object.apiVersion : '';
  const slash = apiVersion.indexOf('/');
  const meta = object?.metadata ?? {};
  const kind: string = object?.kind ?? '';
  const annotations = {
    process: 'audit',
    auditTimestamp,
    event_type: 'violation_audited',
    ...constraintAnnotations(v),
    constraint_namespace: '',
    resource_group: slash >= 0 ? apiVersion.slice(0, slash) : '',
    resource_api_version: slash >= 0 ? apiVersion.slice(slash + 1) : apiVersion,
    resource_kind: kind,
    resource_namespace: meta.namespace ?? '',
    resource_name: meta.name ?? '',
  };
  const ref = violationRef(s, { kind, name: meta.name ?? '', namespace: meta.namespace, uid: meta.uid, resourceVersion: meta.resourceVersion }, v);
  const where = s.involvedNamespace ? '' : `Resource Namespace: ${meta.namespace ?? ''}, `;
  recorder.warning(ref, annotations, 'AuditViolation', `${where}Constraint: ${v.constraint.name}, Message: ${v.msg}`);
}
