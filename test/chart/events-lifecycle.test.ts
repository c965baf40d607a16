// Kubernetes Events and the violation lifecycle in the chart: the values become the engine's flags, and each component
// gets exactly the rights they need, checked by rendering and by asking a real kube-apiserver (kubectl auth can-i as
// the component's ServiceAccount) once the rendered RBAC is applied.
import t from 'tap';
import { startKube, type KubeCluster } from '../peers/kube.js';
import { container, find, findAll, helm, parseObjects, releaseNamespace, render, templateArgs, type K8sObject } from './helm.js';

const workloads = (objs: K8sObject[]) => ({
  webhook: objs.find((o) => (o.kind === 'StatefulSet' || o.kind === 'Deployment') && o.metadata.name.endsWith('-controller-manager'))!,
  audit: find(objs, 'Deployment', '-audit'),
});
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
const rulesFor = (objs: K8sObject[], kind: 'Role' | 'ClusterRole', component: string): Rule[] =>
  findAll(objs, kind).find((r) => r.metadata.name.endsWith(`-${component}`))?.rules ?? [];
const touches = (rules: Rule[], resource: string) => rules.filter((r) => r.resources.includes(resource));

t.test('defaults: no Events, no lifecycle, no rights for them', async (t) => {
  const objs = await render();
  const { webhook, audit } = workloads(objs);
  const args = [...container(webhook, 'manager').args, ...container(audit, 'manager').args].join(' ');
  t.notMatch(args, /--emit-|events-involved-namespace|--violation-lifecycle/);
  for (const c of ['webhook', 'audit']) {
    t.same(touches([...rulesFor(objs, 'Role', c), ...rulesFor(objs, 'ClusterRole', c)], 'events'), [], `${c}: no events rights`);
    t.same(touches(rulesFor(objs, 'Role', c), 'configmaps'), [], `${c}: no configmaps rights`);
  }
  t.notOk(findAll(objs, 'Role').some((r) => r.metadata.name.endsWith('-webhook')), 'no Role for the webhook');
});

t.test('Events in the release namespace: a Role; in the involved namespace: a ClusterRole rule', async (t) => {
  const objs = await render([], ['emitAdmissionEvents=true', 'emitAuditEvents=true', 'auditEventsInvolvedNamespace=true']);
  const { webhook, audit } = workloads(objs);
  const wargs: string[] = container(webhook, 'manager').args;
  const aargs: string[] = container(audit, 'manager').args;
  t.ok(wargs.includes('--emit-admission-events'));
  t.notOk(wargs.includes('--admission-events-involved-namespace'));
  t.ok(aargs.includes('--emit-audit-events') && aargs.includes('--audit-events-involved-namespace'));
  t.notOk(aargs.includes('--emit-admission-events') || wargs.includes('--emit-audit-events'), 'each component its own flag');
  const events = [{ apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] }];
  t.same(touches(rulesFor(objs, 'Role', 'webhook'), 'events'), events, 'webhook: the release namespace only');
  t.same(touches(rulesFor(objs, 'ClusterRole', 'webhook'), 'events'), []);
  t.same(touches(rulesFor(objs, 'ClusterRole', 'audit'), 'events'), events, 'audit: every namespace');
  t.same(touches(rulesFor(objs, 'Role', 'audit'), 'events'), []);
});

t.test('audit.violationLifecycle: flags, and ConfigMap rights on the state names only', async (t) => {
  const objs = await render([], ['audit.violationLifecycle.enabled=true', 'audit.violationLifecycle.shards=8', 'audit.violationLifecycle.maxPairs=5000']);
  const args: string[] = container(workloads(objs).audit, 'manager').args;
  t.same(args.filter((a) => a.startsWith('--violation-lifecycle')), [
    '--violation-lifecycle',
    '--violation-lifecycle-configmap=gk-gk-exporter-violation-lifecycle',
    '--violation-lifecycle-shards=8',
    '--violation-lifecycle-max-pairs=5000',
  ]);
  const rules = touches(rulesFor(objs, 'Role', 'audit'), 'configmaps');
  t.same(rules[0], { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'create'] });
  t.same(rules[1]!.verbs, ['get', 'update', 'delete']);
  t.same(rules[1]!.resourceNames, Array.from({ length: 64 }, (_, i) => `gk-gk-exporter-violation-lifecycle-${i}`));
  t.same(touches(rulesFor(objs, 'ClusterRole', 'audit'), 'configmaps'), [], 'nothing cluster-wide');
  const bad = await helm(templateArgs([], ['audit.violationLifecycle.shards=65']));
  t.not(bad.code, 0);
  t.match(bad.stderr, /shards/);
});

t.test('the rights as the API server sees them (kubectl auth can-i as each ServiceAccount)', async (t) => {
  const kube: KubeCluster = await startKube();
  t.teardown(() => kube.stop());
  await kube.kubectlOk(['create', 'namespace', releaseNamespace]);
  const r = await helm(templateArgs([], ['emitAdmissionEvents=true', 'emitAuditEvents=true', 'auditEventsInvolvedNamespace=true', 'audit.violationLifecycle.enabled=true']));
  t.equal(r.code, 0, r.stderr);
  const rbac = parseObjects(r.stdout).filter((o) => ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind));
  await kube.kubectlOk(['apply', '-n', releaseNamespace, '-f', '-'], { input: rbac.map((o) => JSON.stringify(o)).join('\n') });
  const can = async (component: string, ...args: string[]) =>
    (await kube.kubectl(['auth', 'can-i', '--as', `system:serviceaccount:${releaseNamespace}:gk-gk-exporter-${component}`, ...args])).stdout.trim();
  t.equal(await can('webhook', 'create', 'events', '-n', releaseNamespace), 'yes');
  t.equal(await can('webhook', 'patch', 'events', '-n', releaseNamespace), 'yes');
  t.equal(await can('webhook', 'create', 'events', '-n', 'apps'), 'no', 'the webhook writes Events in its namespace only');
  t.equal(await can('webhook', 'delete', 'events', '-n', releaseNamespace), 'no');
  t.equal(await can('audit', 'create', 'events', '-n', 'apps'), 'yes', "the audit writes Events in the object's namespace");
  t.equal(await can('audit', 'update', 'events', '-n', 'apps'), 'no');
  t.equal(await can('audit', 'update', 'configmaps/gk-gk-exporter-violation-lifecycle-0', '-n', releaseNamespace), 'yes');
  t.equal(await can('audit', 'delete', 'configmaps/gk-gk-exporter-violation-lifecycle-63', '-n', releaseNamespace), 'yes');
  t.equal(await can('audit', 'update', 'configmaps/gk-gk-exporter-exporter-config', '-n', releaseNamespace), 'no', 'no other ConfigMap');
  t.equal(await can('audit', 'delete', 'configmaps/gk-gk-exporter-violation-lifecycle-64', '-n', releaseNamespace), 'no');
  t.equal(await can('audit', 'create', 'configmaps', '-n', 'apps'), 'no', 'nowhere else');
  t.equal(await can('webhook', 'list', 'configmaps', '-n', releaseNamespace), 'no');
});
