// Gatekeeper's Event flags for `gatekeeper run`, and the recorders they turn on (one per component, as Gatekeeper's
// gatekeeper-webhook and gatekeeper-audit sources).
import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { Violation } from '../policy/engine.js';
import type { AdmissionRequest } from '../webhook/admission-review.js';
import type { KubeClient } from './client.js';
import { EventMetrics, EventRecorder } from './events.js';
import { recordAdmissionEvents, recordAuditEvent } from './events-violations.js';

export interface EventFlags {
  emitAdmissionEvents?: boolean;
  admissionEventsInvolvedNamespace?: boolean;
  emitAuditEvents?: boolean;
  auditEventsInvolvedNamespace?: boolean;
}

export interface EventSettings {
  admission: boolean;
  admissionInvolvedNamespace: boolean;
  audit: boolean;
  auditInvolvedNamespace: boolean;
}

const IN_NAMESPACE = "in the violating object's namespace instead of --namespace (cluster-scoped objects: still --namespace)";

export function addEventOptions(cmd: Command): void {
  cmd
    .option('--emit-admission-events', 'create a Kubernetes Event (FailedAdmission, DryrunViolation, WarningAdmission) for each admission violation')
    .option('--admission-events-involved-namespace', `admission Events ${IN_NAMESPACE}`)
    .option('--emit-audit-events', 'create a Kubernetes Event (AuditViolation) for each violation an audit finds')
    .option('--audit-events-involved-namespace', `audit Events ${IN_NAMESPACE}`);
}

export function eventSettings(f: EventFlags): EventSettings {
  return {
    admission: f.emitAdmissionEvents === true,
    admissionInvolvedNamespace: f.admissionEventsInvolvedNamespace === true,
    audit: f.emitAuditEvents === true,
    auditInvolvedNamespace: f.auditEventsInvolvedNamespace === true,
  };
}

export interface ViolationEvents {
  readonly metrics: EventMetrics;
  admission?: (req: AdmissionRequest, object: any, violations: Violation[]) => void;
  audit?: (auditTimestamp: string, object: any, v: Violation) => void;
  close(): Promise<void>;
}

export function startViolationEvents(client: KubeClient, s: EventSettings, gkNamespace: string, logger: Logger): ViolationEvents {
  const metrics = new EventMetrics();
  const recorders: EventRecorder[] = [];
  const recorder = (component: string) => {
    const r = new EventRecorder({ client, component, metrics, logger });
    recorders.push(r);
    return r;
  };
  const events: ViolationEvents = { metrics, close: async () => void (await Promise.all(recorders.map((r) => r.close()))) };
  if (s.admission) {
    const r = recorder('gatekeeper-webhook');
    const placement = { gkNamespace, involvedNamespace: s.admissionInvolvedNamespace };
    events.admission = (req, object, violations) => recordAdmissionEvents(r, placement, req, object, violations);
  }
  if (s.audit) {
    const r = recorder('gatekeeper-audit');
    const placement = { gkNamespace, involvedNamespace: s.auditInvolvedNamespace };
    events.audit = (ts, object, v) => recordAuditEvent(r, placement, ts, object, v);
  }
  return events;
}
