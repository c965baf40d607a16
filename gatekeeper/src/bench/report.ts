// gator bench's outputs and baseline comparison: the results table (or JSON/YAML of the results list), a baseline saved
// as .json/.yaml and compared metric by metric (latency up or throughput down by more than --threshold percent is a
// regression, unless the absolute latency change is under --min-threshold).
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { BenchResults } from './run.js';

export interface MetricComparison {
  name: string;
  baseline: number;
  current: number;
  delta: number;
  passed: boolean;
}
export interface ComparisonResult {
  baselineEngine: string;
  currentEngine: string;
  metrics: MetricComparison[];
  passed: boolean;
  failedMetrics?: string[];
}

/** Go's time.Duration as gator prints it. */
export function formatDuration(ns: number): string {
  if (ns < 1e3) return `${Math.round(ns)}ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)}µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(2)}ms`;
  return `${(ns / 1e9).toFixed(3)}s`;
}

/** Rows of label/value pairs aligned like Go's tabwriter (two spaces of padding). */
function table(rows: Array<[string, string] | string>): string {
  const width = Math.max(...rows.map((r) => (typeof r === 'string' ? 0 : r[0].length)));
  return rows.map((r) => (typeof r === 'string' ? r : `${r[0].padEnd(width + 2)}${r[1]}`)).join('\n') + '\n';
}

function resultTable(r: BenchResults): string {
  const rows: Array<[string, string] | string> = [
    'Configuration:',
    ['  Templates:', String(r.templateCount)],
    ['  Constraints:', String(r.constraintCount)],
    ['  Objects:', String(r.objectCount)],
    ['  Iterations:', String(r.iterations)],
  ];
  if (r.concurrency > 1) rows.push(['  Concurrency:', String(r.concurrency)]);
  rows.push(['  Total Reviews:', String(r.iterations * r.objectCount)]);
  if (r.skippedTemplates?.length) rows.push(['  Skipped Templates:', `${r.skippedTemplates.length} (${r.skippedTemplates.join(', ')})`]);
  if (r.skippedConstraints?.length) rows.push(['  Skipped Constraints:', `${r.skippedConstraints.length} (${r.skippedConstraints.join(', ')})`]);
  if (r.skippedDataObjects?.length) rows.push(['  Skipped Data Objects:', `${r.skippedDataObjects.length} (failed to load as referential data)`]);
  rows.push(
    '',
    'Timing:',
    ['  Setup Duration:', formatDuration(r.setupDuration)],
    ['    └─ Client Creation:', formatDuration(r.setupBreakdown.clientCreation)],
    ['    └─ Template Compilation:', formatDuration(r.setupBreakdown.templateCompilation)],
    ['    └─ Constraint Loading:', formatDuration(r.setupBreakdown.constraintLoading)],
    ['    └─ Data Loading:', formatDuration(r.setupBreakdown.dataLoading)],
    ['  Total Duration:', formatDuration(r.totalDuration)],
    ['  Throughput:', `${r.reviewsPerSecond.toFixed(2)} reviews/sec`],
    '',
    'Latency (per review):',
    ...(['min', 'max', 'mean', 'p50', 'p95', 'p99'] as const).map((k): [string, string] => [`  ${k === 'mean' || k === 'min' || k === 'max' ? k[0]!.toUpperCase() + k.slice(1) : k.toUpperCase()}:`, formatDuration(r.latencies[k])]),
    '',
    'Results:',
    ['  Violations Found:', String(r.violationCount)],
  );
  return `=== Benchmark Results: ${r.engine.toUpperCase()} Engine ===\n\n${table(rows)}`;
}

export function formatResults(results: BenchResults[], format: string): string {
  if (format === 'json') return `${JSON.stringify(results, null, 2)}\n`;
  if (format === 'yaml') return YAML.stringify(results);
  return results.map(resultTable).join('\n');
}

const isYaml = (file: string) => ['.yaml', '.yml'].includes(path.extname(file).toLowerCase());

export function saveResults(results: BenchResults[], file: string): void {
  fs.writeFileSync(file, isYaml(file) ? YAML.stringify(results) : `${JSON.stringify(results, null, 2)}\n`);
}

export function loadBaseline(file: string): BenchResults[] {
  const text = fs.readFileSync(file, 'utf8');
  let parsed: unknown;
  try {
    parsed = isYaml(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed) || parsed.some((r) => !r || typeof r !== 'object' || typeof r.engine !== 'string' || typeof r.latencies !== 'object')) {
    throw new Error(`${file}: not a list of benchmark results`);
  }
  return parsed as BenchResults[];
}

const delta = (base: number, cur: number) => (base === 0 ? (cur === 0 ? 0 : 100) : ((cur - base) / base) * 100);

/** Each current result against the baseline result of the same engine (gator's Compare). */
export function compare(baseline: BenchResults[], current: BenchResults[], threshold: number, minThresholdNs: number): ComparisonResult[] {
  const byEngine = new Map(baseline.map((b) => [b.engine, b]));
  const out: ComparisonResult[] = [];
  for (const cur of current) {
    const base = byEngine.get(cur.engine);
    if (!base) continue;
    const metrics: MetricComparison[] = (
      [
        ['P50 Latency', 'p50'],
        ['P95 Latency', 'p95'],
        ['P99 Latency', 'p99'],
        ['Mean Latency', 'mean'],
      ] as const
    ).map(([name, k]) => {
      const d = delta(base.latencies[k], cur.latencies[k]);
      const passed = d <= threshold || (minThresholdNs > 0 && cur.latencies[k] - base.latencies[k] < minThresholdNs);
      return { name, baseline: base.latencies[k], current: cur.latencies[k], delta: d, passed };
    });
    const td = delta(base.reviewsPerSecond, cur.reviewsPerSecond);
    let tpassed = -td <= threshold;
    if (!tpassed && minThresholdNs > 0 && base.latencies.mean > 0) {
      tpassed = base.reviewsPerSecond - cur.reviewsPerSecond < base.reviewsPerSecond * (minThresholdNs / base.latencies.mean);
    }
    metrics.push({ name: 'Throughput', baseline: base.reviewsPerSecond, current: cur.reviewsPerSecond, delta: td, passed: tpassed });
    const failed = metrics.filter((m) => !m.passed).map((m) => m.name);
    const c: ComparisonResult = { baselineEngine: base.engine, currentEngine: cur.engine, metrics, passed: !failed.length };
    if (failed.length) c.failedMetrics = failed;
    out.push(c);
  }
  return out;
}

export function formatComparison(comparisons: ComparisonResult[], threshold: number): string {
  return comparisons
    .map((c) => {
      const rows = c.metrics.map((m) => {
        const fmt = m.name.includes('Latency') ? formatDuration : (v: number) => `${v.toFixed(2)}/sec`;
        return [m.name, fmt(m.baseline), fmt(m.current), `${m.delta >= 0 ? '+' : ''}${m.delta.toFixed(1)}%`, m.passed ? '✓' : '✗ REGRESSION'];
      });
      const all = [['Metric', 'Baseline', 'Current', 'Delta', 'Status'], ['------', '--------', '-------', '-----', '------'], ...rows];
      const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
      const lines = all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 2))).join(''));
      const verdict = c.passed
        ? `✓ No significant regressions (threshold: ${threshold.toFixed(1)}%)`
        : `✗ Regressions detected in: ${c.failedMetrics!.join(', ')} (threshold: ${threshold.toFixed(1)}%)`;
      return `=== Baseline Comparison: ${c.currentEngine.toUpperCase()} Engine ===\n\n${lines.join('\n')}\n\n${verdict}\n`;
    })
    .join('\n');
}
