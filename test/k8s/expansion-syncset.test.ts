// ExpansionTemplates and SyncSets in a cluster, against the real kube-apiserver: `gatekeeper run` (webhook + audit)
// watches ExpansionTemplates (status.byPod as Gatekeeper writes it), denies a Deployment for what its Pod would be
// (`[Implied by <template>]`), the audit reports it on the Deployment; a referential template (uniqueingresshost)
// denies through data synced only by a SyncSet, the union with the Config's syncOnly holds, and a kind no source
// wants any more leaves data.inventory.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { bins, repoRoot, sharedDir } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, waitFor, waitReady, type Started } from '../helpers/process.js';
import { startKube, type KubeCluster } from '../peers/kube.js';

const NS = 'gatekeeper-system';
const VWC = 'gatekeeper-validating-webhook-configuration';
const OWNER_MESSAGES = ['missing required label, requires all of: owner', 'regex mismatch'];
let kube: KubeCluster;
let gk: Started | undefined;
let work: string;

const apply = (obj: unknown) => kube.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(obj) });
const expansionTemplate = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'expansion.gatekeeper.sh/v1beta1', kind: 'ExpansionTemplate', metadata: { name }, spec });
const deployment = (name: string, ns: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.14.2' }] } } },
});
const ingress = (name: string, ns: string, host: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace: ns },
  spec: { rules: [{ host, http: { paths: [{ pathType: 'Prefix', path: '/', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
});
const dryRunCreate = (obj: unknown) => kube.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(obj) });

t.before(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'gk-k8s-expansion-'));
  kube = await startKube();
  await kube.kubectlOk(['apply', '-f', path.join(repoRoot, 'gatekeeper/crds')]);
  for (const ns of [NS, 'apps', 'team-a', 'team-b']) await kube.kubectlOk(['create', 'namespace', ns]);
  for (const crd of ['constrainttemplates.templates.gatekeeper.sh', 'expansiontemplate.expansion.gatekeeper.sh', 'syncsets.syncset.gatekeeper.sh', 'configs.config.gatekeeper.sh']) {
    await kube.kubectlOk(['wait', '--for=condition=Established', `crd/${crd}`, '--timeout=60s']);
  }
  // Stored before the webhook is registered: only the audit can find it. The host taken for the SyncSet case too.
  await apply(deployment('legacy', 'apps'));
  await apply(ingress('first', 'team-a', 'shop.example.com'));
  const webhookPort = await freePort();
  const metricsPort = await freePort();
  await apply({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: VWC },
    webhooks: [
      {
        name: 'validation.gatekeeper.sh',
        admissionReviewVersions: ['v1'],
        clientConfig: { url: `https://127.0.0.1:${webhookPort}/v1/admit` },
        rules: [
          { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'], scope: 'Namespaced' },
          { apiGroups: ['networking.k8s.io'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['ingresses'], scope: 'Namespaced' },
          { apiGroups: ['expansion.gatekeeper.sh'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['expansiontemplate'], scope: '*' },
        ],
        failurePolicy: 'Fail',
        sideEffects: 'None',
        timeoutSeconds: 10,
      },
    ],
  });
  gk = start(process.execPath, [
    bins.gatekeeper, 'run',
    '--kubeconfig', kube.kubeconfig,
    '--namespace', NS,
    '--pod-name', 'expansion-0',
    '--host', '127.0.0.1',
    '--port', String(webhookPort),
    '--metrics-port', String(metricsPort),
    '--cert-host', '127.0.0.1',
    '--exempt-namespace', NS,
    '--audit-interval', '2',
    '--no-leader-election',
  ]);
  await waitReady('gatekeeper /readyz', gk, `http://127.0.0.1:${metricsPort}/readyz`);
  for (const name of ['requiredlabels', 'uniqueingresshost']) {
    await kube.kubectlOk(['apply', '-f', path.join(sharedDir, `gatekeeper-library/general/${name}/template.yaml`)]);
  }
  for (const crd of ['k8srequiredlabels', 'k8suniqueingresshost']) {
    await waitFor(`${crd} CRD`, async () => (await kube.kubectl(['get', 'crd', `${crd}.constraints.gatekeeper.sh`])).code === 0, 60_000, 250);
    await kube.kubectlOk(['wait', '--for=condition=Established', `crd/${crd}.constraints.gatekeeper.sh`, '--timeout=60s']);
  }
  await apply({
    apiVersion: 'constraints.gatekeeper.sh/v1beta1',
    kind: 'K8sRequiredLabels',
    metadata: { name: 'pods-need-owner' },
    spec: { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] }, parameters: { labels: [{ key: 'owner' }] } },
  });
  await kube.kubectlOk(['apply', '-f', path.join(sharedDir, 'gatekeeper-library/general/uniqueingresshost/samples/unique-ingress-host/constraint.yaml')]);
});

t.teardown(async () => {
  await gk?.kill('SIGTERM');
  await kube?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

t.test('a Deployment is denied for the Pod it implies, once the ExpansionTemplate is in the cluster', async (t) => {
  // Without an ExpansionTemplate the constraint on Pods never sees a Deployment.
  const before = await waitFor('the webhook answers', async () => {
    const r = await dryRunCreate(deployment('web', 'apps'));
    return r.code === 0 ? r : undefined;
  }, 60_000, 500);
  t.equal(before.code, 0);
  await apply(expansionTemplate('expand-deployments', { applyTo: [{ groups: ['apps'], kinds: ['Deployment'], versions: ['v1'] }], templateSource: 'spec.template', generatedGVK: { group: '', version: 'v1', kind: 'Pod' } }));
  const denied = await waitFor('the expansion applies', async () => {
    const r = await dryRunCreate(deployment('web', 'apps'));
    return /denied the request/.test(r.stderr) ? r : undefined;
  }, 60_000, 500);
  t.match(denied.stderr, `denied the request: ${OWNER_MESSAGES.map((m) => `[pods-need-owner] [Implied by expand-deployments] ${m}`).join('\n')}`);

  const status = await waitFor('status.byPod', async () => {
    const o = JSON.parse(await kube.kubectlOk(['get', 'expansiontemplate', 'expand-deployments', '-o', 'json']));
    return o.status?.byPod?.length ? o : undefined;
  }, 30_000, 250);
  t.same(status.status.byPod, [{ id: 'expansion-0', templateUID: status.metadata.uid, operations: ['audit', 'status', 'webhook'], observedGeneration: 1 }]);

  // The template's enforcementAction replaces the constraint's for what it generates.
  await apply(expansionTemplate('expand-deployments', { applyTo: [{ groups: ['apps'], kinds: ['Deployment'], versions: ['v1'] }], templateSource: 'spec.template', generatedGVK: { group: '', version: 'v1', kind: 'Pod' }, enforcementAction: 'warn' }));
  const warned = await waitFor('the template warns', async () => {
    const r = await dryRunCreate(deployment('web', 'apps'));
    return r.code === 0 && /Warning:/.test(r.stderr) ? r : undefined;
  }, 60_000, 500);
  t.match(warned.stderr, '[pods-need-owner] [Implied by expand-deployments] missing required label, requires all of: owner');
  await apply(expansionTemplate('expand-deployments', { applyTo: [{ groups: ['apps'], kinds: ['Deployment'], versions: ['v1'] }], templateSource: 'spec.template', generatedGVK: { group: '', version: 'v1', kind: 'Pod' } }));
  await waitFor('deny again', async () => /denied the request/.test((await dryRunCreate(deployment('web', 'apps'))).stderr), 60_000, 500);
});

t.test("an invalid ExpansionTemplate is refused at admission, as Gatekeeper's webhook refuses it", async (t) => {
  const r = await kube.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify(expansionTemplate('pods-to-pods', { applyTo: [{ groups: [''], kinds: ['Pod'], versions: ['v1'] }], templateSource: 'spec', generatedGVK: { group: '', version: 'v1', kind: 'Pod' } })),
  });
  t.not(r.code, 0);
  t.match(r.stderr, 'ExpansionTemplate pods-to-pods generates GVK /v1, Kind=Pod, but also applies to that same GVK');
});

t.test('the audit reports what a stored Deployment implies, against the Deployment', async (t) => {
  const c = await waitFor('an audit with the expansion', async () => {
    const o = JSON.parse(await kube.kubectlOk(['get', 'k8srequiredlabels', 'pods-need-owner', '-o', 'json']));
    return o.status?.violations?.some((v: any) => v.name === 'legacy') ? o : undefined;
  }, 60_000, 500);
  t.same(
    c.status.violations.filter((v: any) => v.name === 'legacy').map((v: any) => `${v.kind} ${v.namespace}/${v.name}: ${v.message}`).sort(),
    OWNER_MESSAGES.map((m) => `Deployment apps/legacy: [Implied by expand-deployments] ${m}`),
  );
});

t.test('a SyncSet alone feeds a referential template; the union with the Config holds; deleted, its data is gone', async (t) => {
  const second = ingress('second', 'team-b', 'shop.example.com');
  const conflict = /denied the request: \[unique-ingress-host\] ingress host conflicts with an existing ingress <shop.example.com>/;
  t.equal((await dryRunCreate(second)).code, 0, 'nothing synced: the template cannot see the first Ingress');

  await apply({ apiVersion: 'syncset.gatekeeper.sh/v1alpha1', kind: 'SyncSet', metadata: { name: 'ingresses' }, spec: { gvks: [{ group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' }] } });
  const denied = await waitFor('the SyncSet syncs Ingresses', async () => {
    const r = await dryRunCreate(second);
    return conflict.test(r.stderr) ? r : undefined;
  }, 60_000, 500);
  t.match(denied.stderr, conflict);

  // The Config asks for the same kind: deleting the SyncSet keeps it synced.
  await apply({ apiVersion: 'config.gatekeeper.sh/v1alpha1', kind: 'Config', metadata: { name: 'config', namespace: NS }, spec: { sync: { syncOnly: [{ group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' }] } } });
  await waitFor('the Config is applied', () => /"syncOnly":1,"present":true,"msg":"Config applied"/.test(gk!.output()), 30_000, 250);
  const mark = gk!.output().length;
  await kube.kubectlOk(['delete', 'syncset', 'ingresses']);
  await waitFor('the SyncSet is removed', () => /"msg":"SyncSet removed"/.test(gk!.output().slice(mark)), 30_000, 250);
  t.notMatch(gk!.output().slice(mark), /stopped syncing/, 'the Ingress watch did not stop: the Config still wants it');
  // A later Ingress shows the watch still runs (a stopped one would not see it).
  await apply(ingress('third', 'team-a', 'blog.example.com'));
  await waitFor('still synced through the Config', async () => /conflicts with an existing ingress <blog.example.com>/.test((await dryRunCreate(ingress('fourth', 'team-b', 'blog.example.com'))).stderr), 60_000, 500);
  t.match((await dryRunCreate(second)).stderr, conflict);

  // No source wants Ingresses any more: the watch stops and they leave data.inventory.
  await apply({ apiVersion: 'config.gatekeeper.sh/v1alpha1', kind: 'Config', metadata: { name: 'config', namespace: NS }, spec: { sync: { syncOnly: [] } } });
  const allowed = await waitFor('the synced Ingresses are gone', async () => {
    const r = await dryRunCreate(second);
    return r.code === 0 ? r : undefined;
  }, 60_000, 500);
  t.equal(allowed.code, 0);

  // A SyncSet alone again, then deleted: the data goes with it.
  await apply({ apiVersion: 'syncset.gatekeeper.sh/v1alpha1', kind: 'SyncSet', metadata: { name: 'ingresses' }, spec: { gvks: [{ group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' }] } });
  await waitFor('synced again', async () => conflict.test((await dryRunCreate(second)).stderr), 60_000, 500);
  await kube.kubectlOk(['delete', 'syncset', 'ingresses']);
  await waitFor('gone with the SyncSet', async () => (await dryRunCreate(second)).code === 0, 60_000, 500);
  t.pass('deleting the SyncSet removed the data it had synced');
});

t.test('a stopping replica withdraws its ExpansionTemplate status.byPod entry', async (t) => {
  const before = JSON.parse(await kube.kubectlOk(['get', 'expansiontemplate', 'expand-deployments', '-o', 'json']));
  t.equal(before.status.byPod.length, 1);
  await gk!.kill('SIGTERM');
  gk = undefined;
  const after = JSON.parse(await kube.kubectlOk(['get', 'expansiontemplate', 'expand-deployments', '-o', 'json']));
  t.same(after.status?.byPod ?? [], []);
});
