// The chart's pods, for real: the release is installed into a real kube-apiserver, then the containers of its webhook and
// audit pods run as local processes wired as the kubelet would (see pod.ts), each with its ServiceAccount's token — so
// the rendered args, the exporter config, the shared socket volume, the certificate, the probes and the least-privilege
// RBAC all have to work together: an AdmissionReview sent over TLS (verified against the chart's caBundle, for the
// Service's DNS name) ends up, through the sidecar, in the file sink; the audit takes its leader Lease.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { waitFor } from '../helpers/process.js';
import { startKube, type KubeCluster } from '../peers/kube.js';
import { chartDir, find, helm, parseObjects, releaseNamespace, type K8sObject } from './helm.js';
import { simulatePod, type SimulatedPod } from './pod.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

let kube: KubeCluster;
let dir: string;
let objects: K8sObject[];
const pods: SimulatedPod[] = [];
const SINK_FILE = '/var/lib/gk-exporter/files/decisions.ndjson';

/** A kubeconfig that authenticates as the release's ServiceAccount for a component (what the projected token gives a pod). */
async function serviceAccountKubeconfig(component: string): Promise<string> {
  const sa = find(objects, 'ServiceAccount', `-${component}`).metadata.name;
  const token = (await kube.kubectlOk(['-n', releaseNamespace, 'create', 'token', sa, '--duration=1h'])).trim();
  const file = path.join(dir, `${component}.kubeconfig`);
  await writeFile(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: test, cluster: {server: "${kube.server}", certificate-authority-data: ${Buffer.from(kube.caPem).toString('base64')}}}]`,
      `users: [{name: ${sa}, user: {token: ${token}}}]`,
      `contexts: [{name: test, context: {cluster: test, user: ${sa}, namespace: ${releaseNamespace}}}]`,
      'current-context: test',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return file;
}

async function sinkLines(pod: SimulatedPod): Promise<any[]> {
  const text = await readFile(pod.localPath(SINK_FILE), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

t.before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gk-pod-'));
  kube = await startKube();
  await kube.kubectlOk(['apply', '--server-side', '-f', path.join(chartDir, 'crds')]);
  await kube.kubectlOk(['wait', '--for=condition=established', '--timeout=60s', 'crd', '--all']);
  await kube.kubectlOk(['create', 'namespace', releaseNamespace]);
  const install = await helm(
    [
      'install', 'gk', chartDir, '-n', releaseNamespace,
      '--set', 'exporter.enabled=true',
      '--set', 'exporter.sinks[0].name=archive',
      '--set', 'exporter.sinks[0].type=file',
      '--set', `exporter.sinks[0].path=${SINK_FILE}`,
      '--set', 'audit.interval=2',
      '--set', 'exporter.terminationGracePeriodSeconds=40',
      '--set', 'logLevel=info',
    ],
    { env: { KUBECONFIG: kube.kubeconfig } },
  );
  if (install.code !== 0) throw new Error(`helm install: ${install.stderr}`);
  objects = parseObjects((await helm(['get', 'manifest', 'gk', '-n', releaseNamespace], { env: { KUBECONFIG: kube.kubeconfig } })).stdout);
});

t.teardown(async () => {
  for (const p of pods) await p.stop().catch(() => undefined);
  await kube?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

t.test('webhook pod: the sidecar starts first, both probes pass, a review over TLS is answered and exported', async (t) => {
  const deployment = find(objects, 'Deployment', '-controller-manager');
  const pod = await simulatePod(deployment, {
    dir: path.join(dir, 'webhook'),
    objects,
    podName: 'gk-webhook-0',
    namespace: releaseNamespace,
    env: { KUBECONFIG: await serviceAccountKubeconfig('webhook') },
  });
  pods.push(pod);
  t.same(pod.containers.map((c) => c.name), ['exporter', 'manager'], 'the exporter (native sidecar) started before the engine');

  // The certificate the chart generated, trusted through the caBundle of the chart's webhook configuration, for the
  // name the API server uses to reach the Service.
  const vwc = find(objects, 'ValidatingWebhookConfiguration', '-validating-webhook-configuration');
  const service = vwc.webhooks[0].clientConfig.service;
  const agent = new Agent({ connect: { ca: Buffer.from(vwc.webhooks[0].clientConfig.caBundle, 'base64').toString(), servername: `${service.name}.${service.namespace}.svc` } });
  t.teardown(() => agent.close());
  const uid = '5a1f0c2e-0000-4000-8000-000000000001';
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      name: 'probe',
      namespace: 'default',
      operation: 'CREATE',
      userInfo: { username: 'tester' },
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'probe', namespace: 'default' } },
      dryRun: false,
    },
  };
  const r = await request(`https://127.0.0.1:${pod.port('manager', 'webhook-server')}${service.path}`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(review),
  });
  const answer = (await r.body.json()) as any;
  t.equal(r.statusCode, 200);
  t.equal(answer.response.uid, uid);
  t.equal(answer.response.allowed, true, 'allowed (no constraints)');

  const records = (await waitFor('the review in the file sink', async () => {
    const lines = await sinkLines(pod);
    return lines.some((l) => JSON.stringify(l).includes(uid)) ? lines : undefined;
  }, 60_000, 250))!;
  t.ok(records.length >= 1, `${records.length} record(s) delivered through the shared socket to the file sink`);

  const manager = pod.containers.find((c) => c.name === 'manager')!;
  t.notMatch(manager.proc.output(), /forbidden/i, "the webhook's RBAC covers what it does");

  const metrics = await request(`http://127.0.0.1:${pod.port('exporter', 'exporter-prom')}/metrics`);
  const text = await metrics.body.text();
  t.match(text, /exporter_records_delivered_total\{sink="archive"\} [1-9]/, 'the sidecar counts the delivery on the port the metrics Service targets');

  // Stopping as the kubelet does: the engine first, then the sidecar, which flushes and exits cleanly.
  pods.splice(pods.indexOf(pod), 1);
  const codes = await pod.stop();
  t.same(codes, { manager: 0, exporter: 0 }, 'both exit 0 on SIGTERM');
});

t.test("audit pod: runs with the audit's RBAC, holds its leader Lease, exports its runs", async (t) => {
  const deployment = find(objects, 'Deployment', '-audit');
  const pod = await simulatePod(deployment, {
    dir: path.join(dir, 'audit'),
    objects,
    podName: 'gk-audit-0',
    namespace: releaseNamespace,
    env: { KUBECONFIG: await serviceAccountKubeconfig('audit') },
  });
  pods.push(pod);
  const leaseName = (find(objects, 'Deployment', '-audit').spec.template.spec.containers[0].args as string[]).find((a) => a.startsWith('--leader-lease-name='))!.split('=')[1]!;
  const lease = await waitFor('the leader Lease', async () => {
    const r = await kube.kubectl(['-n', releaseNamespace, 'get', 'lease', leaseName, '-o', 'json']);
    return r.code === 0 ? JSON.parse(r.stdout) : undefined;
  }, 60_000, 500);
  t.equal(lease.spec.holderIdentity, 'gk-audit-0', 'the audit holds the lease (its namespaced Role)');
  const records = (await waitFor('audit records in the file sink', async () => {
    const lines = await sinkLines(pod);
    return lines.length ? lines : undefined;
  }, 60_000, 250))!;
  t.ok(records.some((r) => /audit/.test(String(r.eventType))), `audit runs exported (${[...new Set(records.map((r) => r.eventType))].join(', ')})`);
  t.notMatch(pod.containers.find((c) => c.name === 'manager')!.proc.output(), /forbidden/i, "the audit's RBAC covers what it does");

  pods.splice(pods.indexOf(pod), 1);
  const codes = await pod.stop();
  t.same(codes, { manager: 0, exporter: 0 }, 'both exit 0 on SIGTERM');
});
