// namespaceSelector in a cluster, never failing open: `gatekeeper run` (webhook on a worker thread + audit, no Config:
// nothing synced) reads Namespaces from its own watch, a Namespace created a moment ago from the API, and answers an
// error (allowed: false) for a Namespace it cannot read at all.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { bins, repoRoot, sharedDir } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, waitFor, waitReady, type Started } from '../helpers/process.js';
import { startKube, type KubeCluster } from '../peers/kube.js';

const NS = 'gatekeeper-system';
// The name the certificate rotator injects its CA into (Gatekeeper's default).
const VWC = 'gatekeeper-validating-webhook-configuration';
const MISSING =
  'unable to match constraints: error matching the requested object: cm :failed to run Match criteria: namespace selector for namespace-scoped object but missing Namespace';
let kube: KubeCluster;
let gk: Started | undefined;
let work: string;
let webhookPort: number;

t.before(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'gk-k8s-nssel-'));
  kube = await startKube();
  await kube.kubectlOk(['apply', '-f', path.join(repoRoot, 'gatekeeper/crds')]);
  await kube.kubectlOk(['create', 'namespace', NS]);
  for (const [ns, team] of [['loans', 'a'], ['open', 'b']]) {
    await kube.kubectlOk(['create', 'namespace', ns!]);
    await kube.kubectlOk(['label', 'namespace', ns!, `team=${team}`]);
    // Present before the constraint: only the audit can find these.
    await kube.kubectlOk(['create', 'configmap', 'old', '-n', ns!]);
  }
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/constrainttemplates.templates.gatekeeper.sh', '--timeout=60s']);
  webhookPort = await freePort();
  const metricsPort = await freePort();
  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: VWC },
      webhooks: [
        {
          name: 'validation.gatekeeper.sh',
          admissionReviewVersions: ['v1'],
          clientConfig: { url: `https://127.0.0.1:${webhookPort}/v1/admit` },
          rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'], scope: 'Namespaced' }],
          failurePolicy: 'Fail',
          sideEffects: 'None',
          timeoutSeconds: 10,
        },
      ],
    }),
  });
  gk = start(process.execPath, [
    bins.gatekeeper, 'run',
    '--default-create-vap-for-templates=false', // the webhook and audit are under test, not the API server's own enforcement
    '--kubeconfig', kube.kubeconfig,
    '--namespace', NS,
    '--pod-name', 'nssel-0',
    '--host', '127.0.0.1',
    '--port', String(webhookPort),
    '--metrics-port', String(metricsPort),
    '--cert-host', '127.0.0.1',
    '--exempt-namespace', NS,
    '--eval-workers', '1',
    '--audit-interval', '2',
    '--no-leader-election',
  ]);
  await waitReady('gatekeeper /readyz', gk, `http://127.0.0.1:${metricsPort}/readyz`);
  await kube.kubectlOk(['apply', '-f', path.join(sharedDir, 'gatekeeper-library/general/requiredlabels/template.yaml')]);
  await waitFor('constraint CRD', async () => (await kube.kubectl(['get', 'crd', 'k8srequiredlabels.constraints.gatekeeper.sh'])).code === 0, 60_000, 250);
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/k8srequiredlabels.constraints.gatekeeper.sh', '--timeout=60s']);
  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'constraints.gatekeeper.sh/v1beta1',
      kind: 'K8sRequiredLabels',
      metadata: { name: 'team-a-owner' },
      spec: {
        match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }], namespaceSelector: { matchLabels: { team: 'a' } } },
        parameters: { labels: [{ key: 'owner' }] },
      },
    }),
  });
});

t.teardown(async () => {
  await gk?.kill('SIGTERM');
  await kube?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const createCm = (ns: string) => kube.kubectl(['create', 'configmap', 'cm', '-n', ns, '--dry-run=server']);

t.test('the webhook selects by the labels of Namespaces the Config does not sync', async (t) => {
  // Until the CA is injected and the constraint loaded, the API server fails the call or the webhook allows.
  const denied = await waitFor('the constraint is enforced', async () => {
    const r = await createCm('loans');
    return /denied the request/.test(r.stderr) ? r : undefined;
  }, 60_000, 500);
  // The template runs on CEL (Gatekeeper's engine order): one line per failing validation.
  t.match(denied.stderr, /denied the request: \[team-a-owner\] missing required label, requires all of: owner\n\[team-a-owner\] regex mismatch\n/);
  t.equal((await createCm('open')).code, 0, 'a Namespace the selector does not select');

  // Created and used at once: the watch may not have it yet, the API does.
  await kube.kubectlOk(['create', 'namespace', 'fresh']);
  await kube.kubectlOk(['label', 'namespace', 'fresh', 'team=a']);
  const fresh = await createCm('fresh');
  t.not(fresh.code, 0);
  t.match(fresh.stderr, /\[team-a-owner\] missing required label, requires all of: owner/);
});

t.test('a Namespace that cannot be read is an error answer, never an allow', async (t) => {
  const secret = JSON.parse(await kube.kubectlOk(['get', 'secret', '-n', NS, 'gatekeeper-webhook-server-cert', '-o', 'json']));
  const agent = new Agent({ connect: { ca: Buffer.from(secret.data['ca.crt'], 'base64').toString() } });
  t.teardown(() => agent.close());
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'ghost-1',
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      name: 'cm',
      namespace: 'ghost',
      operation: 'CREATE',
      userInfo: { username: 'tester' },
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'ghost' } },
    },
  };
  const res = await request(`https://127.0.0.1:${webhookPort}/v1/admit`, { method: 'POST', body: JSON.stringify(review), headers: { 'content-type': 'application/json' }, dispatcher: agent });
  const body = (await res.body.json()) as any;
  t.same(body.response, { uid: 'ghost-1', allowed: false, status: { code: 500, message: `[team-a-owner] ${MISSING}` } });
});

t.test('the audit reads the same Namespaces', async (t) => {
  const c = await waitFor('an audit with the constraint', async () => {
    const o = JSON.parse(await kube.kubectlOk(['get', 'k8srequiredlabels', 'team-a-owner', '-o', 'json']));
    return o.status?.auditTimestamp && o.status.totalViolations !== undefined && o.status.violations?.length ? o : undefined;
  }, 60_000, 500);
  // CEL: the ConfigMap fails both validations of the template, one violation each.
  t.equal(c.status.totalViolations, 2);
  t.same(
    c.status.violations.map((v: any) => `${v.namespace}/${v.name}: ${v.message}`).sort(),
    ['loans/old: missing required label, requires all of: owner', 'loans/old: regex mismatch'],
    'the ConfigMap in the selected Namespace only',
  );
});
