// Decision records for the sink tests, shaped like the engine's (Gatekeeper's export fields plus ours).
import { randomUUID } from 'node:crypto';
import type { OutgoingRecord } from '../../exporter/src/sinks/sink.js';

export interface RecordOpts {
  eventType?: string;
  enforcementAction?: string;
  resourceKind?: string;
  resourceNamespace?: string;
  resourceName?: string;
  /** Extra fields merged in. */
  extra?: Record<string, unknown>;
}

let seq = 0;

export function decisionRecord(i: number, o: RecordOpts = {}): Record<string, unknown> {
  return {
    schemaVersion: '1',
    decisionId: randomUUID(),
    timestamp: new Date().toISOString(),
    eventType: o.eventType ?? 'violation_admission',
    id: `2026-11-24T11:00:00Z`,
    group: 'constraints.gatekeeper.sh',
    version: 'v1beta1',
    kind: 'K8sRequiredLabels',
    name: 'must-have-owner',
    message: `you must provide labels: {"owner"} (#${i})`,
    enforcementAction: o.enforcementAction ?? 'deny',
    enforcementActions: [o.enforcementAction ?? 'deny'],
    resourceGroup: '',
    resourceAPIVersion: 'v1',
    resourceKind: o.resourceKind ?? 'ConfigMap',
    resourceNamespace: o.resourceNamespace ?? 'team-a',
    resourceName: o.resourceName ?? `cm-${i}`,
    resourceLabels: { app: 'demo' },
    requestUsername: 'alice@example.com',
    ...o.extra,
  };
}

/** An OutgoingRecord as the queue would hand it to a sink. */
export function outgoing(rec: Record<string, unknown>): OutgoingRecord {
  return { seq: ++seq, decisionId: rec['decisionId'] as string, eventType: rec['eventType'] as string, json: JSON.stringify(rec) };
}

export function batchOf(n: number, o: RecordOpts = {}): OutgoingRecord[] {
  return Array.from({ length: n }, (_, i) => outgoing(decisionRecord(i, o)));
}
