// The chart's real pods in a real one-node cluster (issue 13): `helm install` of the images built from the
// Dockerfiles, the exporter sidecar delivering to Kafka, the API server denying through the webhook Service, and
// `helm uninstall` leaving no webhook behind. One cluster for the whole file (test/cluster/fixture.ts).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { waitFor } from '../helpers/process.js';
import { pauseImage } from '../peers/cluster.js';
import {
  NAMESPACE,
  RELEASE,
  STORAGE_CLASS,
  chartDir,
  requiredLabelsTemplate,
  startChartCluster,
  waitForDecisions,
  type ChartCluster,
  type DecisionRecord,
} from './fixture.js';

const TOPIC = 'gatekeeper-decisions';
const DEMO = 'demo';
const WEBHOOK_REPLICAS = 2;
const webhookSelector = `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=webhook`;

let env: ChartCluster;

t.before(async () => {
  env = await startChartCluster();
  await env.kafka.createTopic(TOPIC);
  const f = env.timings;
  t.comment(`images ${f.imagesMs} ms, cluster start ${f.clusterStartMs} ms, image import ${f.importMs} ms, Kafka in the namespace ${f.kafkaStartMs} ms`);
});
t.teardown(async () => {
  const t0 = Date.now();
  await env?.stop();
  t.comment(`teardown ${Date.now() - t0} ms`);
});

function valuesFile(name: string, values: unknown): string {
  const file = path.join(env.cluster.dir, `${name}.values.json`);
  writeFileSync(file, JSON.stringify(values), { mode: 0o600 });
  return file;
}

function chartValues(extra: Record<string, unknown> = {}) {
  const small = { requests: { cpu: '10m', memory: '64Mi' } };
  return {
    webhook: { replicas: WEBHOOK_REPLICAS, resources: { ...small, limits: { memory: '512Mi' } } },
    audit: { interval: 5, resources: { ...small, limits: { memory: '1Gi' } } },
    exporter: {
      enabled: true,
      resources: { ...small, limits: { memory: '256Mi' } },
      queue: { webhook: { persistence: { enabled: true, storageClassName: STORAGE_CLASS } } },
      sinks: [{ name: 'events', type: 'kafka', brokers: [env.kafkaForPods], topic: TOPIC, retry: { maxMs: 2000 } }],
    },
    ...extra,
  };
}

const constraint = `
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata: {name: pods-need-owner}
spec:
  enforcementAction: deny
  match:
    kinds: [{apiGroups: [""], kinds: ["Pod"]}]
    namespaces: [${DEMO}]
  parameters:
    labels: [{key: owner}]
`;

function podManifest(name: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: DEMO, labels },
    spec: {
      automountServiceAccountToken: false,
      containers: [{ name: 'pause', image: pauseImage, imagePullPolicy: 'Never' }],
    },
  };
}

async function webhookPods(): Promise<string[]> {
  const pods = JSON.parse(await env.cluster.kubectlOk(['-n', NAMESPACE, 'get', 'pods', '-l', webhookSelector, '-o', 'json']));
  return pods.items.filter((p: any) => !p.metadata.deletionTimestamp).map((p: any) => p.metadata.name as string).sort();
}

/** Pods Ready is not enough: each webhook replica must have loaded the constraint (its status.byPod entry). */
async function waitConstraintEnforced(): Promise<void> {
  await waitFor('every webhook replica enforcing the constraint', async () => {
    const pods = await webhookPods();
    if (pods.length !== WEBHOOK_REPLICAS) return false;
    const r = await env.cluster.api('GET', '/apis/constraints.gatekeeper.sh/v1beta1/k8srequiredlabels/pods-need-owner');
    const byPod: { id: string; enforced?: boolean }[] = r.body?.status?.byPod ?? [];
    return pods.every((p) => byPod.some((e) => e.id === p && e.enforced === true));
  }, 240_000, 500);
}

async function createPod(name: string, labels: Record<string, string> = {}) {
  return env.cluster.api('POST', `/api/v1/namespaces/${DEMO}/pods`, podManifest(name, labels));
}

t.test('(1) helm install with the exporter and a Kafka sink: denied and admitted through the webhook Service, every decision in Kafka', async (t) => {
  const t0 = Date.now();
  await env.cluster.kubectlOk(['create', 'namespace', DEMO]);
  // Admitted before any constraint exists: the audit must report it.
  t.equal((await createPod('legacy-pod')).status, 201, 'a pod without the label, created before the constraint');
  await env.helmOk(['install', RELEASE, chartDir, '-n', NAMESPACE, '--create-namespace', '-f', valuesFile('install', chartValues()), '--wait', '--timeout', '8m']);
  const installMs = Date.now() - t0;
  const pods = JSON.parse(await env.cluster.kubectlOk(['-n', NAMESPACE, 'get', 'pods', '-o', 'json']));
  for (const p of pods.items) {
    t.equal(p.status.phase, 'Running', `${p.metadata.name} Running`);
    const images = [...(p.spec.initContainers ?? []), ...p.spec.containers].map((c: any) => c.image).sort();
    t.same(images, [env.images.exporter, env.images.gatekeeper].sort(), `${p.metadata.name} runs the engine and the exporter images`);
  }
  t.equal((await webhookPods()).length, WEBHOOK_REPLICAS, 'the webhook replicas');

  await env.cluster.kubectlOk(['apply', '-f', '-'], { input: requiredLabelsTemplate });
  await waitFor('the K8sRequiredLabels CRD', async () => (await env.cluster.api('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/k8srequiredlabels.constraints.gatekeeper.sh')).status === 200, 120_000, 500);
  await waitFor('the constraint accepted', async () => (await env.cluster.kubectl(['apply', '-f', '-'], { input: constraint })).code === 0, 120_000, 1000);
  await waitConstraintEnforced();

  const denied = await createPod('bad-pod');
  t.equal(denied.status, 403, 'the API server refuses the violating pod');
  t.match(denied.body.message, /admission webhook "validation\.gatekeeper\.sh" denied the request: \[pods-need-owner\] you must provide labels/, 'with the webhook\'s Gatekeeper-style message');
  const admitted = await createPod('good-pod', { owner: 'team-a' });
  t.equal(admitted.status, 201, 'the pod with the label is admitted');

  const isPod = (name: string) => (r: DecisionRecord) => r.resourceName === name && r.resourceNamespace === DEMO;
  const [badDecision] = await waitForDecisions(env.kafka, TOPIC, 'decision on bad-pod', (r) => r.eventType === 'admission_decision' && isPod('bad-pod')(r), 1);
  const [badViolation] = await waitForDecisions(env.kafka, TOPIC, 'violation of bad-pod', (r) => r.eventType === 'violation_admission' && isPod('bad-pod')(r), 1);
  const [goodDecision] = await waitForDecisions(env.kafka, TOPIC, 'decision on good-pod', (r) => r.eventType === 'admission_decision' && isPod('good-pod')(r), 1);
  const webhookPodNames = await webhookPods();
  t.match(badDecision, { allowed: false, resourceKind: 'Pod', operation: 'CREATE', requestUsername: 'admin', source: { component: 'webhook' } }, 'the denied decision');
  t.ok(webhookPodNames.includes(badDecision!.source.pod), 'made by one of the webhook pods');
  t.match(badViolation, {
    kind: 'K8sRequiredLabels',
    name: 'pods-need-owner',
    enforcementAction: 'deny',
    message: /you must provide labels/,
    resourceKind: 'Pod',
    engine: 'rego',
    policy: { template: 'k8srequiredlabels' },
    admissionUID: badDecision!.admissionUID,
  }, 'its violation, tied to the decision by admissionUID');
  t.match(goodDecision, { allowed: true, resourceKind: 'Pod', source: { component: 'webhook' } }, 'the admitted decision');

  const [audited] = await waitForDecisions(env.kafka, TOPIC, 'audit violation of legacy-pod', (r) => r.eventType === 'violation_audited' && isPod('legacy-pod')(r), 1);
  t.match(audited, { name: 'pods-need-owner', enforcementAction: 'deny', message: /you must provide labels/, source: { component: 'audit' } }, "the audit pod's violation");
  t.comment(`helm install --wait ${installMs} ms; scenario ${Date.now() - t0} ms`);
});

t.test('(6) helm uninstall leaves no webhook configuration behind', async (t) => {
  const t0 = Date.now();
  const ours = async () => {
    const list = JSON.parse(await env.cluster.kubectlOk(['get', 'validatingwebhookconfigurations,mutatingwebhookconfigurations', '-o', 'json']));
    return list.items.map((i: any) => `${i.kind}/${i.metadata.name}`);
  };
  t.not((await ours()).length, 0, 'the release has a webhook configuration while installed');
  await env.helmOk(['uninstall', RELEASE, '-n', NAMESPACE, '--wait', '--timeout', '5m']);
  t.same(await ours(), [], 'no validating or mutating webhook configuration is left');
  const after = await createPod('after-uninstall');
  t.equal(after.status, 201, 'a pod that would violate the (kept) constraint is admitted: nothing blocks the cluster');
  t.comment(`scenario ${Date.now() - t0} ms`);
});
