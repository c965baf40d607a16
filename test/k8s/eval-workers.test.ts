// `gatekeeper run --eval-workers 2` against a real kube-apiserver: the webhook evaluates on worker threads, and every
// change the controllers see after start (templates, constraints, their updates and deletions, data synced by the
// Config) reaches the workers, as kubectl observes through the API server.
import path from 'node:path';
import t from 'tap';
import { bins, repoRoot, sharedDir } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, waitFor, type Started, waitReady } from '../helpers/process.js';
import { startKube, type KubeCluster } from '../peers/kube.js';

const library = path.join(sharedDir, 'gatekeeper-library/general');
const NS = 'gatekeeper-system';
const VWC = 'gatekeeper-validating-webhook-configuration';
let kube: KubeCluster;
let gk: Started | undefined;

const apply = (obj: unknown) => kube.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(obj) });
const configMap = (name: string) => kube.kubectl(['create', 'configmap', name, '-n', 'apps', '--from-literal=a=b', '--dry-run=server']);
const service = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'apps' }, spec: { selector: { app: 'shop' }, ports: [{ port: 80 }] } });
const requiredLabel = (key: string) => ({
  apiVersion: 'constraints.gatekeeper.sh/v1beta1',
  kind: 'K8sRequiredLabels',
  metadata: { name: 'cm-label' },
  spec: { match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }], namespaces: ['apps'] }, parameters: { labels: [{ key }] } },
});

async function crdEstablished(name: string): Promise<void> {
  await waitFor(`CRD ${name}`, async () => (await kube.kubectl(['get', 'crd', name])).code === 0, 60_000, 250);
  await kube.kubectlOk(['wait', '--for=condition=Established', `crd/${name}`, '--timeout=60s']);
}

t.before(async () => {
  kube = await startKube();
  await kube.kubectlOk(['apply', '-f', path.join(repoRoot, 'gatekeeper/crds')]);
  for (const ns of [NS, 'apps']) await kube.kubectlOk(['create', 'namespace', ns]);
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/constrainttemplates.templates.gatekeeper.sh', 'crd/configs.config.gatekeeper.sh', '--timeout=60s']);
});
t.teardown(async () => {
  await gk?.kill('SIGTERM');
  await kube?.stop();
});

t.test('policies and synced data pushed to the evaluation workers after start', async (t) => {
  // Services are synced into data.inventory before the process starts: the workers get them in their first snapshot.
  await apply({ apiVersion: 'config.gatekeeper.sh/v1alpha1', kind: 'Config', metadata: { name: 'config', namespace: NS }, spec: { sync: { syncOnly: [{ group: '', version: 'v1', kind: 'Service' }] } } });
  await apply(service('first'));

  const port = await freePort();
  const metricsPort = await freePort();
  // failurePolicy Fail: an answer that is not a denial is an evaluation by the webhook, never a skipped call.
  await apply({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: VWC },
    webhooks: [{
      name: 'validation.gatekeeper.sh',
      admissionReviewVersions: ['v1'],
      clientConfig: { url: `https://127.0.0.1:${port}/v1/admit` },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps', 'services'], scope: 'Namespaced' }],
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'apps' } },
      failurePolicy: 'Fail',
      sideEffects: 'None',
      timeoutSeconds: 10,
    }],
  });
  gk = start(process.execPath, [
    bins.gatekeeper, 'run',
    '--default-create-vap-for-templates=false', // the webhook and audit are under test, not the API server's own enforcement
    '--kubeconfig', kube.kubeconfig,
    '--namespace', NS,
    '--pod-name', 'workers-0',
    '--operation', 'webhook',
    '--eval-workers', '2',
    '--host', '127.0.0.1',
    '--port', String(port),
    '--metrics-port', String(metricsPort),
    '--cert-host', '127.0.0.1',
    '--log-level', 'info',
  ]);
  await waitReady('ready', gk!, `http://127.0.0.1:${metricsPort}/readyz`);
  t.match(gk.output(), /"evalWorkers":2,"msg":"evaluation workers started"/);
  await waitFor('caBundle injected', async () => (await configMap('probe')).code === 0, 30_000, 250);

  // A template and a constraint created after the workers started.
  await kube.kubectlOk(['apply', '-f', path.join(library, 'requiredlabels/template.yaml')]);
  await crdEstablished('k8srequiredlabels.constraints.gatekeeper.sh');
  await apply(requiredLabel('owner'));
  const denied = await waitFor('the new constraint is enforced', async () => {
    const r = await configMap('no-owner');
    return r.code !== 0 ? r : undefined;
  }, 30_000, 250);
  // The template runs on CEL (Gatekeeper's engine order): its messageExpression names the required labels.
  t.match(denied.stderr, /denied the request: \[cm-label\] missing required label, requires all of: owner\n\[cm-label\] regex mismatch/);

  // Its update: the workers evaluate with the new parameters (the message names team, no longer owner).
  await apply(requiredLabel('team'));
  const updated = await waitFor('the updated parameters are used', async () => {
    const r = await configMap('no-team');
    return /requires all of: team\b/.test(r.stderr) ? r : undefined;
  }, 30_000, 250);
  t.match(updated.stderr, /\[cm-label\] missing required label, requires all of: team\n/);
  t.notMatch(updated.stderr, /owner/, 'the old parameters are gone');
  t.equal((await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'has-team', namespace: 'apps', labels: { team: 'a' } } }),
  })).code, 0, 'a ConfigMap with the new label (and without owner) is admitted');

  // A referential template: it sees the Services of the first snapshot and those synced later.
  await kube.kubectlOk(['apply', '-f', path.join(library, 'uniqueserviceselector/template.yaml')]);
  await crdEstablished('k8suniqueserviceselector.constraints.gatekeeper.sh');
  await apply({ apiVersion: 'constraints.gatekeeper.sh/v1beta1', kind: 'K8sUniqueServiceSelector', metadata: { name: 'unique-selector' }, spec: { match: { namespaces: ['apps'] } } });
  const duplicate = await waitFor('a Service duplicating the first one is denied', async () => {
    const r = await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(service('second')) });
    return r.code !== 0 ? r : undefined;
  }, 30_000, 250);
  t.match(duplicate.stderr, /\[unique-selector\] same selector as service <first> in namespace <apps>/);
  await kube.kubectlOk(['delete', 'service', 'first', '-n', 'apps']);
  await waitFor('the deleted Service leaves the inventory', async () => (await kube.kubectl(['apply', '-f', '-'], { input: JSON.stringify(service('second')) })).code === 0, 30_000, 250);
  const third = await waitFor('the Service synced after start is seen', async () => {
    const r = await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(service('third')) });
    return r.code !== 0 ? r : undefined;
  }, 30_000, 250);
  t.match(third.stderr, /same selector as service <second>/);

  // Deletions.
  await kube.kubectlOk(['delete', 'k8srequiredlabels', 'cm-label']);
  await waitFor('the deleted constraint no longer applies', async () => (await configMap('no-labels')).code === 0, 30_000, 250);
  await kube.kubectlOk(['delete', 'constrainttemplate', 'k8suniqueserviceselector']);
  await waitFor('the deleted template no longer applies', async () => (await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(service('third')) })).code === 0, 60_000, 250);
  t.pass('deletions reach the workers');
});
