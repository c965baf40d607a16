// Two replicas of `gatekeeper run` against a real kube-apiserver: a mounted serving certificate instead of the
// rotator, one byPod status entry per replica, one audit leader, and a graceful stop that hands the lease over and
// withdraws the replica's byPod entries.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { generateBundle } from '../../gatekeeper/src/k8s/certs.js';
import { bins, sharedDir, repoRoot } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, waitFor, type Started, waitReady } from '../helpers/process.js';
import { startKube, type KubeCluster } from '../peers/kube.js';

const NS = 'gatekeeper-system';
let kube: KubeCluster;
let work: string;
const replicas: Started[] = [];

const json = async (args: string[]) => JSON.parse(await kube.kubectlOk([...args, '-o', 'json']));

async function startReplica(name: string, certDir: string, operations = 'webhook,audit,status'): Promise<{ proc: Started; port: number }> {
  const port = await freePort();
  const metricsPort = await freePort();
  const proc = start(process.execPath, [
    bins.gatekeeper, 'controller',
    '--default-create-vap-for-templates=false', // the webhook and audit are under test, not the API server's own enforcement
    '--kubeconfig', kube.kubeconfig,
    '--namespace', NS,
    '--pod-name', name,
    '--operation', operations,
    '--host', '127.0.0.1',
    '--port', String(port),
    '--metrics-port', String(metricsPort),
    '--disable-cert-rotation',
    '--cert-dir', certDir,
    '--exempt-namespace', NS,
    '--audit-interval', '2',
    '--audit-match-kind-only',
  ]);
  replicas.push(proc);
  await waitReady(`${name} ready`, proc, `http://127.0.0.1:${metricsPort}/readyz`);
  return { proc, port };
}

t.before(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'gk-k8s-replicas-'));
  kube = await startKube();
  await kube.kubectlOk(['apply', '-f', path.join(repoRoot, 'gatekeeper/crds')]);
  await kube.kubectlOk(['create', 'namespace', NS]);
  await kube.kubectlOk(['create', 'namespace', 'apps']);
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/constrainttemplates.templates.gatekeeper.sh', '--timeout=60s']);
});
t.teardown(async () => {
  for (const r of replicas) await r.kill('SIGKILL');
  await kube?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

t.test('two replicas: mounted certificate, byPod per replica, one audit leader, lease handed over on SIGTERM', async (t) => {
  // A certificate issued elsewhere (e.g. cert-manager), mounted as tls.crt / tls.key.
  const bundle = generateBundle(['127.0.0.1'], { caValidityMs: 86_400_000, certValidityMs: 86_400_000 });
  const certDir = path.join(work, 'certs');
  await mkdir(certDir);
  await writeFile(path.join(certDir, 'tls.crt'), bundle.certPem);
  await writeFile(path.join(certDir, 'tls.key'), bundle.keyPem);

  const a = await startReplica('replica-a', certDir);
  await waitFor('replica-a holds the lease', async () => (await kube.kubectl(['get', 'lease', '-n', NS, 'gatekeeper-audit-leader', '-o', 'jsonpath={.spec.holderIdentity}'])).stdout === 'replica-a', 30_000, 250);
  const b = await startReplica('replica-b', certDir);

  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'gatekeeper-validating-webhook-configuration' },
      webhooks: [{
        name: 'validation.gatekeeper.sh',
        admissionReviewVersions: ['v1'],
        clientConfig: { url: `https://127.0.0.1:${b.port}/v1/admit`, caBundle: Buffer.from(bundle.caPem).toString('base64') },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'] }],
        failurePolicy: 'Fail',
        sideEffects: 'None',
      }],
    }),
  });
  await kube.kubectlOk(['apply', '-f', path.join(sharedDir, 'gatekeeper-library/general/requiredlabels/template.yaml')]);
  await waitFor('constraint CRD', async () => (await kube.kubectl(['get', 'crd', 'k8srequiredlabels.constraints.gatekeeper.sh'])).code === 0, 60_000, 250);
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/k8srequiredlabels.constraints.gatekeeper.sh', '--timeout=60s']);
  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'constraints.gatekeeper.sh/v1beta1',
      kind: 'K8sRequiredLabels',
      metadata: { name: 'cm-owner' },
      spec: { match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }], namespaces: ['apps'] }, parameters: { labels: [{ key: 'owner' }] } },
    }),
  });

  const tpl = await waitFor('byPod of both replicas', async () => {
    const o = await json(['get', 'constrainttemplate', 'k8srequiredlabels']);
    return o.status?.byPod?.length === 2 ? o : undefined;
  }, 30_000, 250);
  t.same(tpl.status.byPod.map((p: any) => p.id), ['replica-a', 'replica-b'], 'one entry per replica, sorted');

  const denied = await waitFor('denied through the mounted certificate', async () => {
    const r = await kube.kubectl(['create', 'configmap', 'x', '-n', 'apps', '--dry-run=server']);
    return r.code !== 0 ? r : undefined;
  }, 30_000, 500);
  // The template runs on CEL (Gatekeeper's engine order).
  t.match(denied.stderr, /denied the request: \[cm-owner\] missing required label, requires all of: owner\n\[cm-owner\] regex mismatch\n/);

  const audited = await waitFor('audit by the leader', async () => {
    const o = await json(['get', 'k8srequiredlabels', 'cm-owner']);
    return o.status?.auditTimestamp ? o : undefined;
  }, 30_000, 250);
  t.equal(audited.status.totalViolations, 0);

  await waitFor('byPod of both replicas on the constraint', async () => (await json(['get', 'k8srequiredlabels', 'cm-owner'])).status?.byPod?.length === 2, 30_000, 250);

  // Graceful stop of the leader: it exits 0, releases the lease, and replica-b takes over well within the lease duration.
  const stopped = Date.now();
  t.equal(await a.proc.kill('SIGTERM'), 0, 'replica-a exits cleanly');
  const ids = async (args: string[]) => ((await json(args)).status?.byPod ?? []).map((p: any) => p.id);
  t.same(await ids(['get', 'constrainttemplate', 'k8srequiredlabels']), ['replica-b'], "the stopped replica's byPod entry is gone from the template");
  t.same(await ids(['get', 'k8srequiredlabels', 'cm-owner']), ['replica-b'], 'and from the constraint');
  await waitFor('replica-b holds the lease', async () => (await kube.kubectl(['get', 'lease', '-n', NS, 'gatekeeper-audit-leader', '-o', 'jsonpath={.spec.holderIdentity}'])).stdout === 'replica-b', 30_000, 250);
  t.ok(Date.now() - stopped < 15_000, 'handed over before the 15 s lease would have expired');
  const before = audited.status.auditTimestamp;
  await waitFor('replica-b audits', async () => {
    const o = await json(['get', 'k8srequiredlabels', 'cm-owner']);
    return o.status?.auditTimestamp && o.status.auditTimestamp > before;
  }, 30_000, 500);
  t.pass('the new leader audits');

  // Ready means loaded: a replica started now denies on its very first review once /readyz says 200.
  const c = await startReplica('replica-c', certDir, 'webhook');
  const dispatcher = new Agent({ connect: { ca: bundle.caPem } });
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'first-review',
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      name: 'x',
      namespace: 'apps',
      operation: 'CREATE',
      userInfo: { username: 'someone' },
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'apps' } },
    },
  };
  const r = await request(`https://127.0.0.1:${c.port}/v1/admit`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify(review) });
  const answer = (await r.body.json()) as any;
  await dispatcher.close();
  t.equal(answer.response.allowed, false, 'denied on the first review');
  t.match(answer.response.status.message, /^\[cm-owner\] missing required label, requires all of: owner\n\[cm-owner\] regex mismatch$/);
});
