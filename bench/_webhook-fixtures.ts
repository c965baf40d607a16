// The webhook benchmarks' policies, review and CPU readings (bench/gatekeeper-webhook.ts, bench/gatekeeper-webhook-export.ts).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const library = path.resolve(root, '..', 'shared', 'gatekeeper-library', 'general');

export function opaPath(): string {
  const out = execFileSync('bash', [path.join(root, 'scripts/peers/get-opa.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop()!;
}

/** The 30 library templates, each with the constraint of its first sample. */
export function libraryPolicies(dir: string): { templates: number; constraints: number } {
  mkdirSync(dir, { recursive: true });
  let templates = 0;
  let constraints = 0;
  for (const name of readdirSync(library).sort()) {
    const tpl = path.join(library, name, 'template.yaml');
    if (!existsSync(tpl)) continue;
    copyFileSync(tpl, path.join(dir, `${name}-template.yaml`));
    templates++;
    const samples = path.join(library, name, 'samples');
    const first = existsSync(samples) ? readdirSync(samples).sort().find((s) => existsSync(path.join(samples, s, 'constraint.yaml'))) : undefined;
    if (first) {
      copyFileSync(path.join(samples, first, 'constraint.yaml'), path.join(dir, `${name}-constraint.yaml`));
      constraints++;
    }
  }
  return { templates, constraints };
}

/** The K8sRequiredLabels template and constraint of bench/cluster-gatekeeper.ts (the Pod below violates it). */
export function requiredLabelsPolicies(dir: string): { templates: number; constraints: number } {
  mkdirSync(dir, { recursive: true });
  copyFileSync(path.join(root, 'examples/policies/template-required-labels.yaml'), path.join(dir, 'template.yaml'));
  writeFileSync(
    path.join(dir, 'constraint.yaml'),
    'apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sRequiredLabels\nmetadata: {name: pods-need-tier}\n' +
      'spec:\n  enforcementAction: deny\n  match: {kinds: [{apiGroups: [""], kinds: ["Pod"]}], namespaces: [payments]}\n  parameters: {labels: [{key: tier}]}\n',
  );
  return { templates: 1, constraints: 1 };
}

/** A typical Deployment-made Pod: two containers, labels, resources, probes. */
export function podReview(): object {
  const container = (name: string, image: string) => ({
    name,
    image,
    ports: [{ containerPort: 8080 }],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
    livenessProbe: { httpGet: { path: '/live', port: 8080 } },
    securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true },
  });
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '3b1f4c9e-0000-4000-8000-000000000001',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'payments',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts'] },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'checkout-7d4b9c-x2k8f',
          generateName: 'checkout-7d4b9c-',
          namespace: 'payments',
          labels: { app: 'checkout', 'app.kubernetes.io/name': 'checkout', owner: 'payments-team', 'pod-template-hash': '7d4b9c' },
          annotations: { 'prometheus.io/scrape': 'true' },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'checkout-7d4b9c', uid: 'abc', controller: true }],
        },
        spec: {
          serviceAccountName: 'checkout',
          automountServiceAccountToken: false,
          containers: [container('checkout', 'openpolicyagent/checkout:3.1.0'), container('envoy', 'openpolicyagent/envoy:1.30.1')],
        },
      },
      dryRun: false,
    },
  };
}

/** CPU time (user + system, every thread) the process has used so far, in microseconds; `system` alone with sysOnly. */
export function cpuMicros(pid: number | undefined, sysOnly = false): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((sysOnly ? Number(f[12]) : Number(f[11]) + Number(f[12])) * 1e6) / 100; // utime + stime, USER_HZ 100
  } catch {
    return NaN;
  }
}

/**
 * node's arguments for a loop that keeps a CPU busy and allocates, as the exporter does: run beside the webhook in
 * every case (BENCH_NEIGHBOUR), its interference weighs on export on and off alike.
 */
export const BUSY_LOOP_ARGS: readonly string[] = ['-e', 'let a = []; for (;;) { for (let i = 0; i < 1e5; i++) a.push({ i, s: "v" + i }); a = []; }'];
