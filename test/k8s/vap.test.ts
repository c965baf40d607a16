// ValidatingAdmissionPolicy generation against a real kube-apiserver: no webhook is registered, so a denial can only
// come from the API server itself, through the policy and binding `gatekeeper run` generated from a CEL template and
// its constraint.
import path from 'node:path';
import t from 'tap';
import { bindingActions, bindingName, celSourceOf, constraintToBinding, templateToPolicy } from '../../gatekeeper/src/k8s/vap/transform.js';
import { bins, repoRoot } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, waitFor, type Started, waitReady } from '../helpers/process.js';
import { startKube, type KubeCluster } from '../peers/kube.js';

const NS = 'gatekeeper-system';
let kube: KubeCluster;
let gk: Started | undefined;

const template = (generateVAP?: boolean) => ({
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
          ...(generateVAP !== undefined ? { generateVAP } : {}),
          variables: [{ name: 'labels', expression: 'has(variables.anyObject.metadata.labels) ? variables.anyObject.metadata.labels : {}' }],
          validations: [{ expression: 'variables.params.key in variables.labels', messageExpression: '"missing label " + variables.params.key' }],
        },
      }],
    }],
  },
});

const constraint = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'constraints.gatekeeper.sh/v1beta1',
  kind: 'K8sOwnerLabel',
  metadata: { name },
  spec: { match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }], namespaces: ['apps*'] }, parameters: { key: 'owner' }, ...spec },
});

const json = async (args: string[]) => JSON.parse(await kube.kubectlOk([...args, '-o', 'json']));
const exists = async (args: string[]) => (await kube.kubectl(['get', ...args])).code === 0;

t.test('the objects as Gatekeeper makes them', async (t) => {
  const tpl = { ...template(true), metadata: { name: 'k8sownerlabel', uid: 'u1' } };
  const policy = templateToPolicy(tpl, celSourceOf(tpl)!, 'v1', { exemptNamespaces: ['kube-*'] });
  t.equal(policy.metadata.name, 'gatekeeper-k8sownerlabel');
  t.same(policy.spec.paramKind, { apiVersion: 'constraints.gatekeeper.sh/v1beta1', kind: 'K8sOwnerLabel' });
  t.same(policy.spec.matchConditions.map((m: any) => m.name), [
    'gatekeeper_internal_match_excluded_namespaces',
    'gatekeeper_internal_match_namespaces',
    'gatekeeper_internal_match_name',
    'gatekeeper_internal_match_kinds',
    'gatekeeper_internal_match_global_exempted_namespaces',
  ]);
  t.match(policy.spec.matchConditions[4].expression, /!\["kube-\*"\]\.exists/);
  t.same(policy.spec.variables.map((v: any) => v.name), ['anyObject', 'params', 'labels']);
  t.equal(policy.spec.failurePolicy, 'Fail');
  t.same(policy.metadata.ownerReferences, [{ apiVersion: 'templates.gatekeeper.sh/v1', kind: 'ConstraintTemplate', name: 'k8sownerlabel', uid: 'u1', controller: true, blockOwnerDeletion: true }]);

  const c = constraint('owner', { enforcementAction: 'scoped', scopedEnforcementActions: [
    { action: 'warn', enforcementPoints: [{ name: 'vap.k8s.io' }] },
    { action: 'dryrun', enforcementPoints: [{ name: '*' }] },
    { action: 'deny', enforcementPoints: [{ name: 'validation.gatekeeper.sh' }] },
  ], match: { labelSelector: { matchLabels: { a: 'b' } } } });
  t.same(bindingActions(c, false), ['warn', 'dryrun'], 'scoped: the vap.k8s.io and * points, whatever the default');
  t.same(bindingActions(constraint('x', {}), false), [], 'not scoped: only with --default-create-vap-binding-for-constraints');
  t.same(bindingActions(constraint('x', { enforcementAction: 'dryrun' }), true), ['dryrun']);
  const b = constraintToBinding(c, 'K8sOwnerLabel', bindingActions(c, false), 'v1');
  t.equal(b.metadata.name, 'gatekeeper-k8sownerlabel-owner');
  t.same(b.spec, {
    policyName: 'gatekeeper-k8sownerlabel',
    paramRef: { name: 'owner', parameterNotFoundAction: 'Allow' },
    matchResources: { objectSelector: { matchLabels: { a: 'b' } } },
    validationActions: ['Warn', 'Audit'],
  });
  t.throws(() => constraintToBinding(c, 'K8sOwnerLabel', ['block'], 'v1'), /unrecognized enforcement action block/);
  const long = bindingName('K8sOwnerLabel', 'n'.repeat(260));
  t.equal(long.length, 253);
  t.match(long, /-[0-9a-f]{8}$/);
});

t.test('against the API server: policy and binding generated, the API server denies, deleting removes', async (t) => {
  kube = await startKube();
  t.teardown(async () => {
    await gk?.kill('SIGTERM');
    await kube?.stop();
  });
  await kube.kubectlOk(['apply', '-f', path.join(repoRoot, 'gatekeeper/crds')]);
  for (const ns of [NS, 'apps', 'apps-skipped', 'other']) await kube.kubectlOk(['create', 'namespace', ns]);
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/constrainttemplates.templates.gatekeeper.sh', '--timeout=60s']);
  // The Config's webhook exclusions reach the policy's match conditions, as Gatekeeper's scope sync does.
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/configs.config.gatekeeper.sh', '--timeout=60s']);
  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'config.gatekeeper.sh/v1alpha1', kind: 'Config', metadata: { name: 'config', namespace: NS }, spec: { match: [{ excludedNamespaces: ['apps-skipped'], processes: ['webhook'] }] } }),
  });
  const metricsPort = await freePort();
  gk = start(process.execPath, [
    bins.gatekeeper, 'run',
    '--kubeconfig', kube.kubeconfig,
    '--namespace', NS,
    '--pod-name', 'gk-vap-0',
    '--operation', 'audit,status',
    '--audit-interval', '0',
    '--no-leader-election',
    '--host', '127.0.0.1',
    '--metrics-port', String(metricsPort),
  ]);
  await waitReady('ready', gk, `http://127.0.0.1:${metricsPort}/readyz`);
  t.equal((await kube.kubectl(['get', 'validatingwebhookconfigurations', '-o', 'name'])).stdout.trim(), '', 'no webhook registered');

  // Gatekeeper v3.23's defaults: a policy for a CEL template that does not set generateVAP, a binding per constraint
  await kube.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(template()) });
  await waitFor('policy', () => exists(['validatingadmissionpolicy', 'gatekeeper-k8sownerlabel']), 60_000, 250);
  const policy = await json(['get', 'validatingadmissionpolicy', 'gatekeeper-k8sownerlabel']);
  t.equal(policy.apiVersion, 'admissionregistration.k8s.io/v1', 'v1, served by this API server');
  t.same(policy.spec.variables.map((v: any) => v.name), ['anyObject', 'params', 'labels']);
  await waitFor('the Config exclusion in the policy', async () =>
    (await json(['get', 'validatingadmissionpolicy', 'gatekeeper-k8sownerlabel'])).spec.matchConditions.some(
      (m: any) => m.name === 'gatekeeper_internal_match_global_excluded_namespaces' && m.expression.includes('["apps-skipped"]'),
    ), 30_000, 250);
  await waitFor('template status', async () =>
    (await json(['get', 'constrainttemplate', 'k8sownerlabel'])).status?.byPod?.[0]?.vapGenerationStatus?.state === 'generated', 30_000, 250);

  await kube.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(constraint('owner', {})) });
  await waitFor('binding', () => exists(['validatingadmissionpolicybinding', 'gatekeeper-k8sownerlabel-owner']), 60_000, 250);
  const binding = await json(['get', 'validatingadmissionpolicybinding', 'gatekeeper-k8sownerlabel-owner']);
  t.same(binding.spec.validationActions, ['Deny']);
  t.same(binding.spec.paramRef, { name: 'owner', parameterNotFoundAction: 'Allow' });
  const c = await json(['get', 'k8sownerlabel', 'owner']);
  t.same(c.status.byPod[0].enforcementPointsStatus, [{ enforcementPoint: 'vap.k8s.io', state: 'generated', observedGeneration: 1 }]);

  // The API server's policy plugin picks up new policies, bindings and param kinds on its own schedule: wait until the
  // violating object is refused, then everything else must hold at once.
  let denial = '';
  await waitFor('the API server denies a ConfigMap without the label', async () => {
    const r = await kube.kubectl(['create', 'configmap', 'no-owner', '-n', 'apps']);
    if (r.code === 0) await kube.kubectlOk(['delete', 'configmap', 'no-owner', '-n', 'apps']);
    denial = r.stderr;
    return r.code !== 0;
  }, 60_000, 500);
  t.match(denial, /ValidatingAdmissionPolicy 'gatekeeper-k8sownerlabel' with binding 'gatekeeper-k8sownerlabel-owner' denied request: missing label owner/);
  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'with-owner', namespace: 'apps', labels: { owner: 'me' } } }),
  });
  t.pass('a ConfigMap with the label is admitted');
  await kube.kubectlOk(['create', 'configmap', 'no-owner', '-n', 'other']);
  t.pass('a namespace outside the constraint is not checked (the CEL match conditions)');
  await kube.kubectlOk(['create', 'secret', 'generic', 'no-owner', '-n', 'apps']);
  t.pass('a kind outside the constraint is not checked');
  await kube.kubectlOk(['create', 'configmap', 'no-owner', '-n', 'apps-skipped']);
  t.pass("a namespace the Config excludes from the webhook is not checked");

  // A scoped constraint whose vap.k8s.io action is warn: admitted with the API server's warning.
  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify(constraint('owner-warn', { enforcementAction: 'scoped', scopedEnforcementActions: [{ action: 'warn', enforcementPoints: [{ name: 'vap.k8s.io' }] }], parameters: { key: 'team' } })),
  });
  await waitFor('warn binding', () => exists(['validatingadmissionpolicybinding', 'gatekeeper-k8sownerlabel-owner-warn']), 60_000, 250);
  t.same((await json(['get', 'validatingadmissionpolicybinding', 'gatekeeper-k8sownerlabel-owner-warn'])).spec.validationActions, ['Warn']);
  let warned = '';
  let n = 0;
  await waitFor('the API server warns', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `warned-${n++}`, namespace: 'apps', labels: { owner: 'me' } } };
    const r = await kube.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(cm) });
    warned = r.stderr;
    return r.code === 0 && /missing label team/.test(r.stderr);
  }, 60_000, 500);
  t.match(warned, /Warning: Validation failed for ValidatingAdmissionPolicy 'gatekeeper-k8sownerlabel' with binding 'gatekeeper-k8sownerlabel-owner-warn': missing label team/);
  await kube.kubectlOk(['delete', 'k8sownerlabel', 'owner-warn']);

  await kube.kubectlOk(['delete', 'k8sownerlabel', 'owner']);
  await waitFor('binding removed', async () => !(await exists(['validatingadmissionpolicybinding', 'gatekeeper-k8sownerlabel-owner'])), 60_000, 250);
  await waitFor('the object is admitted once the binding is gone', async () => (await kube.kubectl(['create', 'configmap', 'no-owner-2', '-n', 'apps'])).code === 0, 60_000, 500);
  t.ok(await exists(['validatingadmissionpolicy', 'gatekeeper-k8sownerlabel']), 'the policy stays with its template');

  await kube.kubectlOk(['delete', 'constrainttemplate', 'k8sownerlabel']);
  await waitFor('policy removed', async () => !(await exists(['validatingadmissionpolicy', 'gatekeeper-k8sownerlabel'])), 60_000, 250);
});
