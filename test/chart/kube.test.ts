// The rendered chart against a real kube-apiserver: every scenario passes `kubectl apply --dry-run=server
// --validate=strict` (schemas, CRDs and admission by Kubernetes itself), then a real helm install / upgrade / uninstall.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { peerPath } from '../helpers/peers.js';
import { startKube, type KubeCluster } from '../peers/kube.js';
import { chartDir, helm, parseObjects, releaseNamespace, templateArgs, valuesDir } from './helm.js';

const scenarios = [
  [],
  ['exporter-http.yaml'],
  ['exporter-file.yaml'],
  ['exporter-kafka.yaml'],
  ['exporter-dapr.yaml'],
  ['exporter-multi.yaml'],
  ['exporter-pvc.yaml'],
  ['exporter-emptydir.yaml'],
  ['exporter-classic-sidecar.yaml'],
  ['monitoring.yaml'],
  ['tls-rotate.yaml'],
];

let kube: KubeCluster;

t.before(async () => {
  kube = await startKube();
  // The chart's own CRDs, and the Prometheus Operator's for ServiceMonitor and PrometheusRule.
  const crdFiles = [
    ...(await readdir(path.join(chartDir, 'crds')).catch(() => [] as string[])).filter((f) => f.endsWith('.yaml')).map((f) => path.join(chartDir, 'crds', f)),
    ...['servicemonitors', 'prometheusrules'].map((k) => path.join(peerPath('prometheus-operator-crds'), `monitoring.coreos.com_${k}.yaml`)),
  ];
  for (const f of crdFiles) await kube.kubectlOk(['apply', '--server-side', '-f', f]);
  await kube.kubectlOk(['wait', '--for=condition=established', '--timeout=60s', 'crd', '--all']);
  await kube.kubectlOk(['create', 'namespace', releaseNamespace]);
});
t.teardown(async () => {
  await kube?.stop();
});

const env = () => ({ KUBECONFIG: kube.kubeconfig });

t.test('the chart ships CRDs the API server accepts', async (t) => {
  const files = (await readdir(path.join(chartDir, 'crds')).catch(() => [] as string[])).filter((f) => f.endsWith('.yaml'));
  if (!files.length) {
    t.skip('charts/gk-exporter/crds/ is empty: the engine CRDs (gatekeeper/crds/) have not landed yet', () => {});
    return;
  }
  for (const f of files) {
    const [crd] = parseObjects(await readFile(path.join(chartDir, 'crds', f), 'utf8'));
    const got = JSON.parse(await kube.kubectlOk(['get', 'crd', crd!.metadata.name, '-o', 'json']));
    t.ok(got.status.conditions.some((c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True'), `${crd!.metadata.name} established`);
  }
});

for (const values of scenarios) {
  t.test(`kubectl apply --dry-run=server accepts ${values.join(', ') || 'the defaults'}`, async (t) => {
    const r = await helm(templateArgs(values));
    t.equal(r.code, 0, r.stderr);
    const objects = parseObjects(r.stdout);
    const applied = await kube.kubectl(['apply', '--dry-run=server', '--validate=strict', '-n', releaseNamespace, '-f', '-'], { input: r.stdout });
    t.equal(applied.code, 0, `kubectl apply: ${applied.stderr}`);
    const lines = applied.stdout.trim().split('\n');
    t.equal(lines.length, objects.length, `every one of the ${objects.length} objects went through`);
    t.ok(lines.every((l) => /(created|configured|unchanged) \(server dry run\)$/.test(l)), lines.join('\n'));
  });
}

t.test('the API server refuses what the schema lets through only when Kubernetes itself would (a sanity check of the dry run)', async (t) => {
  // A pod template Kubernetes rejects (an init container may only have restartPolicy Always): the dry run must fail.
  const r = await helm(templateArgs(['exporter-http.yaml']));
  const broken = r.stdout.replace('restartPolicy: Always', 'restartPolicy: OnFailure');
  t.not(broken, r.stdout, 'the rendering was altered');
  const applied = await kube.kubectl(['apply', '--dry-run=server', '-n', releaseNamespace, '-f', '-'], { input: broken });
  t.not(applied.code, 0, 'refused');
  t.match(applied.stderr, /restartPolicy/);
});

t.test('helm install, upgrade and uninstall against the API server', async (t) => {
  const install = await helm(
    ['install', 'gk', chartDir, '-n', releaseNamespace, '-f', path.join(valuesDir, 'exporter-multi.yaml'), '--set', 'exporter.queue.audit.persistence.enabled=true', '--set', 'prometheusRule.enabled=true'],
    { env: env() },
  );
  t.equal(install.code, 0, `helm install: ${install.stderr}`);
  t.match(install.stdout, /STATUS: deployed/, install.stdout);
  t.match(install.stdout, /Decision-log exporter: sidecar "exporter" in the webhook and audit pods/, 'NOTES tell what was installed');
  t.match(install.stdout, /Sinks: siem \(http\), events \(kafka\), pubsub \(dapr\), archive \(file\)/);
  t.match(install.stdout, /Dapr: the pods carry dapr\.io\/\* annotations/);

  const secretBefore = JSON.parse(await kube.kubectlOk(['-n', releaseNamespace, 'get', 'secret', 'gk-gk-exporter-webhook-server-cert', '-o', 'json']));
  const vwcBefore = JSON.parse(await kube.kubectlOk(['get', 'validatingwebhookconfiguration', 'gk-gk-exporter-validating-webhook-configuration', '-o', 'json']));
  t.equal(vwcBefore.webhooks[0].clientConfig.caBundle, secretBefore.data['ca.crt'], 'the installed webhook trusts the installed CA');
  const depBefore = JSON.parse(await kube.kubectlOk(['-n', releaseNamespace, 'get', 'statefulset', 'gk-gk-exporter-controller-manager', '-o', 'json']));
  t.same(
    depBefore.spec.template.spec.initContainers.map((c: { name: string; restartPolicy: string }) => `${c.name}:${c.restartPolicy}`),
    ['exporter:Always'],
    'the API server kept the native sidecar',
  );

  // Upgrade: a sink changes; the certificate must survive (looked up), the pods roll (config checksum).
  const upgrade = await helm(
    ['upgrade', 'gk', chartDir, '-n', releaseNamespace, '--reuse-values', '--set', 'exporter.queue.onFull=block'],
    { env: env() },
  );
  t.equal(upgrade.code, 0, `helm upgrade: ${upgrade.stderr}`);
  const secretAfter = JSON.parse(await kube.kubectlOk(['-n', releaseNamespace, 'get', 'secret', 'gk-gk-exporter-webhook-server-cert', '-o', 'json']));
  t.same(secretAfter.data, secretBefore.data, 'the serving certificate is kept on upgrade');
  const vwcAfter = JSON.parse(await kube.kubectlOk(['get', 'validatingwebhookconfiguration', 'gk-gk-exporter-validating-webhook-configuration', '-o', 'json']));
  t.equal(vwcAfter.webhooks[0].clientConfig.caBundle, vwcBefore.webhooks[0].clientConfig.caBundle, 'and so is the caBundle');
  const cm = JSON.parse(await kube.kubectlOk(['-n', releaseNamespace, 'get', 'configmap', 'gk-gk-exporter-exporter-config', '-o', 'json']));
  t.match(cm.data['webhook.yaml'], /onFull: block/, 'the new exporter config is in the ConfigMap');
  const depAfter = JSON.parse(await kube.kubectlOk(['-n', releaseNamespace, 'get', 'statefulset', 'gk-gk-exporter-controller-manager', '-o', 'json']));
  t.not(
    depAfter.spec.template.metadata.annotations['checksum/exporter-config'],
    depBefore.spec.template.metadata.annotations['checksum/exporter-config'],
    'the pods roll to pick it up',
  );

  const uninstall = await helm(['uninstall', 'gk', '-n', releaseNamespace, '--wait=false'], { env: env() });
  t.equal(uninstall.code, 0, `helm uninstall: ${uninstall.stderr}`);
  const deploys = await kube.kubectlOk(['-n', releaseNamespace, 'get', 'deploy,statefulset', '-o', 'name']);
  t.equal(deploys.trim(), '', 'the workloads are gone');
  const pvc = await kube.kubectl(['-n', releaseNamespace, 'get', 'pvc', 'gk-gk-exporter-audit-queue', '-o', 'name']);
  t.equal(pvc.code, 0, 'the audit queue claim is kept (it may hold undelivered records)');
  const vwc = await kube.kubectl(['get', 'validatingwebhookconfiguration', 'gk-gk-exporter-validating-webhook-configuration']);
  t.not(vwc.code, 0, 'the webhook configuration is removed');
});
