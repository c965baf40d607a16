// End to end against a real kube-apiserver, with kubectl as a user would: `gatekeeper run` (webhook + audit in one
// process) behind a ValidatingWebhookConfiguration over TLS, its decisions exported through the exporter to a file sink.
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { bins, repoRoot, sharedDir } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, waitFor, type Started, waitReady } from '../helpers/process.js';
import { startKube, type KubeCluster } from '../peers/kube.js';

const library = path.join(sharedDir, 'gatekeeper-library/general');
const NS = 'gatekeeper-system';
const POD = 'gk-e2e-0';
const VWC = 'gatekeeper-validating-webhook-configuration';
const BYPASS_LABEL = 'e2e-bypass-webhook';

let kube: KubeCluster;
let gk: Started;
let exporter: Started;
let work: string;
let webhookPort: number;
let metricsPort: number;

const json = async (args: string[]) => JSON.parse(await kube.kubectlOk([...args, '-o', 'json']));

/** The controller creates the CRD shortly after the template is applied; then it must become Established. */
async function crdEstablished(name: string): Promise<void> {
  await waitFor(`CRD ${name}`, async () => (await kube.kubectl(['get', 'crd', name])).code === 0, 60_000, 250);
  await kube.kubectlOk(['wait', '--for=condition=Established', `crd/${name}`, '--timeout=60s']);
}

/** Every record the exporter's file sink has written so far. */
async function exportedRecords(): Promise<any[]> {
  const dir = path.join(work, 'exporter');
  const files = (await readdir(dir)).filter((f) => f.startsWith('decisions') && f.endsWith('.ndjson'));
  const out: any[] = [];
  for (const f of files) {
    for (const line of (await readFile(path.join(dir, f), 'utf8')).split('\n')) if (line.trim()) out.push(JSON.parse(line));
  }
  return out;
}

function webhookConfiguration(port: number): string {
  return JSON.stringify({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: VWC },
    webhooks: [
      {
        name: 'validation.gatekeeper.sh',
        admissionReviewVersions: ['v1', 'v1beta1'],
        clientConfig: { url: `https://127.0.0.1:${port}/v1/admit` },
        rules: [{ apiGroups: ['*'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['*'], scope: '*' }],
        namespaceSelector: { matchExpressions: [{ key: 'admission.gatekeeper.sh/ignore', operator: 'DoesNotExist' }] },
        // Test only: objects labelled so reach the controllers without the webhook's checks (a template that does not compile).
        objectSelector: { matchExpressions: [{ key: BYPASS_LABEL, operator: 'DoesNotExist' }] },
        failurePolicy: 'Ignore',
        sideEffects: 'None',
        timeoutSeconds: 5,
      },
    ],
  });
}

t.before(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'gk-k8s-e2e-'));
  kube = await startKube();
  await kube.kubectlOk(['apply', '-f', path.join(repoRoot, 'gatekeeper/crds')]);
  await kube.kubectlOk(['create', 'namespace', NS]);
  await kube.kubectlOk(['label', 'namespace', NS, 'admission.gatekeeper.sh/ignore=no-self-managing']);
  await kube.kubectlOk(['create', 'namespace', 'e2e']);
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/constrainttemplates.templates.gatekeeper.sh', 'crd/configs.config.gatekeeper.sh', '--timeout=60s']);

  exporter = start(process.execPath, [bins.exporter, 'run', '--data-dir', path.join(work, 'exporter'), '--log-level', 'warn']);
  const socket = path.join(work, 'exporter', 'exporter.sock');
  await waitFor('exporter socket', async () => {
    if (exporter.child.exitCode !== null) throw new Error(`exporter exited: ${exporter.output()}`);
    return (await stat(socket).catch(() => undefined))?.isSocket();
  }, 60_000);

  webhookPort = await freePort();
  metricsPort = await freePort();
  await kube.kubectlOk(['apply', '-f', '-'], { input: webhookConfiguration(webhookPort) });
  gk = start(process.execPath, [
    bins.gatekeeper, 'run',
    '--default-create-vap-for-templates=false', // the webhook and audit are under test, not the API server's own enforcement
    '--kubeconfig', kube.kubeconfig,
    '--namespace', NS,
    '--pod-name', POD,
    '--host', '127.0.0.1',
    '--port', String(webhookPort),
    '--metrics-port', String(metricsPort),
    '--cert-host', '127.0.0.1',
    '--exempt-namespace', NS,
    '--exempt-namespace', 'e2e-exempt',
    '--audit-interval', '3',
    '--constraint-violations-limit', '2',
    '--export-socket', socket,
    '--log-level', 'info',
  ]);
  await waitReady('gatekeeper /readyz', gk, `http://127.0.0.1:${metricsPort}/readyz`);
});

t.teardown(async () => {
  await gk?.kill('SIGTERM');
  await exporter?.kill('SIGTERM');
  await kube?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

t.test('the CA is generated into a Secret and injected into the webhook configuration', async (t) => {
  const secret = await json(['get', 'secret', '-n', NS, 'gatekeeper-webhook-server-cert']);
  t.ok(secret.data['ca.crt'] && secret.data['tls.crt'] && secret.data['tls.key'], 'ca.crt, tls.crt, tls.key');
  const vwc = await waitFor('caBundle injected', async () => {
    const v = await json(['get', 'validatingwebhookconfiguration', VWC]);
    return v.webhooks[0].clientConfig.caBundle ? v : undefined;
  }, 30_000);
  t.equal(vwc.webhooks[0].clientConfig.caBundle, secret.data['ca.crt'], 'caBundle is the CA of the Secret');

  // Someone overwrites the caBundle (e.g. a chart upgrade): the controller puts it back.
  await kube.kubectlOk(['patch', 'validatingwebhookconfiguration', VWC, '--type=json', '-p',
    JSON.stringify([{ op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value: Buffer.from('not a CA').toString('base64') }])]);
  await waitFor('caBundle restored', async () => (await json(['get', 'validatingwebhookconfiguration', VWC])).webhooks[0].clientConfig.caBundle === secret.data['ca.crt'], 30_000);
  t.pass('caBundle restored');
});

t.test('a template gets its constraint CRD and status; a violating object is denied over TLS, a compliant one admitted', async (t) => {
  // Created before the policy exists: the audit must find it later.
  await kube.kubectlOk(['create', 'configmap', 'preexisting', '-n', 'e2e', '--from-literal=a=b']);

  await kube.kubectlOk(['apply', '-f', path.join(library, 'requiredlabels/template.yaml')]);
  await crdEstablished('k8srequiredlabels.constraints.gatekeeper.sh');
  const crd = await json(['get', 'crd', 'k8srequiredlabels.constraints.gatekeeper.sh']);
  t.equal(crd.spec.names.kind, 'K8sRequiredLabels');
  t.equal(crd.spec.scope, 'Cluster');
  t.ok(crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.parameters.properties.labels, 'parameters schema from the template');
  const tpl = await waitFor('template status', async () => {
    const o = await json(['get', 'constrainttemplate', 'k8srequiredlabels']);
    return o.status?.byPod?.some((p: any) => p.id === POD) ? o : undefined;
  }, 30_000);
  t.equal(tpl.status.created, true);
  t.same(tpl.status.byPod.find((p: any) => p.id === POD).errors, undefined, 'no errors');

  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'constraints.gatekeeper.sh/v1beta1',
      kind: 'K8sRequiredLabels',
      metadata: { name: 'cm-must-have-owner' },
      spec: {
        match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }], namespaces: ['e2e'] },
        parameters: { labels: [{ key: 'owner' }] },
      },
    }),
  });
  // Watch based: the webhook enforces within seconds, no restart.
  const denied = await waitFor('the constraint is enforced', async () => {
    const r = await kube.kubectl(['create', 'configmap', 'no-owner', '-n', 'e2e', '--from-literal=a=b', '--dry-run=server']);
    return r.code !== 0 ? r : undefined;
  }, 30_000, 500);
  // The template runs on CEL (Gatekeeper's engine order): one line per failing validation, each with the constraint's name.
  t.match(
    denied.stderr,
    /admission webhook "validation\.gatekeeper\.sh" denied the request: \[cm-must-have-owner\] missing required label, requires all of: owner\n\[cm-must-have-owner\] regex mismatch\n/,
    "Gatekeeper's message form",
  );

  const r = await kube.kubectl(['create', 'configmap', 'no-owner', '-n', 'e2e', '--from-literal=a=b']);
  t.not(r.code, 0, 'really denied');
  t.equal((await kube.kubectl(['get', 'configmap', 'no-owner', '-n', 'e2e'])).code, 1, 'not stored');

  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'with-owner', namespace: 'e2e', labels: { owner: 'me' } }, data: { a: 'b' } }),
  });
  t.pass('a compliant ConfigMap is admitted');

  const c = await waitFor('constraint status', async () => {
    const o = await json(['get', 'k8srequiredlabels', 'cm-must-have-owner']);
    return o.status?.byPod?.some((p: any) => p.id === POD && p.enforced === true) ? o : undefined;
  }, 30_000);
  t.ok(c.status.byPod[0].operations.includes('webhook'), 'byPod entry names the operations');
});

t.test('dryrun admits silently, warn admits with a warning', async (t) => {
  const constraint = (name: string, action: string, ns: string) =>
    JSON.stringify({
      apiVersion: 'constraints.gatekeeper.sh/v1beta1',
      kind: 'K8sRequiredLabels',
      metadata: { name },
      spec: {
        enforcementAction: action,
        match: { kinds: [{ apiGroups: [''], kinds: ['Secret'] }], namespaces: [ns] },
        parameters: { labels: [{ key: 'team' }] },
      },
    });
  await kube.kubectlOk(['create', 'namespace', 'e2e-dryrun']);
  await kube.kubectlOk(['create', 'namespace', 'e2e-warn']);
  await kube.kubectlOk(['apply', '-f', '-'], { input: constraint('secrets-team-dryrun', 'dryrun', 'e2e-dryrun') });
  await kube.kubectlOk(['apply', '-f', '-'], { input: constraint('secrets-team-warn', 'warn', 'e2e-warn') });

  const warned = await waitFor('the warn constraint is active', async () => {
    const r = await kube.kubectl(['create', 'secret', 'generic', 'probe', '-n', 'e2e-warn', '--from-literal=a=b', '--dry-run=server']);
    return r.code === 0 && /Warning: \[secrets-team-warn\]/.test(r.stderr) ? r : undefined;
  }, 30_000, 500);
  t.match(warned.stderr, /Warning: \[secrets-team-warn\] missing required label, requires all of: team\nWarning: \[secrets-team-warn\] regex mismatch\n/);
  const w = await kube.kubectl(['create', 'secret', 'generic', 'warned', '-n', 'e2e-warn', '--from-literal=a=b']);
  t.equal(w.code, 0, 'warn admits');
  t.match(w.stderr, /Warning: \[secrets-team-warn\]/);

  // The dryrun constraint is loaded once its status says so; then a violating Secret is admitted without a warning.
  await waitFor('dryrun constraint loaded', async () => (await json(['get', 'k8srequiredlabels', 'secrets-team-dryrun'])).status?.byPod?.some((p: any) => p.enforced), 30_000);
  const d = await kube.kubectl(['create', 'secret', 'generic', 'dry', '-n', 'e2e-dryrun', '--from-literal=a=b']);
  t.equal(d.code, 0, 'dryrun admits');
  t.notMatch(d.stderr, /Warning/, 'and does not warn');
});

t.test('audit writes each constraint status, capped, and the metrics', async (t) => {
  // More violations than --constraint-violations-limit=2.
  for (const n of ['x1', 'x2', 'x3']) await kube.kubectlOk(['create', 'namespace', `e2e-${n}`]);
  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'constraints.gatekeeper.sh/v1beta1',
      kind: 'K8sRequiredLabels',
      metadata: { name: 'ns-must-have-costcenter' },
      spec: { enforcementAction: 'dryrun', match: { kinds: [{ apiGroups: [''], kinds: ['Namespace'] }] }, parameters: { labels: [{ key: 'costcenter' }] } },
    }),
  });
  const cm = await waitFor('audit status on cm-must-have-owner', async () => {
    const o = await json(['get', 'k8srequiredlabels', 'cm-must-have-owner']);
    return o.status?.auditTimestamp && o.status.totalViolations >= 1 ? o : undefined;
  }, 60_000, 500);
  t.match(cm.status.auditTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  // CEL: one violation per failing validation of the template.
  t.equal(cm.status.totalViolations, 2, 'the ConfigMap created before the constraint');
  t.same(cm.status.violations, [
    { enforcementAction: 'deny', group: '', version: 'v1', kind: 'ConfigMap', namespace: 'e2e', name: 'preexisting', message: 'missing required label, requires all of: owner' },
    { enforcementAction: 'deny', group: '', version: 'v1', kind: 'ConfigMap', namespace: 'e2e', name: 'preexisting', message: 'regex mismatch' },
  ]);

  const ns = await waitFor('audit status on ns-must-have-costcenter', async () => {
    const o = await json(['get', 'k8srequiredlabels', 'ns-must-have-costcenter']);
    return o.status?.auditTimestamp && o.status.totalViolations > 2 ? o : undefined;
  }, 60_000, 500);
  t.equal(ns.status.violations.length, 2, 'violations capped at --constraint-violations-limit');
  t.ok(ns.status.violations.every((v: any) => v.kind === 'Namespace' && v.enforcementAction === 'dryrun' && v.name && v.message));

  const metrics = await (await request(`http://127.0.0.1:${metricsPort}/metrics`)).body.text();
  t.match(metrics, /gatekeeper_violations\{enforcement_action="dryrun"\} [1-9]/);
  t.match(metrics, /gatekeeper_audit_last_run_time \d/);
  t.match(metrics, /gatekeeper_audit_duration_seconds_count [1-9]/);
  t.match(metrics, /gatekeeper_constraint_templates\{status="active"\} 1/);
});

t.test('a referential template sees the inventory synced by the Config', async (t) => {
  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'config.gatekeeper.sh/v1alpha1',
      kind: 'Config',
      metadata: { name: 'config', namespace: NS },
      spec: { sync: { syncOnly: [{ group: '', version: 'v1', kind: 'Service' }] } },
    }),
  });
  await kube.kubectlOk(['apply', '-f', path.join(library, 'uniqueserviceselector/template.yaml')]);
  await crdEstablished('k8suniqueserviceselector.constraints.gatekeeper.sh');
  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'constraints.gatekeeper.sh/v1beta1', kind: 'K8sUniqueServiceSelector', metadata: { name: 'unique-service-selector' }, spec: { match: { namespaces: ['e2e'] } } }),
  });
  const svc = (name: string) =>
    JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'e2e' }, spec: { selector: { app: 'shop' }, ports: [{ port: 80 }] } });
  await kube.kubectlOk(['apply', '-f', '-'], { input: svc('first') });
  const denied = await waitFor('the second Service with the same selector is denied', async () => {
    const r = await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: svc('second') });
    return r.code !== 0 ? r : undefined;
  }, 30_000, 500);
  t.match(denied.stderr, /\[unique-service-selector\] same selector as service <first> in namespace <e2e>/);
});

t.test('--exempt-namespace and the Config spec.match exclusions are honoured, the latter changed live', async (t) => {
  for (const ns of ['e2e-exempt', 'e2e-skip', 'e2e-checked']) await kube.kubectlOk(['create', 'namespace', ns]);
  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'constraints.gatekeeper.sh/v1beta1',
      kind: 'K8sRequiredLabels',
      metadata: { name: 'cm-owner-exemptions' },
      spec: {
        match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }], namespaces: ['e2e-exempt', 'e2e-skip', 'e2e-checked'] },
        parameters: { labels: [{ key: 'owner' }] },
      },
    }),
  });
  const create = (ns: string) => kube.kubectl(['create', 'configmap', 'probe', '-n', ns, '--from-literal=a=b', '--dry-run=server']);
  await waitFor('the constraint is enforced', async () => (await create('e2e-checked')).code !== 0, 30_000, 500);
  t.equal((await create('e2e-exempt')).code, 0, '--exempt-namespace: admitted without evaluation');
  t.not((await create('e2e-skip')).code, 0, 'not excluded yet');

  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'config.gatekeeper.sh/v1alpha1',
      kind: 'Config',
      metadata: { name: 'config', namespace: NS },
      spec: {
        match: [{ excludedNamespaces: ['e2e-sk*'], processes: ['webhook'] }],
        sync: { syncOnly: [{ group: '', version: 'v1', kind: 'Service' }] },
      },
    }),
  });
  await waitFor('the Config exclusion applies', async () => (await create('e2e-skip')).code === 0, 30_000, 500);
  t.pass('excluded from the webhook by the Config, without a restart');
  t.not((await create('e2e-checked')).code, 0, 'other namespaces still checked');
  await kube.kubectlOk(['delete', 'k8srequiredlabels', 'cm-owner-exemptions']);
});

const brokenTemplate = (labels: Record<string, string> = {}) => ({
  apiVersion: 'templates.gatekeeper.sh/v1',
  kind: 'ConstraintTemplate',
  metadata: { name: 'k8sbroken', labels },
  spec: {
    crd: { spec: { names: { kind: 'K8sBroken' } } },
    targets: [{ target: 'admission.k8s.gatekeeper.sh', rego: 'package k8sbroken\n\nviolation[{"msg": msg}] {\n  msg := \n}\n' }],
  },
});

t.test("the webhook rejects Gatekeeper's own invalid resources: a template that does not compile, an unknown enforcementAction", async (t) => {
  const template = await kube.kubectl(['apply', '-f', '-'], { input: JSON.stringify(brokenTemplate()) });
  t.not(template.code, 0, 'not stored');
  t.match(template.stderr, /admission webhook "validation\.gatekeeper\.sh" denied the request: .*k8sbroken/);
  t.equal((await kube.kubectl(['get', 'constrainttemplate', 'k8sbroken'])).code, 1, 'no such template');

  const misnamed = await kube.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ ...brokenTemplate(), metadata: { name: 'other-name' } }),
  });
  t.match(misnamed.stderr, /denied the request: ConstraintTemplate other-name: its name must be the lowercase of its kind K8sBroken/);

  const constraint = (name: string, enforcementAction: string) =>
    kube.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'constraints.gatekeeper.sh/v1beta1',
        kind: 'K8sRequiredLabels',
        metadata: { name },
        spec: { enforcementAction, match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }], namespaces: ['e2e-none'] }, parameters: { labels: [{ key: 'owner' }] } },
      }),
    });
  const unknown = await constraint('bad-action', 'block');
  t.not(unknown.code, 0);
  t.match(unknown.stderr, /denied the request: constraint K8sRequiredLabels\/bad-action: enforcementAction "block" is not supported; use one of deny, dryrun, warn, scoped/);
  const fine = await constraint('good-action', 'warn');
  t.equal(fine.code, 0, fine.stderr);
  await kube.kubectlOk(['delete', 'k8srequiredlabels', 'good-action']);
});

t.test('a template that does not compile gets its errors in status and no CRD; deleting a template removes its CRD', async (t) => {
  // Past the webhook (which would reject it), as a template stored before the webhook ran would be.
  await kube.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(brokenTemplate({ [BYPASS_LABEL]: 'yes' })) });
  const broken = await waitFor('errors in status', async () => {
    const o = await json(['get', 'constrainttemplate', 'k8sbroken']);
    return o.status?.byPod?.find((p: any) => p.id === POD)?.errors?.length ? o : undefined;
  }, 60_000, 500);
  t.equal(broken.status.created, false);
  t.match(broken.status.byPod[0].errors[0], { code: 'ingest_error', message: /k8sbroken|rego|parse/i });
  t.equal((await kube.kubectl(['get', 'crd', 'k8sbroken.constraints.gatekeeper.sh'])).code, 1, 'no CRD');

  await kube.kubectlOk(['delete', 'constrainttemplate', 'k8suniqueserviceselector']);
  await waitFor('CRD removed', async () => (await kube.kubectl(['get', 'crd', 'k8suniqueserviceselector.constraints.gatekeeper.sh'])).code === 1, 60_000, 500);
  t.pass('the CRD of a deleted template is gone');
  // And its policy no longer applies.
  await waitFor('the policy is gone', async () => (await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'third', namespace: 'e2e' }, spec: { selector: { app: 'shop' }, ports: [{ port: 80 }] } }),
  })).code === 0, 30_000, 500);
  t.pass('a Service with the same selector is admitted again');
});

t.test('decisions and violations reach the exporter file sink', async (t) => {
  const records = await waitFor('exported records', async () => {
    const recs = await exportedRecords();
    const types = new Set(recs.map((r) => r.eventType));
    return ['admission_decision', 'violation_admission', 'violation_audited', 'audit_started', 'audit_completed'].every((x) => types.has(x)) ? recs : undefined;
  }, 60_000, 500);
  // Gatekeeper's export message: kind/name are the constraint's, resource* the object's.
  const deniedCm = records.find((r) => r.eventType === 'violation_admission' && r.name === 'cm-must-have-owner' && r.resourceName === 'no-owner');
  t.ok(deniedCm, 'the denied ConfigMap as a violation_admission');
  t.match(deniedCm, { kind: 'K8sRequiredLabels', enforcementAction: 'deny', resourceKind: 'ConfigMap', resourceNamespace: 'e2e', message: 'missing required label, requires all of: owner' });
  t.ok(
    records.some((r) => r.eventType === 'violation_admission' && r.name === 'cm-must-have-owner' && r.resourceName === 'no-owner' && r.message === 'regex mismatch'),
    "and the template's second failing CEL validation as another",
  );
  const decision = records.find((r) => r.eventType === 'admission_decision' && r.resourceName === 'no-owner' && r.allowed === false);
  t.ok(decision, 'and its admission_decision (allowed: false)');
  t.ok(records.some((r) => r.eventType === 'admission_decision' && r.resourceName === 'with-owner' && r.allowed === true), 'allowed admissions are exported too');
  const audited = records.filter((r) => r.eventType === 'violation_audited' && r.name === 'ns-must-have-costcenter');
  const namespacesAudited = new Set(audited.map((r) => r.resourceName));
  t.ok(namespacesAudited.size > 2, `every audited violation is exported, uncapped (${namespacesAudited.size} namespaces)`);
  t.ok(records.every((r) => typeof r.decisionId === 'string' && r.decisionId), 'each record has a decisionId');
  // One `gatekeeper run` serves both here; proto-docs/record.md: admission records come from `webhook`, audit ones from `audit`.
  const components = (types: string[]) => new Set(records.filter((r) => types.includes(r.eventType)).map((r) => r.source?.component));
  t.same([...components(['admission_decision', 'violation_admission'])], ['webhook'], 'admission records: source.component webhook');
  t.same([...components(['violation_audited', 'audit_started', 'audit_completed'])], ['audit'], 'audit records: source.component audit');
  t.match(decision.source, { replica: String, version: String }, 'and the process part of the source is kept');
});

t.test('the audit lease is held by this replica', async (t) => {
  const lease = await json(['get', 'lease', '-n', NS, 'gatekeeper-audit-leader']);
  t.equal(lease.spec.holderIdentity, POD);
});

t.test('a rotated certificate is served at once and trusted through the new caBundle', async (t) => {
  const before = (await json(['get', 'secret', '-n', NS, 'gatekeeper-webhook-server-cert'])).data['ca.crt'];
  await kube.kubectlOk(['delete', 'secret', '-n', NS, 'gatekeeper-webhook-server-cert']);
  const after = await waitFor('a new Secret', async () => {
    const r = await kube.kubectl(['get', 'secret', '-n', NS, 'gatekeeper-webhook-server-cert', '-o', 'json']);
    return r.code === 0 ? JSON.parse(r.stdout).data['ca.crt'] : undefined;
  }, 30_000, 250);
  t.not(after, before, 'a new CA');
  await waitFor('the new caBundle', async () => (await json(['get', 'validatingwebhookconfiguration', VWC])).webhooks[0].clientConfig.caBundle === after, 30_000, 250);
  // failurePolicy is Ignore: a denial proves the API server completed a TLS handshake with the new certificate.
  const denied = await waitFor('denied with the new certificate', async () => {
    const r = await kube.kubectl(['create', 'configmap', 'after-rotation', '-n', 'e2e', '--dry-run=server']);
    return r.code !== 0 ? r : undefined;
  }, 30_000, 500);
  t.match(denied.stderr, /denied the request: \[cm-must-have-owner\]/);
  t.match(gk.output(), /serving certificate rotated/);
});
