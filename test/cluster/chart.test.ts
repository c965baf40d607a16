// The chart's real pods in a real one-node cluster (issue 13): `helm install` of the images built from the
// Dockerfiles, the exporter sidecar delivering to Kafka, the API server denying through the webhook Service, and
// `helm uninstall` leaving no webhook behind. One cluster for the whole file (test/cluster/fixture.ts).
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { stringify } from 'yaml';
import { render } from '../chart/helm.js';
import { peerPath, repoRoot } from '../helpers/peers.js';
import { waitFor } from '../helpers/process.js';
import { pauseImage } from '../peers/cluster.js';
import { kcatReadAll } from '../peers/kafka.js';
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
import { sampleValue, scrapePod, seriesFromScrapes, type Sample } from './metrics.js';

const EXPORTER_METRICS_PORT = 9464;

function execFileSyncText(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
}

function runProgram(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { cwd, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, out: `${stdout}${stderr}` }),
    ),
  );
}

const TOPIC = 'gatekeeper-decisions';
const DEMO = 'demo';
const WEBHOOK_REPLICAS = 2;
const webhookSelector = `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=webhook`;

let env: ChartCluster;
/** What the API server answered for the violating pod through our webhook (scenario 1), for scenario 7. */
let ourDenial: { status: number; message: string } | undefined;

t.before(async () => {
  env = await startChartCluster();
  await env.kafka.createTopic(TOPIC);
  const f = env.timings;
  t.comment(`images ${f.imagesMs} ms, cluster start ${f.clusterStartMs} ms, image import ${f.importMs} ms, Kafka in the namespace ${f.kafkaStartMs} ms`);
});
t.teardown(async () => {
  const t0 = Date.now();
  const phases = await env?.stop();
  t.comment(`teardown ${Date.now() - t0} ms ${JSON.stringify(phases)}`);
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
      sinks: [{ name: 'events', type: 'kafka', brokers: [env.kafkaForPods], topic: TOPIC, retry: { max: '2s' } }],
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
  // And the API server reaches them through the Service (kube-proxy's rules follow the endpoints a moment later):
  // a dry-run of a violating pod (its decision is exported under another name than the ones counted).
  await waitFor('the webhook Service answering the API server', async () => {
    const r = await env.cluster.api('POST', `/api/v1/namespaces/${DEMO}/pods?dryRun=All`, podManifest('probe-dry-run'));
    return r.status === 403;
  }, 120_000, 500);
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
  ourDenial = { status: denied.status, message: denied.body.message };
  t.equal(denied.status, 403, 'the API server refuses the violating pod');
  t.match(denied.body.message, /admission webhook "validation\.gatekeeper\.sh" denied the request: \[pods-need-owner\] you must provide labels/, 'with the webhook\'s Gatekeeper-style message');
  const admitted = await createPod('good-pod', { owner: 'team-a' });
  t.equal(admitted.status, 201, 'the pod with the label is admitted');

  const isPod = (name: string) => (r: DecisionRecord) => r.resourceName === name && r.resourceNamespace === DEMO;
  const [badDecision] = await waitForDecisions(env.kafka, TOPIC, 'decision on bad-pod', (r) => r.eventType === 'admission_decision' && isPod('bad-pod')(r), 1);
  const [badViolation] = await waitForDecisions(env.kafka, TOPIC, 'violation of bad-pod', (r) => r.eventType === 'violation_admission' && isPod('bad-pod')(r), 1);
  const [goodDecision] = await waitForDecisions(env.kafka, TOPIC, 'decision on good-pod', (r) => r.eventType === 'admission_decision' && isPod('good-pod')(r), 1);
  const webhookPodNames = await webhookPods();
  t.match(badDecision, { allowed: false, resourceKind: 'Pod', operation: 'CREATE', requestUsername: 'admin', source: { component: 'webhook', namespace: NAMESPACE } }, 'the denied decision');
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
  const message = (await kcatReadAll(env.kafka.broker, TOPIC)).find((m) => JSON.parse(m.value).decisionId === badDecision!.decisionId)!;
  t.equal(message.key, `${DEMO}/bad-pod`, 'keyed by the reviewed resource');
  t.match(message.headers, { decisionId: badDecision!.decisionId, eventType: 'admission_decision', 'content-type': 'application/json' }, 'with the sink\'s headers');
  t.match(goodDecision, { allowed: true, resourceKind: 'Pod', source: { component: 'webhook' } }, 'the admitted decision');
  t.ok(webhookPodNames.includes(goodDecision!.source.pod), 'made by one of the webhook pods');

  const [audited] = await waitForDecisions(env.kafka, TOPIC, 'audit violation of legacy-pod', (r) => r.eventType === 'violation_audited' && isPod('legacy-pod')(r), 1);
  t.match(audited, { name: 'pods-need-owner', enforcementAction: 'deny', message: /you must provide labels/, resourceKind: 'Pod', source: { component: 'audit' } }, "the audit pod's violation");
  t.match(audited!.source.pod, /-audit-/, 'made by the audit pod');
  t.comment(`helm install --wait ${installMs} ms; scenario ${Date.now() - t0} ms`);
});

/** Sends `count` violating pods named `<prefix>-<i>`; every one must be denied by the webhook (403). */
async function sendDenied(t: Test, prefix: string, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${i}`;
    const r = await createPod(name);
    t.equal(r.status, 403, `${name} denied`);
    names.push(name);
  }
  return names;
}

/** Exactly one decision and one violation per denied pod reached Kafka (distinct decisionIds; resends are allowed). */
async function expectExactlyDelivered(t: Test, names: string[]): Promise<void> {
  const wanted = new Set(names);
  const of = (type: string) => (r: DecisionRecord) => r.eventType === type && r.resourceNamespace === DEMO && wanted.has(r.resourceName);
  const decisions = await waitForDecisions(env.kafka, TOPIC, 'denied decisions', of('admission_decision'), names.length);
  const violations = await waitForDecisions(env.kafka, TOPIC, 'violations', of('violation_admission'), names.length);
  t.equal(decisions.length, names.length, `${names.length} acknowledged decisions delivered, 0 lost`);
  t.equal(violations.length, names.length, `${names.length} violations delivered, 0 lost`);
  t.same([...new Set(decisions.map((d) => d.resourceName))].sort(), [...wanted].sort(), 'one decision for each denied pod');
  t.ok(decisions.every((d) => d.allowed === false), 'all of them denials');
}

async function waitWebhookPodReplaced(name: string, oldUid: string): Promise<void> {
  await waitFor(`${name} replaced and Ready`, async () => {
    const r = await env.cluster.api('GET', `/api/v1/namespaces/${NAMESPACE}/pods/${name}`);
    if (r.status !== 200 || r.body.metadata.uid === oldUid || r.body.metadata.deletionTimestamp) return false;
    return r.body.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
  }, 300_000, 500);
}

async function podUid(name: string): Promise<string> {
  return (await env.cluster.api('GET', `/api/v1/namespaces/${NAMESPACE}/pods/${name}`)).body.metadata.uid;
}

t.test('(5) the exporter metrics scraped from the pods; the chart\'s backlog alert fires while the sink is down and clears after (promtool)', async (t) => {
  const t0 = Date.now();
  const pods = await webhookPods();
  const scrapeAll = async () => Object.fromEntries(await Promise.all(pods.map(async (p) => [p, await scrapePod(env.cluster, NAMESPACE, p, EXPORTER_METRICS_PORT)] as const)));
  const depth = (scrapes: Record<string, Sample[]>) => pods.reduce((sum, p) => sum + (sampleValue(scrapes[p]!, 'exporter_queue_depth', 'sink="events"') ?? 0), 0);
  await env.kafka.kill();
  const names = await sendDenied(t, 'metrics-bad', 3);
  // Each denied review is 2 records (the decision and its violation), queued until the sink is back.
  let down: Record<string, Sample[]> = {};
  await waitFor('the backlog in the exporters\' metrics', async () => depth((down = await scrapeAll())) >= names.length * 2, 120_000, 1000);
  t.ok(depth(down) >= names.length * 2, `exporter_queue_depth{sink="events"} while Kafka is down: ${depth(down)}`);
  await env.kafka.restart();
  await expectExactlyDelivered(t, names);
  let up: Record<string, Sample[]> = {};
  await waitFor('the backlog drained in the metrics', async () => depth((up = await scrapeAll())) === 0, 120_000, 1000);
  t.equal(depth(up), 0, 'exporter_queue_depth{sink="events"} is 0 once Kafka is back');

  const rules = (await render(['monitoring.yaml'], [`prometheusRule.rules.queueBacklog.depth=${names.length}`])).find((o) => o.kind === 'PrometheusRule')!;
  const dir = path.join(env.cluster.dir, 'promtool');
  mkdirSync(dir, { recursive: true });
  const bare = { groups: rules.spec.groups.map((g: any) => ({ ...g, rules: g.rules.map(({ annotations: _a, ...r }: any) => r) })) };
  writeFileSync(path.join(dir, 'rules.yaml'), stringify(bare));
  const backlogPods = pods.filter((p) => (sampleValue(down[p]!, 'exporter_queue_depth', 'sink="events"') ?? 0) > names.length);
  // 3 reviews on 2 replicas: one of them holds at least 2 reviews' 4 records, above the threshold of 3.
  t.not(backlogPods.length, 0, 'a pod holds more records than the (lowered) threshold while Kafka is down');
  const unitTest = {
    rule_files: ['rules.yaml'],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        // What was scraped while Kafka was down, held 15 minutes (the alert's default "for" is 10m), then after.
        input_series: seriesFromScrapes(NAMESPACE, [
          { minutes: 15, scrapes: down },
          { minutes: 15, scrapes: up },
        ]),
        alert_rule_test: [
          {
            eval_time: '14m',
            alertname: 'GkExporterQueueBacklog',
            exp_alerts: backlogPods.map((pod) => ({ exp_labels: { severity: 'warning', namespace: NAMESPACE, pod, sink: 'events' } })),
          },
          { eval_time: '29m', alertname: 'GkExporterQueueBacklog', exp_alerts: [] },
        ],
      },
    ],
  };
  writeFileSync(path.join(dir, 'test.yaml'), stringify(unitTest));
  const promtool = await runProgram(peerPath('promtool'), ['test', 'rules', 'test.yaml'], dir);
  t.equal(promtool.code, 0, `promtool test rules: the backlog alert fires on the scraped backlog and clears after: ${promtool.out}`);
  t.comment(`scenario ${Date.now() - t0} ms`);
});

t.test('(3) a webhook pod deleted and one evicted while the sink is down: every acknowledged decision delivered', async (t) => {
  const t0 = Date.now();
  const [first, second] = await webhookPods();
  await env.kafka.kill();
  const names = await sendDenied(t, 'deleted-bad', 4);
  const firstUid = await podUid(first!);
  await env.cluster.kubectlOk(['-n', NAMESPACE, 'delete', 'pod', first!, '--wait=false']);
  await waitWebhookPodReplaced(first!, firstUid);
  await waitConstraintEnforced();
  names.push(...(await sendDenied(t, 'evicted-bad', 4)));
  const secondUid = await podUid(second!);
  const eviction = await env.cluster.api('POST', `/api/v1/namespaces/${NAMESPACE}/pods/${second}/eviction`, {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name: second, namespace: NAMESPACE },
  });
  t.equal(eviction.status, 201, `${second} evicted (the PodDisruptionBudget allows one)`);
  await waitWebhookPodReplaced(second!, secondUid);
  await waitConstraintEnforced();
  names.push(...(await sendDenied(t, 'after-bad', 2)));
  await env.kafka.restart();
  await expectExactlyDelivered(t, names);
  t.comment(`scenario ${Date.now() - t0} ms`);
});

t.test('(2) helm upgrade rolls the webhook while the sink is down: every acknowledged decision delivered', async (t) => {
  const t0 = Date.now();
  const before = Object.fromEntries(await Promise.all((await webhookPods()).map(async (p) => [p, await podUid(p)] as const)));
  await env.kafka.kill();
  const names = await sendDenied(t, 'upgrade-before', 4);
  await env.helmOk(['upgrade', RELEASE, chartDir, '-n', NAMESPACE, '--reuse-values', '--set-string', `webhook.podAnnotations.rolled=${Date.now()}`, '--wait', '--timeout', '10m']);
  for (const [pod, uid] of Object.entries(before)) await waitWebhookPodReplaced(pod, uid);
  t.pass('every webhook replica was replaced by the upgrade');
  await waitConstraintEnforced();
  names.push(...(await sendDenied(t, 'upgrade-after', 4)));
  await env.kafka.restart();
  await expectExactlyDelivered(t, names);
  t.comment(`scenario ${Date.now() - t0} ms`);
});

t.test('(4) a CEL template with VAP generation: the API server itself denies through the generated ValidatingAdmissionPolicy', async (t) => {
  const t0 = Date.now();
  const template = {
    apiVersion: 'templates.gatekeeper.sh/v1',
    kind: 'ConstraintTemplate',
    metadata: { name: 'k8sownerlabel' },
    spec: {
      crd: { spec: { names: { kind: 'K8sOwnerLabel' }, validation: { openAPIV3Schema: { type: 'object', properties: { key: { type: 'string' } } } } } },
      targets: [{
        target: 'admission.k8s.gatekeeper.sh',
        code: [{
          engine: 'K8sNativeValidation',
          source: {
            generateVAP: true,
            variables: [{ name: 'labels', expression: 'has(variables.anyObject.metadata.labels) ? variables.anyObject.metadata.labels : {}' }],
            validations: [{ expression: 'variables.params.key in variables.labels', messageExpression: '"missing label " + variables.params.key' }],
          },
        }],
      }],
    },
  };
  // Enforced at vap.k8s.io only: the webhook does not enforce it, so a denial can only come from the API server's policy.
  const vapConstraint = {
    apiVersion: 'constraints.gatekeeper.sh/v1beta1',
    kind: 'K8sOwnerLabel',
    metadata: { name: 'configmaps-need-owner' },
    spec: {
      enforcementAction: 'scoped',
      scopedEnforcementActions: [{ action: 'deny', enforcementPoints: [{ name: 'vap.k8s.io' }] }],
      match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }], namespaces: [DEMO] },
      parameters: { key: 'owner' },
    },
  };
  await env.cluster.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(template) });
  await waitFor('the K8sOwnerLabel CRD', async () => (await env.cluster.api('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/k8sownerlabel.constraints.gatekeeper.sh')).status === 200, 120_000, 500);
  await waitFor('the constraint accepted', async () => (await env.cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(vapConstraint) })).code === 0, 120_000, 1000);
  const policy = await waitFor('the generated ValidatingAdmissionPolicy', async () => {
    const r = await env.cluster.api('GET', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/gatekeeper-k8sownerlabel');
    return r.status === 200 ? r.body : undefined;
  }, 180_000, 1000);
  t.same(policy.spec.paramKind, { apiVersion: 'constraints.gatekeeper.sh/v1beta1', kind: 'K8sOwnerLabel' }, 'the policy takes the constraint as its parameters');
  const binding = await waitFor('the generated binding', async () => {
    const r = await env.cluster.api('GET', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings');
    return r.body.items?.find((b: any) => b.spec.policyName === 'gatekeeper-k8sownerlabel');
  }, 180_000, 1000);
  t.same(binding.spec.validationActions, ['Deny'], 'the binding denies');

  const configMap = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: DEMO, labels }, data: { a: 'b' } });
  // The API server may take a moment to load a new policy and binding: retry until it denies.
  let denied: { status: number; body: any } | undefined;
  let attempt = 0;
  await waitFor('the API server enforcing the policy', async () => {
    denied = await env.cluster.api('POST', `/api/v1/namespaces/${DEMO}/configmaps`, configMap(`vap-bad-${attempt++}`));
    return denied.status !== 201;
  }, 120_000, 1000);
  // A validation without a `reason` fails as Invalid: 422, as Kubernetes' ValidatingAdmissionPolicy answers.
  t.equal(denied!.status, 422, 'the violating ConfigMap is refused');
  t.match(denied!.body.message, /ValidatingAdmissionPolicy 'gatekeeper-k8sownerlabel' with binding '[^']+' denied request: missing label owner/, 'by the API server through the generated policy, with the template\'s message');
  const ok = await env.cluster.api('POST', `/api/v1/namespaces/${DEMO}/configmaps`, configMap('vap-good', { owner: 'team-a' }));
  t.equal(ok.status, 201, 'a ConfigMap with the label is admitted');
  t.comment(`scenario ${Date.now() - t0} ms`);
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

t.test('(7) Gatekeeper v3.23 itself, built from its module and installed by its own chart in the same cluster, denies the same pod the same way', async (t) => {
  const t0 = Date.now();
  if (!ourDenial) throw new Error('scenario (1) did not record our denial');
  // Ours is gone (6); its CRDs stay after an uninstall, as Helm does: remove them and the kinds its templates made
  // (those may already be going: garbage-collected with their template), so Gatekeeper's chart installs its own.
  await env.cluster.kubectlOk(['delete', 'constrainttemplates', '--all', '--wait=true'], { timeoutMs: 180_000 });
  const crds = JSON.parse(await env.cluster.kubectlOk(['get', 'crd', '-o', 'json'])).items
    .map((c: any) => c.metadata.name as string)
    .filter((n: string) => n.endsWith('.gatekeeper.sh'));
  if (crds.length) await env.cluster.kubectlOk(['delete', 'crd', ...crds, '--ignore-not-found', '--wait=true'], { timeoutMs: 180_000 });
  await env.cluster.importImage(peerPath('gatekeeper-image'));
  const gkChart = execFileSyncText('bash', [path.join(repoRoot, 'scripts/peers/get-gatekeeper-image.sh'), 'chart']);
  const versions = readFileSync(path.join(repoRoot, 'scripts/peers/versions.env'), 'utf8');
  const setting = (key: string) => versions.match(new RegExp(`^${key}=(.+)$`, 'm'))![1]!.trim();
  const installStart = Date.now();
  await env.helmOk([
    'install', 'gatekeeper', gkChart, '-n', 'gatekeeper-system', '--create-namespace', '--wait', '--timeout', '8m',
    '--set', `image.repository=${setting('GATEKEEPER_UPSTREAM_IMAGE_REPOSITORY')}`,
    '--set', `image.release=${setting('GATEKEEPER_VERSION')}`,
    '--set', 'image.pullPolicy=Never',
    // Hooks that run other images (kubectl, curl, the CRD image): not built here, and not needed for admission.
    '--set', 'postInstall.labelNamespace.enabled=false',
    '--set', 'postInstall.probeWebhook.enabled=false',
    '--set', 'upgradeCRDs.enabled=false',
    '--set', 'replicas=2',
  ]);
  const installMs = Date.now() - installStart;
  await env.cluster.kubectlOk(['apply', '-f', '-'], { input: requiredLabelsTemplate });
  await waitFor('the K8sRequiredLabels CRD from Gatekeeper', async () => (await env.cluster.api('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/k8srequiredlabels.constraints.gatekeeper.sh')).status === 200, 180_000, 500);
  await waitFor('the constraint accepted', async () => (await env.cluster.kubectl(['apply', '-f', '-'], { input: constraint })).code === 0, 120_000, 1000);
  await waitFor('Gatekeeper denying a dry run', async () => (await env.cluster.api('POST', `/api/v1/namespaces/${DEMO}/pods?dryRun=All`, podManifest('bad-pod'))).status === 403, 240_000, 1000);
  const theirs = await createPod('bad-pod');
  t.equal(theirs.status, ourDenial.status, `the same status (${theirs.status})`);
  t.equal(theirs.body.message, ourDenial.message, 'the same message, word for word');
  t.equal((await createPod('good-pod-gatekeeper', { owner: 'team-a' })).status, 201, 'Gatekeeper admits the labelled pod too');
  t.comment(`Gatekeeper's helm install --wait ${installMs} ms; scenario ${Date.now() - t0} ms`);
});
