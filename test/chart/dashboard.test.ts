// The Grafana dashboard the chart ships: rendered only when enabled, valid JSON in a ConfigMap Grafana's sidecar picks up,
// every panel query parsed by the real promtool, every metric a query names exposed by the real programs (the
// exporter and a webhook started here, exporting to it; the audit's registry from the built module), every label it
// uses one of its metrics' labels.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { stringify } from 'yaml';
import { Registry } from 'prom-client';
import { registerClientMetrics } from '../../exporter/dist/client/metrics.js';
import { AuditMetrics } from '../../gatekeeper/dist/k8s/audit-metrics.js';
import { WebhookMetrics } from '../../gatekeeper/dist/webhook/metrics.js';
import { HttpsClient, selfSignedCertDir } from '../../gatekeeper/test/webhook-helpers.js';
import { runCli, shortDir, startExporter } from '../../exporter/test/helpers/exporter.js';
import { bins, peerPath, repoRoot } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, waitFor } from '../helpers/process.js';
import { find, render } from './helm.js';

interface Target {
  expr: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; definition?: string }> };
}

/** Grafana's variables, replaced by values PromQL accepts so that promtool parses what Prometheus will be sent. */
const GRAFANA_VARIABLES: Record<string, string> = { __rate_interval: '5m', __interval: '1m', __range: '1h', namespace: 'gk-system', pod: '.*' };
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

function substitute(expr: string): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (all, name: string) => GRAFANA_VARIABLES[name] ?? all);
}

/** The metric names an expression selects: identifiers not called as functions, outside strings, matchers and ranges. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const m of bare.matchAll(/(?<![\w.])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    if (!m[2] && !KEYWORDS.has(m[1]!.toLowerCase())) names.push(m[1]!);
  }
  return names;
}

/** Label names an expression groups by or matches on. */
function labelNames(expr: string): string[] {
  return [
    ...[...expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim())),
    ...[...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]!)),
  ].filter(Boolean);
}

/** Labels Prometheus (or the Prometheus Operator) adds to every scraped series, and the histogram bucket label. */
const TARGET_LABELS = new Set(['namespace', 'pod', 'job', 'instance', 'endpoint', 'service', 'container', 'le']);

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

const execFileAsync = promisify(execFile);

async function promtool(args: string[], cwd: string): Promise<{ code: number; out: string }> {
  try {
    const r = await execFileAsync(peerPath('promtool'), args, { cwd, timeout: 120_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

/** Every series name a Prometheus text exposition can hold, from its `# TYPE` lines (histograms and summaries expanded). */
function seriesNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name! + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name! + s);
  }
  return names;
}

/** What PromQL checks against promtool: each query as a recording rule. */
async function promtoolCheck(exprs: string[]): Promise<{ code: number; out: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gk-dashboard-'));
  try {
    const rules = exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr }));
    await writeFile(path.join(dir, 'rules.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
    return await promtool(['check', 'rules', 'rules.yaml'], dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const enabled = await render([], ['dashboards.enabled=true']);
const configMap = find(enabled, 'ConfigMap', '-dashboard');
const dashboard = JSON.parse(configMap.data['gk-exporter.json'] as string) as Dashboard;
const queries = [
  ...allPanels(dashboard.panels).flatMap((p) => (p.targets ?? []).map((q) => ({ panel: p.title, expr: q.expr }))),
  // label_values(<selector>, <label>): the selector is the PromQL part.
  ...dashboard.templating.list
    .filter((v) => v.definition)
    .map((v) => ({ panel: `variable ${v.name}`, expr: v.definition!.replace(/^label_values\((.*),\s*\w+\)$/, '$1') })),
];

t.test('the chart renders the dashboard ConfigMap only when dashboards.enabled, labelled for the sidecar', async (t) => {
  const off = await render();
  t.equal(off.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-dashboard')).length, 0, 'off by default');
  t.equal(configMap.metadata.namespace, 'gk-system');
  t.equal(configMap.metadata.labels['grafana_dashboard'], '1', "Grafana sidecar's default label");
  t.same(Object.keys(configMap.data), ['gk-exporter.json']);
  t.equal(dashboard.uid, 'gk-exporter');
  const custom = find(
    await render([], ['dashboards.enabled=true', 'dashboards.label=team_dashboard', 'dashboards.labelValue=gk', 'dashboards.namespace=monitoring', 'dashboards.annotations.grafana_folder=Gatekeeper']),
    'ConfigMap',
    '-dashboard',
  );
  t.equal(custom.metadata.labels['team_dashboard'], 'gk');
  t.notOk('grafana_dashboard' in custom.metadata.labels, 'the default label is replaced, not added');
  t.equal(custom.metadata.namespace, 'monitoring');
  t.same(custom.metadata.annotations, { grafana_folder: 'Gatekeeper' });
  t.same(JSON.parse(custom.data['gk-exporter.json'] as string), dashboard, 'the same JSON, loaded from the chart file');
});

t.test('the dashboard covers the queue, delivery, losses, webhook and audit', async (t) => {
  const used = new Set(queries.flatMap((q) => metricNames(q.expr)));
  for (const metric of [
    'exporter_queue_depth',
    'exporter_queue_oldest_age_seconds',
    'exporter_records_received_total',
    'exporter_records_delivered_total',
    'exporter_dead_letters',
    'exporter_records_dead_lettered_total',
    'exporter_client_records_dropped_total',
    'gatekeeper_validation_request_duration_seconds_bucket',
    'gatekeeper_validation_request_count',
    'gatekeeper_violations',
  ]) {
    t.ok(used.has(metric), `a panel queries ${metric}`);
  }
  t.ok(queries.every((q) => q.panel.startsWith('variable') || /\$namespace/.test(q.expr)), 'every panel query is scoped to the chosen namespace');
  t.same(metricNames('sum by (sink) (rate(a_total{x="y{z}"}[5m])) / on (pod) group_left b_bytes offset 5m'), ['a_total', 'b_bytes']);
});

t.test('promtool parses every panel query and variable selector', async (t) => {
  t.ok(queries.length >= 30, `${queries.length} queries`);
  const check = await promtoolCheck(queries.map((q) => substitute(q.expr)));
  t.equal(check.code, 0, `promtool check rules: ${check.out}`);
  t.match(check.out, `SUCCESS: ${queries.length} rules found`);
  const broken = await promtoolCheck([substitute(queries[0]!.expr).replace(/\)$/, '')]);
  t.not(broken.code, 0, 'a query with an unbalanced parenthesis is refused (the check can fail)');
});

t.test('every metric a query uses is one the exporter or the engine really exposes', async (t) => {
  const dir = shortDir(t);
  const exporter = await startExporter(t, dir, { sinks: [{ name: 'local', type: 'file', path: path.join(dir, 'decisions.ndjson') }] });
  const exporterExposition = await (await fetch(`${exporter.metricsUrl}/metrics`)).text();
  const listed = await runCli(['metrics']);
  t.equal(listed.code, 0);
  const listedNames = listed.out.split('\n').filter(Boolean).map((l) => l.replace(/\{.*\}$/, ''));
  t.ok(listedNames.length >= 19, `\`exporter metrics\` lists ${listedNames.length}`);
  const exporterNames = seriesNames(exporterExposition);
  t.same(listedNames.filter((n) => !exporterNames.has(n)), [], '`exporter metrics` lists only what a running exporter serves');

  const { dir: certDir, cert } = selfSignedCertDir();
  t.teardown(() => rm(certDir, { recursive: true, force: true }));
  const port = await freePort();
  const webhook = start(process.execPath, [
    bins.gatekeeper, 'webhook', '--policies', path.join(repoRoot, 'examples/policies'), '--cert-dir', certDir,
    '--port', String(port), '--host', '127.0.0.1', '--export-socket', exporter.socket,
  ], { env: { ...process.env, GATEKEEPER_OPA_PATH: peerPath('opa') } });
  const client = new HttpsClient(`https://127.0.0.1:${port}`, cert);
  t.teardown(async () => {
    await client.close();
    await webhook.kill('SIGKILL');
  });
  await waitFor('webhook ready', async () => {
    if (webhook.child.exitCode !== null) throw new Error(`webhook exited: ${webhook.output()}`);
    return (await client.get('/readyz')).status === 200;
  }, 120_000, 200);
  const webhookExposition = (await client.get('/metrics')).text;
  const auditExposition = await new AuditMetrics().registry.metrics();

  const exposed = new Set([...exporterNames, ...seriesNames(webhookExposition), ...seriesNames(auditExposition)]);
  t.ok(exposed.has('exporter_client_records_dropped_total'), 'the webhook serves its export client metrics');
  t.ok(exposed.has('gatekeeper_violations') && exposed.has('gatekeeper_validation_request_duration_seconds_bucket'));
  t.notOk(exposed.has('exporter_queue_depth_bucket'), 'only histograms get bucket series');
  for (const q of queries) {
    const names = metricNames(q.expr);
    t.ok(names.length > 0, `${q.panel}: selects a metric`);
    for (const name of names) t.ok(exposed.has(name), `${q.panel}: ${name} is exposed`);
  }
  t.notOk(exposed.has('exporter_queue_depth_total'), 'a misspelt name is not exposed (the check can fail)');
});

t.test('every label a query groups by or matches on is one of its metrics\' labels or a target label', async (t) => {
  const labelsOf = new Map<string, string[]>();
  const listed = await runCli(['metrics']);
  for (const [, name, labels] of listed.out.matchAll(/^(\w+)(?:\{(.*)\})?$/gm)) labelsOf.set(name!, labels ? labels.split(',') : []);
  const client = new Registry();
  registerClientMetrics(client, 'exporter_client_', () => ({}) as never);
  for (const registry of [new WebhookMetrics({ defaultMetrics: false }).registry, new AuditMetrics().registry, client]) {
    for (const m of registry.getMetricsAsArray()) labelsOf.set(m.name, (m as unknown as { labelNames: string[] }).labelNames ?? []);
  }
  t.same(labelsOf.get('exporter_queue_depth'), ['sink']);
  t.same(labelsOf.get('gatekeeper_validation_request_count'), ['admission_status', 'admission_dryrun']);
  t.same(labelsOf.get('exporter_client_records_dropped_total'), ['reason']);
  const base = (name: string) => (labelsOf.has(name) ? name : name.replace(/_(bucket|sum|count)$/, ''));
  for (const q of queries) {
    const own = new Set(metricNames(q.expr).flatMap((m) => labelsOf.get(base(m)) ?? []));
    for (const label of labelNames(q.expr)) t.ok(TARGET_LABELS.has(label) || own.has(label), `${q.panel}: label ${label} is on ${metricNames(q.expr).join(', ')}`);
  }
  t.same(labelNames('sum by (sink) (rate(exporter_queue_bytes{reason="x"}[5m]))'), ['sink', 'reason'], 'labels are found (the check can fail)');
});
