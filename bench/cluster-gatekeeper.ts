// Admission through the API server in a real one-node cluster (test/peers/cluster.ts), ours against Gatekeeper v3.23's
// own manager (built from its Go module, installed by its own chart), one after the other in the same cluster, same
// template, constraint and objects: p50/p99 latency of server-side dry-run Pod creates (half violating) and the
// reviews/s sustained at a fixed concurrency. Prints figures; asserts nothing.
// Each side is measured BENCH_CLUSTER_REPEATS times in a row (after one warm-up): the median of those runs is printed
// with their range and the load average, since a shared machine's load moves the figures more than anything else.
// Env: BENCH_CLUSTER_REQUESTS (per run, default 1000), BENCH_CLUSTER_REPEATS (3), BENCH_CLUSTER_CONCURRENCY (16),
// BENCH_CLUSTER_REPLICAS (2), BENCH_CLUSTER_EVAL_WORKERS (our webhook's --eval-workers; default: the chart's, i.e. none).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { helm, chartDir } from '../test/chart/helm.js';
import { buildImages } from '../test/images/image.js';
import { peerPath, repoRoot } from '../test/helpers/peers.js';
import { waitFor } from '../test/helpers/process.js';
import { pauseImage, startCluster, type RealCluster } from '../test/peers/cluster.js';

const REQUESTS = Number(process.env.BENCH_CLUSTER_REQUESTS ?? 1000);
const REPEATS = Math.max(1, Number(process.env.BENCH_CLUSTER_REPEATS ?? 3));
const CONCURRENCY = Number(process.env.BENCH_CLUSTER_CONCURRENCY ?? 16);
const REPLICAS = Number(process.env.BENCH_CLUSTER_REPLICAS ?? 2);
const EVAL_WORKERS = process.env.BENCH_CLUSTER_EVAL_WORKERS;
const NS = 'bench';

const versions = readFileSync(path.join(repoRoot, 'scripts/peers/versions.env'), 'utf8');
const setting = (key: string) => versions.match(new RegExp(`^${key}=(.+)$`, 'm'))![1]!.trim();
const template = readFileSync(path.join(repoRoot, 'examples/policies/template-required-labels.yaml'), 'utf8');
const constraint = `
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata: {name: pods-need-owner}
spec:
  enforcementAction: deny
  match: {kinds: [{apiGroups: [""], kinds: ["Pod"]}], namespaces: [${NS}]}
  parameters: {labels: [{key: owner}]}
`;

const pod = (name: string, violating: boolean) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: NS, labels: violating ? { app: 'x' } : { app: 'x', owner: 'team' } },
  spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: pauseImage, imagePullPolicy: 'Never' }] },
});

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
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const median = (xs: number[]) => pct([...xs].sort((a, b) => a - b), 50);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function measure(cluster: RealCluster, label: string): Promise<string> {
  await cluster.kubectlOk(['apply', '-f', '-'], { input: template });
  await waitFor('the constraint CRD', async () => (await cluster.kubectl(['apply', '-f', '-'], { input: constraint })).code === 0, 240_000, 1000);
  await waitFor(`${label} denying`, async () => (await cluster.api('POST', `/api/v1/namespaces/${NS}/pods?dryRun=All`, pod('probe', true))).status === 403, 240_000, 1000);
  const run = async (n: number, tag: string) => {
    const wrong: string[] = [];
    const started = performance.now();
    const times = await pool(n, async (i) => {
      const violating = i % 2 === 0;
      const t0 = performance.now();
      const r = await cluster.api('POST', `/api/v1/namespaces/${NS}/pods?dryRun=All`, pod(`${tag}-${i}`, violating));
      if (r.status !== (violating ? 403 : 201)) wrong.push(`${violating ? 'violating' : 'compliant'} → ${r.status}${r.status >= 500 || r.status === 201 ? '' : ` ${String(r.body?.message ?? '').slice(0, 80)}`}`);
      return performance.now() - t0;
    });
    return { times: times.sort((a, b) => a - b), secs: (performance.now() - started) / 1000, wrong };
  };
  await run(Math.min(200, REQUESTS), 'warm');
  const runs: Array<{ p50: number; p99: number; rate: number; wrong: string[] }> = [];
  for (let k = 0; k < REPEATS; k++) {
    const r = await run(REQUESTS, `pod${k}`);
    runs.push({ p50: pct(r.times, 50), p99: pct(r.times, 99), rate: REQUESTS / r.secs, wrong: r.wrong });
  }
  const fig = (f: (r: (typeof runs)[number]) => number, digits: number) => {
    const xs = runs.map(f);
    return `${median(xs).toFixed(digits)}${REPEATS > 1 ? ` (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})` : ''}`;
  };
  const wrong = runs.flatMap((r) => r.wrong);
  return (
    `${label}: p50 ${fig((r) => r.p50, 1)} ms, p99 ${fig((r) => r.p99, 1)} ms, ${fig((r) => r.rate, 0)} reviews/s ` +
    `(median of ${REPEATS} runs of ${REQUESTS} dry-run Pod creates, half violating, ${CONCURRENCY} concurrent; load average ${loadavg()}` +
    `${wrong.length ? `; ${wrong.length} WRONG verdicts: ${[...new Set(wrong)].join('; ')}` : ''})`
  );
}

async function removePolicies(cluster: RealCluster): Promise<void> {
  await cluster.kubectlOk(['delete', 'constrainttemplates', '--all', '--wait=true'], { timeoutMs: 180_000 });
  const crds = JSON.parse(await cluster.kubectlOk(['get', 'crd', '-o', 'json'])).items
    .map((c: { metadata: { name: string } }) => c.metadata.name)
    .filter((n: string) => n.endsWith('.gatekeeper.sh'));
  if (crds.length) await cluster.kubectlOk(['delete', 'crd', ...crds, '--ignore-not-found', '--wait=true'], { timeoutMs: 180_000 });
}

const helmOk = async (cluster: RealCluster, args: string[]) => {
  const r = await helm(['--kubeconfig', cluster.kubeconfig, ...args], { timeoutMs: 900_000 });
  if (r.code !== 0) throw new Error(`helm ${args[0]} failed: ${r.stderr}`);
};

const images = await buildImages();
const gatekeeperArchive = peerPath('gatekeeper-image');
const gatekeeperChart = execFileSync('bash', [path.join(repoRoot, 'scripts/peers/get-gatekeeper-image.sh'), 'chart'], { encoding: 'utf8' }).trim();
const cluster = await startCluster();
const lines: string[] = [];
try {
  for (const image of images) await cluster.importImage(image.tarball);
  await cluster.importImage(gatekeeperArchive);
  await cluster.kubectlOk(['create', 'namespace', NS]);
  const small = { requests: { cpu: '10m', memory: '64Mi' } };

  const oursArgs = [
    '--set', `webhook.replicas=${REPLICAS}`, '--set-json', `webhook.resources=${JSON.stringify(small)}`, '--set-json', `audit.resources=${JSON.stringify(small)}`,
    ...(EVAL_WORKERS ? ['--set-json', `webhook.extraArgs=${JSON.stringify([`--eval-workers=${EVAL_WORKERS}`])}`] : []),
  ];
  await helmOk(cluster, ['install', 'gk', chartDir, '-n', 'gk-system', '--create-namespace', '--wait', '--timeout', '10m', ...oursArgs]);
  const workers = EVAL_WORKERS ? `, --eval-workers=${EVAL_WORKERS}` : '';
  lines.push(await measure(cluster, `ours (gk-exporter webhook, exporter off${workers})`));
  await helmOk(cluster, ['upgrade', 'gk', chartDir, '-n', 'gk-system', '--reuse-values', '--wait', '--timeout', '10m',
    '--set', 'exporter.enabled=true', '--set', 'exporter.queue.webhook.persistence.enabled=false',
    '--set-json', 'exporter.sinks=[{"name":"archive","type":"file","path":"/var/lib/gk-exporter/files/decisions.ndjson"}]',
    '--set-json', `exporter.resources=${JSON.stringify(small)}`]);
  // The upgrade rolled the webhook: measure once only the new replicas remain.
  await waitFor('the rolled webhook replicas alone', async () => {
    const pods = JSON.parse(await cluster.kubectlOk(['-n', 'gk-system', 'get', 'pods', '-l', 'app.kubernetes.io/component=webhook', '-o', 'json'])).items;
    return pods.length === REPLICAS && pods.every((p: any) => p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
  }, 300_000, 1000);
  lines.push(await measure(cluster, `ours with the exporter sidecar (file sink${workers})`));
  await helmOk(cluster, ['uninstall', 'gk', '-n', 'gk-system', '--wait']);
  await removePolicies(cluster);

  await helmOk(cluster, ['install', 'gatekeeper', gatekeeperChart, '-n', 'gatekeeper-system', '--create-namespace', '--wait', '--timeout', '10m',
    '--set', `image.repository=${setting('GATEKEEPER_UPSTREAM_IMAGE_REPOSITORY')}`, '--set', `image.release=${setting('GATEKEEPER_VERSION')}`,
    '--set', 'image.pullPolicy=Never', '--set', 'postInstall.labelNamespace.enabled=false', '--set', 'postInstall.probeWebhook.enabled=false',
    '--set', 'upgradeCRDs.enabled=false', '--set', `replicas=${REPLICAS}`]);
  lines.push(await measure(cluster, `Gatekeeper ${setting('GATEKEEPER_VERSION')} (its own manager and chart)`));
  // Ours once more after Gatekeeper (A/B/A): a machine whose load drifts during the run shows in the two A figures.
  await helmOk(cluster, ['uninstall', 'gatekeeper', '-n', 'gatekeeper-system', '--wait']);
  await removePolicies(cluster);
  await helmOk(cluster, ['install', 'gk', chartDir, '-n', 'gk-system', '--wait', '--timeout', '10m', ...oursArgs]);
  lines.push(await measure(cluster, `ours again (exporter off${workers})`));
  console.log(`cluster-gatekeeper: ${REPLICAS} webhook replicas each, the same K8sRequiredLabels template and constraint, load average at the end ${loadavg()}`);
  for (const l of lines) console.log(l);
} finally {
  await cluster.stop();
}
