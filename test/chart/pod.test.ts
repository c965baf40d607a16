// The chart's pods, for real: the release is installed into a real kube-apiserver, then the containers of its webhook and
// audit pods run as local processes wired as the kubelet would (see pod.ts), each with its ServiceAccount's token — so
// the rendered args, the exporter config, the shared socket volume, the certificate, the probes and the least-privilege
// RBAC all have to work together: an AdmissionReview sent over TLS (verified against the chart's caBundle, for the
// Service's DNS name) ends up, through the sidecar, in the file sink; the audit takes its leader Lease.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { Agent, request } from 'undici';
import { waitFor } from '../helpers/process.js';
import { startKube, type KubeCluster } from '../peers/kube.js';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { Receiver, metric, quickRetry } from '../../exporter/test/helpers/exporter.js';
import { chartDir, find, helm, parseObjects, releaseNamespace, render, type K8sObject } from './helm.js';
import { simulatePod, type SimulatedPod } from './pod.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

let kube: KubeCluster;
let dir: string;
let objects: K8sObject[];
const pods: SimulatedPod[] = [];
const SINK_FILE = '/var/lib/gk-exporter/files/decisions.ndjson';
const RELEASE_VALUES = [
  'exporter.enabled=true',
  'exporter.sinks[0].name=archive',
  'exporter.sinks[0].type=file',
  `exporter.sinks[0].path=${SINK_FILE}`,
  'audit.interval=2',
  'exporter.terminationGracePeriodSeconds=40',
  'logLevel=info',
];

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

/**
 * An AdmissionReview for a ConfigMap, sent to a webhook pod over TLS as the API server sends it: the certificate the chart
 * generated, trusted through the caBundle of the chart's webhook configuration, for the Service's DNS name.
 */
async function postReview(t: Test, pod: SimulatedPod, uid: string): Promise<{ status: number; answer: any }> {
  const vwc = find(objects, 'ValidatingWebhookConfiguration', '-validating-webhook-configuration');
  const service = vwc.webhooks[0].clientConfig.service;
  const agent = new Agent({ connect: { ca: Buffer.from(vwc.webhooks[0].clientConfig.caBundle, 'base64').toString(), servername: `${service.name}.${service.namespace}.svc` } });
  t.teardown(() => agent.close());
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
  return { status: r.statusCode, answer: await r.body.json() };
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
  const install = await helm(['install', 'gk', chartDir, '-n', releaseNamespace, ...RELEASE_VALUES.flatMap((v) => ['--set', v])], { env: { KUBECONFIG: kube.kubeconfig } });
  if (install.code !== 0) throw new Error(`helm install: ${install.stderr}`);
  objects = parseObjects((await helm(['get', 'manifest', 'gk', '-n', releaseNamespace], { env: { KUBECONFIG: kube.kubeconfig } })).stdout);
});

t.teardown(async () => {
  for (const p of pods) await p.stop().catch(() => undefined);
  await kube?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

t.test('webhook pod: the sidecar starts first, both probes pass, a review over TLS is answered and exported', async (t) => {
  const deployment = find(objects, 'StatefulSet', '-controller-manager');
  const pod = await simulatePod(deployment, {
    dir: path.join(dir, 'webhook'),
    objects,
    podName: 'gk-webhook-0',
    namespace: releaseNamespace,
    env: { KUBECONFIG: await serviceAccountKubeconfig('webhook') },
  });
  pods.push(pod);
  t.same(pod.containers.map((c) => c.name), ['exporter', 'manager'], 'the exporter (native sidecar) started before the engine');

  const uid = '5a1f0c2e-0000-4000-8000-000000000001';
  const { status, answer } = await postReview(t, pod, uid);
  t.equal(status, 200);
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

// Pod lifecycle, with the processes the chart starts: reviews answered while the sink is down are acknowledged into the
// exporter's queue; then the pod goes away (stopped as the kubelet stops it). Counted by admissionUID at the receiver.

/** The release's objects, with the exporter config of `configFrom` (a rendering) sending to one HTTP sink at `url`. */
function withHttpSink(configFrom: K8sObject[], url: string): K8sObject[] {
  const cm = structuredClone(find(configFrom, 'ConfigMap', '-exporter-config'));
  for (const key of Object.keys(cm.data)) {
    const cfg = parseYaml(cm.data[key]);
    cfg.sinks = [{ name: 'siem', type: 'http', url, retry: quickRetry, batch: { linger: '5ms' } }];
    cm.data[key] = stringifyYaml(cfg);
  }
  return [...objects.filter((o) => !(o.kind === 'ConfigMap' && o.metadata.name === cm.metadata.name)), cm];
}

/** Posts `n` reviews and waits until the exporter holds them all in its queue for the (down) sink. */
async function reviewsQueued(t: Test, pod: SimulatedPod, prefix: string, n: number): Promise<string[]> {
  const uids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  for (const uid of uids) t.equal((await postReview(t, pod, uid)).status, 200);
  const url = `http://127.0.0.1:${pod.port('exporter', 'exporter-prom')}`;
  await waitFor(`${n} records queued for the down sink`, async () => (await metric(url, 'exporter_queue_depth', { sink: 'siem' })) === n, 60_000, 200);
  return uids;
}

function decisionsOnce(t: Test, receiver: Receiver, uids: string[]): void {
  const mine = receiver.records.filter((r) => r['eventType'] === 'admission_decision' && uids.includes(String(r['admissionUID'])));
  t.equal(new Set(mine.map((r) => r['admissionUID'])).size, uids.length, `decisions for all ${uids.length} reviews: 0 lost`);
  t.equal(mine.length, uids.length, 'each once');
}

t.test('persistent mode (the StatefulSet): a pod deleted while the sink is down loses nothing; its successor on the same claim delivers', async (t) => {
  const receiver = await Receiver.start(t, 'down503');
  const sts = find(objects, 'StatefulSet', '-controller-manager');
  const objs = withHttpSink(objects, receiver.url);
  const env = { KUBECONFIG: await serviceAccountKubeconfig('webhook') };
  const claims = { 'exporter-queue': path.join(dir, 'claims', 'exporter-queue-gk-webhook-1') };
  const podOf = (n: number) => simulatePod(sts, { dir: path.join(dir, `sts-${n}`), objects: objs, podName: 'gk-webhook-1', namespace: releaseNamespace, env, claims });

  const first = await podOf(1);
  pods.push(first);
  const uids = await reviewsQueued(t, first, 'sts', 20);
  pods.splice(pods.indexOf(first), 1);
  t.same(await first.stop(), { manager: 0, exporter: 0 }, 'the pod stops at once (no drain: the queue outlives it)');
  t.notMatch(first.containers.find((c) => c.name === 'exporter')!.proc.output(), /delivering the backlog/);
  t.equal(receiver.records.length, 0, 'nothing delivered yet: the sink was down');

  receiver.mode = 'ok';
  const second = await podOf(2);
  pods.push(second);
  await waitFor('the predecessor\'s 20 decisions delivered', () => receiver.records.length >= 20, 60_000, 200);
  decisionsOnce(t, receiver, uids);
  pods.splice(pods.indexOf(second), 1);
  t.same(await second.stop(), { manager: 0, exporter: 0 });
});

t.test('emptyDir mode (the Deployment): the exporter drains at shutdown and delivers when the sink returns within the grace period', async (t) => {
  const receiver = await Receiver.start(t, 'down503');
  const rendered = await render([], [...RELEASE_VALUES, 'exporter.queue.webhook.persistence.enabled=false']);
  const deployment = find(rendered, 'Deployment', '-controller-manager');
  t.equal(parseYaml(find(rendered, 'ConfigMap', '-exporter-config').data['webhook.yaml']).shutdownDrain, true);
  const pod = await simulatePod(deployment, {
    dir: path.join(dir, 'deploy'),
    objects: withHttpSink(rendered, receiver.url),
    podName: 'gk-webhook-abcde',
    namespace: releaseNamespace,
    env: { KUBECONFIG: await serviceAccountKubeconfig('webhook') },
  });
  pods.push(pod);
  const uids = await reviewsQueued(t, pod, 'deploy', 20);
  pods.splice(pods.indexOf(pod), 1);
  const stopped = pod.stop();
  const exporter = pod.containers.find((c) => c.name === 'exporter')!;
  await waitFor('the exporter draining', () => /delivering the backlog before exiting/.test(exporter.proc.output()), 60_000, 100);
  t.equal(exporter.proc.child.exitCode, null, 'the pod is held while the backlog waits');
  receiver.mode = 'ok';
  t.same(await stopped, { manager: 0, exporter: 0 }, 'then both exit 0');
  t.match(exporter.proc.output(), /backlog delivered/);
  decisionsOnce(t, receiver, uids);
});
