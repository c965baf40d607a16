// The ~500-byte record the exporter benchmarks send: a violation_admission as the engine exports it, padded.
export function benchRecord(idPrefix: string, conn: number, i: number): string {
  const base = {
    schemaVersion: '1',
    decisionId: `${idPrefix}-${conn}-${i}`,
    timestamp: '2026-11-24T10:00:00.000Z',
    eventType: 'violation_admission',
    constraint_kind: 'K8sRequiredLabels',
    constraint_name: 'must-have-owner',
    constraint_action: 'deny',
    resource_kind: 'Pod',
    resource_namespace: 'team-payments',
    resource_name: `checkout-7d9f8c6b5-${String(i).padStart(6, '0')}`,
    request_username: 'system:serviceaccount:kube-system:replicaset-controller',
    message: 'you must provide labels: {"owner"}',
    pad: '',
  };
  base.pad = 'x'.repeat(Math.max(0, 500 - JSON.stringify(base).length));
  return JSON.stringify(base);
}
