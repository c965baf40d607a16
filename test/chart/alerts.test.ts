// The PrometheusRule: every alert has a summary and a runbook section in the chart's README, references only metrics
// (and labels) the exporter and the engine really define in their source, passes `promtool check rules`, and fires —
// and only fires — on the series it is about (`promtool test rules`).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { peerPath, repoRoot } from '../helpers/peers.js';
import { chartDir, find, render, releaseNamespace } from './helm.js';

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

const objs = await render(['monitoring.yaml']);
const ruleObject = find(objs, 'PrometheusRule', '');
const groups = ruleObject.spec.groups as Array<{ name: string; rules: Rule[] }>;
const rules = groups.flatMap((g) => g.rules);

/**
 * Metric name -> label names, from every `name: '...'` / `labelNames: [...]` pair in the TypeScript sources, and the
 * export client's (named from a prefix at run time: read from a real client's registry).
 */
async function definedMetrics(): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  const { ExportClient } = (await import(path.join(repoRoot, 'exporter/dist/client/index.js'))) as typeof import('../../exporter/src/client/index.js');
  const registry = new Registry();
  const client = new ExportClient({ socketPath: path.join(os.tmpdir(), `gk-alerts-nobody-${process.pid}.sock`), registry });
  for (const m of await registry.getMetricsAsJSON()) {
    const labelNames = (registry.getSingleMetric(m.name) as unknown as { labelNames: string[] }).labelNames;
    found.set(m.name, [...labelNames]);
  }
  await client.close();
  // The exporter's own metrics, from a real ExporterMetrics (declared through small factories, so not by name: '…').
  const { ExporterMetrics } = (await import(path.join(repoRoot, 'exporter/dist/metrics/metrics.js'))) as typeof import('../../exporter/src/metrics/metrics.js');
  const unused = new Proxy({}, { get: () => () => 0 }) as ConstructorParameters<typeof ExporterMetrics>[0];
  for (const m of new ExporterMetrics(unused).registry.getMetricsAsArray()) {
    found.set(m.name, [...((m as unknown as { labelNames?: string[] }).labelNames ?? [])]);
  }
  for (const dir of ['exporter/src', 'gatekeeper/src']) {
    for (const file of await readdir(path.join(repoRoot, dir), { recursive: true })) {
      if (!String(file).endsWith('.ts')) continue;
      const text = await readFile(path.join(repoRoot, dir, String(file)), 'utf8');
      for (const m of text.matchAll(/name:\s*'((?:exporter|gatekeeper)_[a-z0-9_]+)'([\s\S]*?)(?=name:\s*'|$)/g)) {
        const labels = /labelNames:\s*\[([^\]]*)\]/.exec(m[2]!.slice(0, 400));
        found.set(m[1]!, labels ? [...labels[1]!.matchAll(/'([a-z_]+)'/g)].map((x) => x[1]!) : []);
      }
    }
  }
  return found;
}

const PROMQL_FUNCTIONS = new Set(['rate', 'increase', 'histogram_quantile', 'sum', 'max', 'min', 'avg', 'count', 'delta', 'deriv', 'abs', 'clamp_min']);
/** Labels Prometheus (or the Prometheus Operator) adds to every scraped series, and the histogram bucket label. */
const TARGET_LABELS = new Set(['namespace', 'pod', 'job', 'instance', 'endpoint', 'service', 'container', 'le']);

/** The metric names an expression selects, and the label names it groups by or matches on. */
function references(expr: string): { metrics: string[]; labels: string[]; functions: string[] } {
  const labels = [
    ...[...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim())),
    ...[...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]!)),
  ].filter(Boolean);
  const bare = expr
    .replace(/"[^"]*"/g, '')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without)\s*\([^)]*\)/g, ' ');
  const metrics: string[] = [];
  const functions: string[] = [];
  for (const m of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (/^\d/.test(m[1]!)) continue;
    (m[2] ? functions : metrics).push(m[1]!);
  }
  return { metrics, labels, functions };
}

t.test('every alert has a severity, a summary and a runbook section in the README', async (t) => {
  const readme = await readFile(path.join(chartDir, 'README.md'), 'utf8');
  const anchors = new Set([...readme.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
  t.ok(rules.length >= 10, `${rules.length} alerts`);
  for (const r of rules) {
    t.match(r.labels.severity, /^(warning|critical|info)$/, `${r.alert}: severity`);
    t.ok(r.annotations.summary && r.annotations.summary.length > 20, `${r.alert}: summary`);
    const anchor = r.annotations.runbook_url?.split('#')[1];
    t.ok(anchor && anchors.has(anchor), `${r.alert}: runbook_url points at the README section #${anchor}`);
    t.match(readme, new RegExp(`### ${r.alert}\\n\\n\\*Summary:\\*`), `${r.alert}: the runbook section starts with its summary`);
    t.match(r.expr, `namespace="${releaseNamespace}"`, `${r.alert}: scoped to the release namespace`);
  }
  const expected = [
    'GkExporterQueueBacklog',
    'GkExporterQueueOldestRecordAge',
    'GkExporterSinkDown',
    'GkExporterDeliveryFailures',
    'GkExporterDeadLettersGrowing',
    'GkExporterQueueNearCapacity',
    'GkExporterQueueFull',
    'GkExporterRecordsDropped',
    'GkExporterOrphanedSinkRecords',
    'GkEngineRecordsDropped',
    'GkExporterShutdownBacklog',
    'GkExporterTargetDown',
    'GkWebhookErrors',
    'GkWebhookLatency',
  ];
  t.same(rules.map((r) => r.alert).sort(), [...expected].sort(), 'backlog (depth, age), sinks failing, dead letters, capacity, drops, webhook errors and latency');
});

t.test('every metric (and label) an alert references is defined in the exporter or engine source', async (t) => {
  const defined = await definedMetrics();
  t.ok(defined.has('exporter_queue_depth') && defined.has('gatekeeper_validation_request_count'), `found ${defined.size} metric definitions in the source`);
  t.same(defined.get('exporter_client_records_dropped_total'), ['reason'], "the export client's drop counter, read from a real client");
  for (const r of rules) {
    const refs = references(r.expr);
    t.ok(refs.metrics.length > 0, `${r.alert}: selects at least one metric`);
    for (const fn of refs.functions) t.ok(PROMQL_FUNCTIONS.has(fn), `${r.alert}: ${fn}() is a PromQL function`);
    for (const metric of refs.metrics) {
      if (metric === 'up') continue; // Prometheus' own per-target series.
      const base = defined.has(metric) ? metric : metric.replace(/_(bucket|sum|count)$/, '');
      t.ok(defined.has(base), `${r.alert}: ${metric} is defined in the source`);
      for (const label of refs.labels) {
        if (TARGET_LABELS.has(label)) continue;
        const owners = refs.metrics.map((m) => defined.get(defined.has(m) ? m : m.replace(/_(bucket|sum|count)$/, '')) ?? []);
        t.ok(owners.some((ls) => ls.includes(label)), `${r.alert}: label ${label} exists on ${refs.metrics.join(', ')}`);
      }
    }
  }
});

function run(bin: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

t.test('promtool accepts the rules and every alert fires on its condition only', async (t) => {
  const promtool = peerPath('promtool');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gk-alerts-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'rules.yaml'), stringify({ groups }));
  const check = await run(promtool, ['check', 'rules', 'rules.yaml'], dir);
  t.equal(check.code, 0, `promtool check rules: ${check.out}`);

  // The unit test compares labels only: annotations are checked above and by `check rules` (template syntax).
  const bare = { groups: groups.map((g) => ({ ...g, rules: g.rules.map(({ annotations: _a, ...r }) => r) })) };
  await writeFile(path.join(dir, 'rules-bare.yaml'), stringify(bare));
  const ns = `namespace="${releaseNamespace}"`;
  const s = (name: string, labels: string, values: string) => ({ series: `${name}{${ns},pod="p1"${labels ? ',' + labels : ''}}`, values });
  const alert = (sev: string, labels: Record<string, string>) => ({ exp_labels: { severity: sev, namespace: releaseNamespace, ...labels } });
  const tests = {
    rule_files: ['rules-bare.yaml'],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: [
          // sink "siem" is in trouble, sink "events" is healthy, in the same pod.
          s('exporter_queue_depth', 'sink="siem"', '20000x30'),
          s('exporter_queue_depth', 'sink="events"', '5x30'),
          s('exporter_queue_oldest_age_seconds', 'sink="siem"', '1000+60x30'),
          s('exporter_queue_oldest_age_seconds', 'sink="events"', '1x30'),
          s('exporter_sink_up', 'sink="siem"', '0x30'),
          s('exporter_sink_up', 'sink="events"', '1x30'),
          s('exporter_delivery_failures_total', 'sink="siem"', '0+10x30'),
          s('exporter_delivery_failures_total', 'sink="events"', '0x30'),
          s('exporter_records_dead_lettered_total', 'sink="siem"', '0x10 5x20'),
          s('exporter_records_dead_lettered_total', 'sink="events"', '0x30'),
          s('exporter_queue_bytes', '', '900x30'),
          s('exporter_queue_capacity_bytes', '', '1000x30'),
          s('exporter_queue_full', '', '1x30'),
          s('exporter_records_dropped_total', 'reason="queue_full"', '0x10 0+3x20'),
          s('exporter_records_dropped_total', 'reason="max_age"', '0x30'),
          s('exporter_orphaned_sink_records', 'sink="web"', '0x5 10000x25'),
          s('exporter_client_records_dropped_total', 'reason="spill_full"', '0x10 0+7x20'),
          s('exporter_client_records_dropped_total', 'reason="too_large"', '0x30'),
          // p1 terminating with 40 records for siem not delivered yet, events drained.
          s('exporter_drain_backlog_records', 'sink="siem"', '_x10 40x5'),
          s('exporter_drain_backlog_records', 'sink="events"', '_x10 0x5'),
          { series: `up{${ns},pod="p1",endpoint="exporter-prom"}`, values: '0x30' },
          { series: `up{${ns},pod="p2",endpoint="exporter-prom"}`, values: '1x30' },
          s('gatekeeper_validation_request_count', 'admission_status="error"', '0+10x30'),
          s('gatekeeper_validation_request_count', 'admission_status="allow"', '0+50x30'),
          s('gatekeeper_validation_request_duration_seconds_bucket', 'admission_status="allow",le="0.5"', '0+1x30'),
          s('gatekeeper_validation_request_duration_seconds_bucket', 'admission_status="allow",le="1"', '0+2x30'),
          s('gatekeeper_validation_request_duration_seconds_bucket', 'admission_status="allow",le="2.5"', '0+100x30'),
          s('gatekeeper_validation_request_duration_seconds_bucket', 'admission_status="allow",le="+Inf"', '0+100x30'),
          // Another release's namespace must not trigger this release's alerts.
          { series: 'exporter_queue_depth{namespace="other",pod="x",sink="siem"}', values: '99999x30' },
        ],
        alert_rule_test: [
          { eval_time: '5m', alertname: 'GkExporterQueueBacklog', exp_alerts: [] },
          { eval_time: '15m', alertname: 'GkExporterQueueBacklog', exp_alerts: [alert('warning', { pod: 'p1', sink: 'siem' })] },
          { eval_time: '15m', alertname: 'GkExporterQueueOldestRecordAge', exp_alerts: [alert('warning', { pod: 'p1', sink: 'siem' })] },
          { eval_time: '15m', alertname: 'GkExporterSinkDown', exp_alerts: [alert('critical', { pod: 'p1', sink: 'siem' })] },
          { eval_time: '20m', alertname: 'GkExporterDeliveryFailures', exp_alerts: [alert('warning', { pod: 'p1', sink: 'siem' })] },
          { eval_time: '9m', alertname: 'GkExporterDeadLettersGrowing', exp_alerts: [] },
          { eval_time: '15m', alertname: 'GkExporterDeadLettersGrowing', exp_alerts: [alert('warning', { pod: 'p1', sink: 'siem' })] },
          { eval_time: '15m', alertname: 'GkExporterQueueNearCapacity', exp_alerts: [alert('critical', { pod: 'p1' })] },
          { eval_time: '15m', alertname: 'GkExporterQueueFull', exp_alerts: [alert('critical', { pod: 'p1' })] },
          { eval_time: '9m', alertname: 'GkExporterRecordsDropped', exp_alerts: [] },
          { eval_time: '15m', alertname: 'GkExporterRecordsDropped', exp_alerts: [alert('critical', { pod: 'p1', reason: 'queue_full' })] },
          { eval_time: '14m', alertname: 'GkExporterOrphanedSinkRecords', exp_alerts: [] },
          { eval_time: '16m', alertname: 'GkExporterOrphanedSinkRecords', exp_alerts: [alert('warning', { pod: 'p1', sink: 'web' })] },
          { eval_time: '9m', alertname: 'GkEngineRecordsDropped', exp_alerts: [] },
          { eval_time: '15m', alertname: 'GkEngineRecordsDropped', exp_alerts: [alert('critical', { pod: 'p1', reason: 'spill_full' })] },
          { eval_time: '9m', alertname: 'GkExporterShutdownBacklog', exp_alerts: [] },
          { eval_time: '12m', alertname: 'GkExporterShutdownBacklog', exp_alerts: [alert('critical', { pod: 'p1', sink: 'siem' })] },
          { eval_time: '15m', alertname: 'GkExporterTargetDown', exp_alerts: [alert('warning', { pod: 'p1', endpoint: 'exporter-prom' })] },
          { eval_time: '15m', alertname: 'GkWebhookErrors', exp_alerts: [alert('warning', {})] },
          { eval_time: '20m', alertname: 'GkWebhookLatency', exp_alerts: [alert('warning', {})] },
        ],
      },
      {
        // A healthy pod: nothing fires.
        interval: '1m',
        input_series: [
          s('exporter_queue_depth', 'sink="siem"', '3x30'),
          s('exporter_queue_oldest_age_seconds', 'sink="siem"', '2x30'),
          s('exporter_sink_up', 'sink="siem"', '1x30'),
          s('exporter_delivery_failures_total', 'sink="siem"', '0x30'),
          s('exporter_records_dead_lettered_total', 'sink="siem"', '4x30'),
          s('exporter_queue_bytes', '', '100x30'),
          s('exporter_queue_capacity_bytes', '', '1000x30'),
          s('exporter_queue_full', '', '0x30'),
          s('exporter_records_dropped_total', 'reason="queue_full"', '0x30'),
          s('exporter_orphaned_sink_records', 'sink="web"', '0x30'),
          s('exporter_client_records_dropped_total', 'reason="spill_full"', '0x30'),
          s('exporter_drain_backlog_records', 'sink="siem"', '_x20 0x3'),
          { series: `up{${ns},pod="p1",endpoint="exporter-prom"}`, values: '1x30' },
          s('gatekeeper_validation_request_count', 'admission_status="error"', '0x30'),
          s('gatekeeper_validation_request_count', 'admission_status="allow"', '0+50x30'),
          s('gatekeeper_validation_request_duration_seconds_bucket', 'admission_status="allow",le="0.01"', '0+49x30'),
          s('gatekeeper_validation_request_duration_seconds_bucket', 'admission_status="allow",le="+Inf"', '0+50x30'),
        ],
        alert_rule_test: rules.map((r) => ({ eval_time: '30m', alertname: r.alert, exp_alerts: [] })),
      },
    ],
  };
  await writeFile(path.join(dir, 'tests.yaml'), stringify(tests));
  const test = await run(promtool, ['test', 'rules', 'tests.yaml'], dir);
  t.equal(test.code, 0, `promtool test rules: ${test.out}`);
  t.match(test.out, /SUCCESS/);
});
