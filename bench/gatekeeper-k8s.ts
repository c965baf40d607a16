// Kubernetes mode against a real kube-apiserver (etcd + kube-apiserver from scripts/peers): audit throughput and memory
// over objects created through the API server, and admission latency as the API server sees it (webhook over TLS).
// Run: node --expose-gc --import tsx bench/gatekeeper-k8s.ts   (BENCH_K8S_OBJECTS, BENCH_K8S_PAYLOAD_BYTES, BENCH_K8S_CONSTRAINTS,
// BENCH_K8S_REQUESTS, BENCH_K8S_CHUNK_SIZE to size it; --expose-gc makes the memory baseline steadier, and with
// BENCH_K8S_LIVE_HEAP=1 the audit's samples follow a full GC, so its heap peak is live memory rather than garbage)
import path from 'node:path';
import { pino } from 'pino';
import { startManager } from '../gatekeeper/src/k8s/manager.js';
import { repoRoot, sharedDir } from '../test/helpers/peers.js';
import { freePort } from '../test/helpers/ports.js';
import { waitFor } from '../test/helpers/process.js';
import { startKube } from '../test/peers/kube.js';

const OBJECTS = Number(process.env['BENCH_K8S_OBJECTS'] ?? 3000);
const CONSTRAINTS = Number(process.env['BENCH_K8S_CONSTRAINTS'] ?? 5);
const REQUESTS = Number(process.env['BENCH_K8S_REQUESTS'] ?? 300);
const PAYLOAD_BYTES = Number(process.env['BENCH_K8S_PAYLOAD_BYTES'] ?? 200);
const CHUNK_SIZE = Number(process.env['BENCH_K8S_CHUNK_SIZE'] ?? 500);
const LIVE_HEAP = process.env['BENCH_K8S_LIVE_HEAP'] === '1';
if (LIVE_HEAP && !global.gc) throw new Error('BENCH_K8S_LIVE_HEAP=1 needs node --expose-gc');
const NAMESPACES = 10;
const CONCURRENCY = 16;

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function pool<T>(n: number, each: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await each(i);
    }
  }));
  return out;
}

const kube = await startKube();
let manager: Awaited<ReturnType<typeof startManager>> | undefined;
try {
  const t0 = Date.now();
  await kube.kubectlOk(['apply', '-f', path.join(repoRoot, 'gatekeeper/crds')]);
  await kube.kubectlOk(['create', 'namespace', 'gatekeeper-system']);
  await kube.kubectlOk(['label', 'namespace', 'gatekeeper-system', 'admission.gatekeeper.sh/ignore=yes']);
  for (let n = 0; n < NAMESPACES; n++) await kube.kubectlOk(['create', 'namespace', `bench-${n}`]);
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/constrainttemplates.templates.gatekeeper.sh', '--timeout=60s']);

  // Objects first (no webhook yet): half of them carry the label the constraints require.
  const created = Date.now();
  await pool(OBJECTS, async (i) => {
    const r = await kube.api('POST', `/api/v1/namespaces/bench-${i % NAMESPACES}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `cm-${i}`, labels: i % 2 ? { owner: 'team' } : { app: 'bench' } },
      data: { index: String(i), payload: 'x'.repeat(PAYLOAD_BYTES) },
    });
    if (r.status !== 201) throw new Error(`creating cm-${i}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  });
  const createSecs = (Date.now() - created) / 1000;

  const webhookPort = await freePort();
  const vwc = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'gatekeeper-validating-webhook-configuration' },
    webhooks: [{
      name: 'validation.gatekeeper.sh',
      admissionReviewVersions: ['v1'],
      clientConfig: { url: `https://127.0.0.1:${webhookPort}/v1/admit` },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'], scope: 'Namespaced' }],
      failurePolicy: 'Fail',
      sideEffects: 'None',
      timeoutSeconds: 10,
    }],
  };
  await kube.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(vwc) });
  await kube.kubectlOk(['apply', '-f', path.join(sharedDir, 'gatekeeper-library/general/requiredlabels/template.yaml')]);

  const logger = pino({ level: 'warn' });
  manager = await startManager({
    operations: ['webhook', 'audit', 'status'],
    kubeconfig: kube.kubeconfig,
    namespace: 'gatekeeper-system',
    podName: 'bench-0',
    configName: 'config',
    port: webhookPort,
    host: '127.0.0.1',
    exemptNamespaces: ['gatekeeper-system'],
    logDenies: false,
    maxRequestBytes: 10 * 1024 * 1024,
    evaluationTimeoutMs: 5000,
    certRotation: true,
    certSecretName: 'gatekeeper-webhook-server-cert',
    certHosts: ['127.0.0.1'],
    validatingWebhookConfigurations: ['gatekeeper-validating-webhook-configuration'],
    auditIntervalSeconds: 0,
    auditChunkSize: CHUNK_SIZE,
    constraintViolationsLimit: 20,
    auditFromCache: false,
    auditMatchKindOnly: true,
    leaderElection: false,
    leaderLeaseName: 'gatekeeper-audit-leader',
    metricsPort: 0,
    logger,
  });
  await waitFor('constraint CRD', async () => (await kube.kubectl(['get', 'crd', 'k8srequiredlabels.constraints.gatekeeper.sh'])).code === 0, 60_000, 250);
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/k8srequiredlabels.constraints.gatekeeper.sh', '--timeout=60s']);
  for (let c = 0; c < CONSTRAINTS; c++) {
    await kube.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'constraints.gatekeeper.sh/v1beta1',
        kind: 'K8sRequiredLabels',
        metadata: { name: `owner-${c}` },
        spec: {
          enforcementAction: c === 0 ? 'deny' : 'dryrun',
          match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }], namespaces: ['bench-*'] },
          parameters: { labels: [{ key: 'owner' }] },
        },
      }),
    });
  }
  // Wait until every constraint is loaded (the webhook denies with the deny one).
  for (let waited = 0; manager.engine.listConstraints().length < CONSTRAINTS; waited += 100) {
    if (waited > 60_000) throw new Error('constraints not loaded after 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const setupSecs = (Date.now() - t0) / 1000;

  // Audit: list every kind the constraints match through the API server, evaluate, write statuses.
  global.gc?.();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  const sampler = setInterval(() => {
    if (LIVE_HEAP) global.gc!();
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, LIVE_HEAP ? 100 : 20);
  const auditStarted = performance.now();
  const report = (await manager.audit!.runOnce())!;
  const auditSecs = (performance.now() - auditStarted) / 1000;
  clearInterval(sampler);

  // Admission latency through the API server: server-side dry-run creates, the API server calls the webhook over TLS.
  const latency = async (label: string) => {
    const times = await pool(REQUESTS, async (i) => {
      const started = performance.now();
      const r = await kube.api('POST', `/api/v1/namespaces/bench-${i % NAMESPACES}/configmaps?dryRun=All`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `probe-${label}-${i}`, labels: { owner: 'team' } },
        data: { a: 'b' },
      });
      if (r.status !== 201) throw new Error(`${label} probe ${i}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      return performance.now() - started;
    });
    return times.sort((a, b) => a - b);
  };
  const withWebhook = await latency('webhook');
  const denied = await kube.api('POST', '/api/v1/namespaces/bench-0/configmaps?dryRun=All', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'no-owner' } });
  await kube.kubectlOk(['delete', 'validatingwebhookconfiguration', 'gatekeeper-validating-webhook-configuration']);
  await new Promise((r) => setTimeout(r, 2000)); // the API server's webhook configuration cache
  const withoutWebhook = await latency('plain');

  const objectsPerSec = report.totalObjects / auditSecs;
  console.log(`gatekeeper-k8s: kube-apiserver ${path.basename(path.dirname(kube.kubectlPath))}, ${OBJECTS} ConfigMaps of ${PAYLOAD_BYTES} payload bytes in ${NAMESPACES} namespaces (created in ${createSecs.toFixed(1)} s), ${CONSTRAINTS} constraints, audit chunk ${CHUNK_SIZE}; setup ${setupSecs.toFixed(1)} s`);
  console.log(`audit: ${report.totalObjects} objects x ${report.constraints.length} constraints in ${auditSecs.toFixed(2)} s (list + evaluate + status) = ${objectsPerSec.toFixed(0)} objects/s, ${(objectsPerSec * report.constraints.length).toFixed(0)} object-constraint evaluations/s; ${report.totalViolations} violations`);
  console.log(`audit memory${LIVE_HEAP ? ' (sampled after a full GC every 100 ms)' : ''}: rss ${mb(before.rss)} -> peak ${mb(peakRss)} (+${mb(peakRss - before.rss)}), heap ${mb(before.heapUsed)} -> peak ${mb(peakHeap)} (+${mb(peakHeap - before.heapUsed)})`);
  console.log(`admission through the API server (${REQUESTS} dry-run creates, ${CONCURRENCY} concurrent): with webhook p50 ${pct(withWebhook, 50).toFixed(1)} ms, p99 ${pct(withWebhook, 99).toFixed(1)} ms; without webhook p50 ${pct(withoutWebhook, 50).toFixed(1)} ms, p99 ${pct(withoutWebhook, 99).toFixed(1)} ms`);
  console.log(`a violating create was answered ${denied.status} (${String(denied.body?.message ?? '').slice(0, 120)})`);
} finally {
  await manager?.stop();
  await kube.stop();
}
