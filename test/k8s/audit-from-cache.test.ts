// An audit-only process (--operation=audit) with --audit-from-cache: only the kinds the Config syncs are audited,
// from the watch caches, and the Config's audit exclusions apply.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { bins, repoRoot, sharedDir } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, waitFor, type Started, waitReady } from '../helpers/process.js';
import { startKube, type KubeCluster } from '../peers/kube.js';

const NS = 'gatekeeper-system';
let kube: KubeCluster;
let gk: Started | undefined;
let work: string;

t.before(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'gk-k8s-cache-'));
  kube = await startKube();
  await kube.kubectlOk(['apply', '-f', path.join(repoRoot, 'gatekeeper/crds')]);
  for (const ns of [NS, 'apps', 'skipped']) await kube.kubectlOk(['create', 'namespace', ns]);
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/configs.config.gatekeeper.sh', '--timeout=60s']);
});
t.teardown(async () => {
  await gk?.kill('SIGKILL');
  await kube?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

t.test('--audit-from-cache audits the synced kinds only, minus the Config audit exclusions', async (t) => {
  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'config.gatekeeper.sh/v1alpha1',
      kind: 'Config',
      metadata: { name: 'config', namespace: NS },
      spec: {
        // Widget's CRD is installed only later: the sync starts once the API server serves it.
        sync: { syncOnly: [{ group: '', version: 'v1', kind: 'ConfigMap' }, { group: 'example.com', version: 'v1', kind: 'Widget' }] },
        match: [{ excludedNamespaces: ['skipped'], processes: ['audit'] }],
      },
    }),
  });
  for (const ns of ['apps', 'skipped']) {
    await kube.kubectlOk(['create', 'configmap', 'no-owner', '-n', ns]);
    await kube.kubectlOk(['create', 'secret', 'generic', 'no-owner', '-n', ns]);
  }
  const metricsPort = await freePort();
  gk = start(process.execPath, [
    bins.gatekeeper, 'run',
    '--default-create-vap-for-templates=false', // the webhook and audit are under test, not the API server's own enforcement
    '--kubeconfig', kube.kubeconfig,
    '--namespace', NS,
    '--pod-name', 'auditor',
    '--operation', 'audit',
    '--audit-from-cache',
    '--audit-interval', '2',
    '--no-leader-election',
    '--host', '127.0.0.1',
    '--metrics-port', String(metricsPort),
  ]);
  await waitReady('ready', gk!, `http://127.0.0.1:${metricsPort}/readyz`);

  await kube.kubectlOk(['apply', '-f', path.join(sharedDir, 'gatekeeper-library/general/requiredlabels/template.yaml')]);
  await waitFor('the audit process creates the constraint CRD', async () => (await kube.kubectl(['get', 'crd', 'k8srequiredlabels.constraints.gatekeeper.sh'])).code === 0, 60_000, 250);
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/k8srequiredlabels.constraints.gatekeeper.sh', '--timeout=60s']);
  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'constraints.gatekeeper.sh/v1beta1',
      kind: 'K8sRequiredLabels',
      metadata: { name: 'owner' },
      spec: { match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap', 'Secret'] }, { apiGroups: ['example.com'], kinds: ['Widget'] }], namespaces: ['apps', 'skipped'] }, parameters: { labels: [{ key: 'owner' }] } },
    }),
  });
  const c = await waitFor('audit status', async () => {
    const o = JSON.parse(await kube.kubectlOk(['get', 'k8srequiredlabels', 'owner', '-o', 'json']));
    return o.status?.auditTimestamp ? o : undefined;
  }, 60_000, 250);
  // The template runs on CEL (Gatekeeper's engine order): each of its two validations that fails is a violation.
  const owner = ['missing required label, requires all of: owner', 'regex mismatch'];
  t.equal(c.status.totalViolations, 2, 'the ConfigMap in apps, once per failing CEL validation');
  t.same(
    c.status.violations.map((v: any) => `${v.kind} ${v.namespace}/${v.name}: ${v.message}`).sort(),
    owner.map((m) => `ConfigMap apps/no-owner: ${m}`),
    'Secrets are not synced; skipped is excluded from the audit',
  );
  t.notOk(c.status.byPod, 'an audit-only process without the status operation writes no byPod entries');

  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
        scope: 'Namespaced',
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    }),
  });
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=60s']);
  await kube.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'apps' } }) });
  const later = await waitFor('the Widget is synced and audited', async () => {
    const o = JSON.parse(await kube.kubectlOk(['get', 'k8srequiredlabels', 'owner', '-o', 'json']));
    return o.status?.totalViolations === 4 ? o : undefined;
  }, 60_000, 500);
  t.same(
    later.status.violations.map((v: any) => `${v.group}/${v.kind} ${v.namespace}/${v.name}: ${v.message}`).sort(),
    [...owner.map((m) => `/ConfigMap apps/no-owner: ${m}`), ...owner.map((m) => `example.com/Widget apps/w: ${m}`)],
  );
});
