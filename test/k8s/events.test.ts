// Gatekeeper's violation Events against a real kube-apiserver: `gatekeeper run --emit-admission-events
// --emit-audit-events` records FailedAdmission / DryrunViolation / AuditViolation Events with Gatekeeper's annotations,
// in Gatekeeper's namespace or (the involved-namespace flags) in the object's; a burst is cut by client-go's spam
// filter, and the recorder's bounded queue drops what does not fit, both counted.
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { KubeClient } from '../../gatekeeper/src/k8s/client.js';
import { EventMetrics, EventRecorder } from '../../gatekeeper/src/k8s/events.js';
import { bins, repoRoot, sharedDir } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, waitFor, waitReady, type Started } from '../helpers/process.js';
import { startKube, type KubeCluster } from '../peers/kube.js';

const NS = 'gatekeeper-system';
const APPS = 'apps';
let kube: KubeCluster;
let gk: Started | undefined;
let metricsPort: number;

const apply = (o: unknown) => kube.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(o) });
const requiredLabel = (name: string, label: string, action: string) =>
  apply({
    apiVersion: 'constraints.gatekeeper.sh/v1beta1',
    kind: 'K8sRequiredLabels',
    metadata: { name },
    spec: { enforcementAction: action, match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }], namespaces: [APPS] }, parameters: { labels: [{ key: label }] } },
  });
const createConfigMap = (name: string) => kube.api('POST', `/api/v1/namespaces/${APPS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
const events = async (ns: string): Promise<any[]> => (await kube.api('GET', `/api/v1/namespaces/${ns}/events`)).body.items;

/** gatekeeper_kube_events_total by source/result. */
async function eventCounts(): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^gatekeeper_kube_events_total\{source="([^"]+)",result="([^"]+)"\} (\d+)/gm)) out[`${m[1]}/${m[2]}`] = Number(m[3]);
  for (const m of text.matchAll(/^gatekeeper_kube_events_queued\{source="([^"]+)"\} (\d+)/gm)) out[`${m[1]}/queued`] = Number(m[2]);
  return out;
}

async function startGatekeeper(extra: string[]): Promise<void> {
  await stopGatekeeper(); // one left running by a test that failed before its own stop
  const port = await freePort();
  metricsPort = await freePort();
  // failurePolicy Fail: a created ConfigMap was allowed by the webhook, never let through by a skipped call.
  await apply({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'gatekeeper-validating-webhook-configuration' },
    webhooks: [{
      name: 'validation.gatekeeper.sh',
      admissionReviewVersions: ['v1'],
      clientConfig: { url: `https://127.0.0.1:${port}/v1/admit` },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'], scope: 'Namespaced' }],
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': APPS } },
      failurePolicy: 'Fail',
      sideEffects: 'None',
      timeoutSeconds: 10,
    }],
  });
  gk = start(process.execPath, [
    bins.gatekeeper, 'run', '--kubeconfig', kube.kubeconfig, '--namespace', NS, '--pod-name', 'events-0',
    '--default-create-vap-for-templates=false', // the webhook and audit are under test, not the API server's own enforcement
    '--host', '127.0.0.1', '--port', String(port), '--metrics-port', String(metricsPort), '--cert-host', '127.0.0.1',
    '--audit-interval', '2', '--no-leader-election', '--emit-admission-events', '--emit-audit-events', ...extra,
  ]);
  await waitReady('gatekeeper /readyz', gk, `http://127.0.0.1:${metricsPort}/readyz`);
}

/** The webhook denies for the owner constraint (its caBundle in place, the constraint loaded). */
const ownerEnforced = () =>
  waitFor('the owner constraint enforced', async () => {
    const r = await createConfigMap('probe');
    return r.status === 403 && String(r.body.message).includes('[owner]');
  }, 60_000, 250);

async function stopGatekeeper(): Promise<void> {
  await gk?.kill('SIGTERM');
  gk = undefined;
}

t.before(async () => {
  kube = await startKube();
  await kube.kubectlOk(['apply', '-f', path.join(repoRoot, 'gatekeeper/crds')]);
  for (const ns of [NS, APPS]) await kube.kubectlOk(['create', 'namespace', ns]);
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/constrainttemplates.templates.gatekeeper.sh', 'crd/configs.config.gatekeeper.sh', '--timeout=60s']);
  // Audited, never reviewed: it exists before the webhook does.
  await kube.kubectlOk(['create', 'configmap', 'old', '-n', APPS]);
  await kube.kubectlOk(['apply', '-f', path.join(sharedDir, 'gatekeeper-library/general/requiredlabels/template.yaml')]);
});
t.teardown(async () => {
  await stopGatekeeper();
  await kube?.stop();
});

t.test("Gatekeeper's reasons, annotations and messages, in Gatekeeper's namespace by default", async (t) => {
  await startGatekeeper([]);
  await requiredLabel('owner', 'owner', 'deny');
  await requiredLabel('team', 'team', 'dryrun');
  await waitFor('both constraints reviewed', async () => {
    await createConfigMap('probe');
    const reasons = new Set((await events(NS)).filter((e) => e.involvedObject.name === 'probe').map((e) => e.reason));
    return reasons.has('FailedAdmission') && reasons.has('DryrunViolation');
  }, 60_000, 250);
  t.equal((await createConfigMap('web')).status, 403, 'denied');

  const admission = await waitFor('admission Events for web', async () => {
    const found = (await events(NS)).filter((e) => e.involvedObject.name === 'web' && e.source.component === 'gatekeeper-webhook');
    const reasons = new Set(found.map((e) => e.reason));
    return reasons.has('FailedAdmission') && reasons.has('DryrunViolation') ? found : undefined;
  }, 30_000, 250);
  const failed = admission.find((e) => e.reason === 'FailedAdmission' && e.message.includes('missing required label'));
  t.ok(failed, 'FailedAdmission for the deny constraint');
  t.equal(failed.type, 'Warning');
  t.equal(failed.message, 'Admission webhook "validation.gatekeeper.sh" denied request, Resource Namespace: apps, Constraint: owner, Message: missing required label, requires all of: owner');
  t.same(failed.involvedObject, { kind: 'ConfigMap', name: 'web', namespace: NS, uid: 'ConfigMap/apps/web/K8sRequiredLabels//owner' }, "in Gatekeeper's namespace, a uid per violation");
  t.match(failed.metadata.annotations, {
    process: 'admission',
    event_type: 'violation',
    constraint_group: 'constraints.gatekeeper.sh',
    constraint_api_version: 'v1beta1',
    constraint_kind: 'K8sRequiredLabels',
    constraint_name: 'owner',
    constraint_action: 'deny',
    resource_group: '',
    resource_api_version: 'v1',
    resource_kind: 'ConfigMap',
    resource_namespace: APPS,
    resource_name: 'web',
    request_username: 'admin',
  });
  const dryrun = admission.find((e) => e.reason === 'DryrunViolation' && e.message.includes('missing required label'));
  t.equal(dryrun?.message, 'Dryrun violation, Resource Namespace: apps, Constraint: team, Message: missing required label, requires all of: team');

  const audited = await waitFor('AuditViolation for old', async () => (await events(NS)).find((e) => e.reason === 'AuditViolation' && e.involvedObject.name === 'old' && e.metadata.annotations?.constraint_name === 'owner' && e.message.includes('missing required label')), 30_000, 250);
  t.equal(audited.source.component, 'gatekeeper-audit');
  t.equal(audited.message, 'Resource Namespace: apps, Constraint: owner, Message: missing required label, requires all of: owner');
  t.same(audited.involvedObject, { kind: 'ConfigMap', name: 'old', namespace: NS, uid: 'ConfigMap/apps/old/K8sRequiredLabels//owner' });
  t.match(audited.metadata.annotations, { process: 'audit', event_type: 'violation_audited', constraint_action: 'deny', constraint_namespace: '', resource_kind: 'ConfigMap', resource_namespace: APPS, resource_name: 'old' });
  t.match(audited.metadata.annotations.auditTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

t.test("a burst about one object: client-go's 25 per source and object, repeats counted on one Event", async (t) => {
  // The earlier tests' Events must be out of the way first: counted from a quiet recorder.
  const before = await waitFor('earlier Events sent', async () => {
    const c = await eventCounts();
    return !c['gatekeeper-webhook/queued'] && !c['gatekeeper-audit/queued'] ? c : undefined;
  }, 60_000, 250);
  const delta = async (result: string) => ((await eventCounts())[`gatekeeper-webhook/${result}`] ?? 0) - (before[`gatekeeper-webhook/${result}`] ?? 0);
  for (let i = 0; i < 30; i++) t.equal((await createConfigMap('burst')).status, 403, `denied ${i}`);
  // Each request has four violations: owner and team, each with the template's two CEL messages (missing label, regex
  // mismatch). Each constraint is its own involved uid: two buckets of 25 for 120 Events.
  await waitFor('the 120 Events handled', async () => {
    const handled = (await delta('created')) + (await delta('patched')) + (await delta('rate_limited'));
    if (handled > 120) throw new Error(`${handled} handled: ${JSON.stringify(await eventCounts())}`);
    return handled === 120;
  }, 120_000, 250).catch(async (e) => {
    throw new Error(`${(e as Error).message}; counts before ${JSON.stringify(before)}, now ${JSON.stringify(await eventCounts())}`);
  });
  t.equal(await delta('created'), 4, 'one Event per distinct violation');
  t.equal(await delta('patched'), 46, 'the identical repeats count on it');
  t.equal(await delta('rate_limited'), 70, 'past the burst of 25 per constraint, dropped');
  const burst = (await events(NS)).filter((e) => e.involvedObject.name === 'burst');
  t.equal(burst.length, 4);
  t.equal(burst.reduce((n, e) => n + e.count, 0), 50, 'what was accepted is on the four Events');
  await stopGatekeeper();
});

t.test('--admission-events-involved-namespace and --audit-events-involved-namespace: in the object namespace', async (t) => {
  await startGatekeeper(['--admission-events-involved-namespace', '--audit-events-involved-namespace']);
  await ownerEnforced();
  t.equal((await createConfigMap('moved')).status, 403, 'denied');
  const failed = await waitFor('FailedAdmission in apps', async () => (await events(APPS)).find((e) => e.reason === 'FailedAdmission' && e.involvedObject.name === 'moved' && e.message.includes('missing required label')), 30_000, 250);
  t.equal(failed.message, 'Admission webhook "validation.gatekeeper.sh" denied request, Constraint: owner, Message: missing required label, requires all of: owner');
  t.same(failed.involvedObject, { kind: 'ConfigMap', name: 'moved', namespace: APPS }, 'a CREATE has no resourceVersion: no uid either');

  const old = JSON.parse(await kube.kubectlOk(['get', 'configmap', 'old', '-n', APPS, '-o', 'json']));
  const audited = await waitFor('AuditViolation in apps', async () => (await events(APPS)).find((e) => e.reason === 'AuditViolation' && e.metadata.annotations?.constraint_name === 'owner' && e.message.includes('missing required label')), 30_000, 250);
  t.same(audited.involvedObject, { kind: 'ConfigMap', name: 'old', namespace: APPS, uid: old.metadata.uid, resourceVersion: old.metadata.resourceVersion }, "the object's own uid");
  t.equal(audited.message, 'Constraint: owner, Message: missing required label, requires all of: owner');
  await stopGatekeeper();
});

t.test('the queue is bounded: what does not fit is dropped and counted, never waited for', async (t) => {
  const client = await KubeClient.load({ kubeconfig: kube.kubeconfig });
  t.teardown(() => client.close());
  const metrics = new EventMetrics();
  const recorder = new EventRecorder({ client, component: 'events-test', metrics, logger: pino({ level: 'silent' }), queueSize: 5 });
  // The first is taken by the sender at once; 5 wait; 2 do not fit.
  for (let i = 0; i < 8; i++) recorder.warning({ kind: 'ConfigMap', name: `q${i}`, namespace: APPS }, {}, 'Test', `event ${i}`);
  await recorder.idle();
  const values = (await metrics.events.get()).values;
  const count = (result: string) => values.find((v) => v.labels.result === result)?.value ?? 0;
  t.equal(count('created'), 6);
  t.equal(count('dropped'), 2);
  t.equal((await events(APPS)).filter((e) => e.source.component === 'events-test').length, 6);
  await recorder.close();
});
