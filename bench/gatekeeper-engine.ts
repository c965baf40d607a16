// Policy engine figures (printed, never asserted): cold start (compile the 30 library templates with opa), warm start
// (disk cache), single-evaluation cost per template, a typical Pod review against all 30 constraints, `verify` over
// the corpus, peak RSS.
// Run: node --import tsx bench/gatekeeper-engine.ts   (env BENCH_EVAL_MS: time spent per template, default 150)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { PolicyEngine, ENFORCEMENT_POINTS } from '../gatekeeper/src/policy/engine.js';
import { loadPolicyFiles, reviewFromObject } from '../gatekeeper/src/policy/load.js';
import { SuiteRunner } from '../gatekeeper/src/verify/runner.js';
import { readSuites } from '../gatekeeper/src/verify/suite.js';
import { findOpa } from '../gatekeeper/src/templates/opa-path.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const corpus = path.resolve(root, '..', 'shared', 'gatekeeper-library', 'general');
const evalMs = Number(process.env.BENCH_EVAL_MS ?? 150);
const opaPath = findOpa();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-bench-engine-'));
process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));

const ms = (x: number) => `${x.toFixed(1)} ms`;
const us = (x: number) => `${(x * 1000).toFixed(1)} µs`;
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Sample {
  dir: string;
  template: Record<string, any>;
  constraint: Record<string, any>;
  objects: Array<Record<string, any>>;
}

async function samples(): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const d of fs.readdirSync(corpus).sort()) {
    const files = await loadPolicyFiles([path.join(corpus, d)]);
    const template = files.templates[0]?.obj;
    const constraint = files.constraints[0]?.obj;
    if (!template || !constraint) continue;
    const objects = files.others.map((o) => o.obj).filter((o) => o.kind !== 'AdmissionReview' && o.metadata?.name);
    out.push({ dir: d, template, constraint, objects });
  }
  return out;
}

async function loadAll(cacheDir: string, all: Sample[]) {
  const started = performance.now();
  const engine = await PolicyEngine.create({ opaPath, cacheDir });
  const results = await Promise.all(all.map((s) => engine.upsertTemplate(s.template)));
  const elapsed = performance.now() - started;
  const errors = results.flatMap((r) => r.errors);
  if (errors.length) throw new Error(`templates failed: ${errors.join('; ')}`);
  return { engine, elapsed };
}

const typicalPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-7d9f8', namespace: 'production', labels: { app: 'web', owner: 'team-a' }, annotations: { 'team.example.com/owner': 'a' } },
  spec: {
    serviceAccountName: 'web',
    automountServiceAccountToken: false,
    containers: [
      {
        name: 'web',
        image: 'openpolicyagent/opa:0.9.2',
        ports: [{ containerPort: 8080 }],
        resources: { limits: { cpu: '500m', memory: '256Mi', 'ephemeral-storage': '1Gi' }, requests: { cpu: '250m', memory: '128Mi', 'ephemeral-storage': '500Mi' } },
        readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
        livenessProbe: { httpGet: { path: '/live', port: 8080 } },
      },
      {
        name: 'sidecar',
        image: 'openpolicyagent/sidecar:1.0',
        resources: { limits: { cpu: '100m', memory: '64Mi' }, requests: { cpu: '50m', memory: '32Mi' } },
      },
    ],
  },
};

async function main(): Promise<void> {
  const all = await samples();
  console.log(`templates: ${all.length} (library/general), opa: ${opaPath}, cpus: ${os.cpus().length}`);

  const cacheDir = path.join(scratch, 'cache');
  const cold = await loadAll(cacheDir, all);
  console.log(`cold start (compile every template with opa, ${os.availableParallelism()} in parallel): ${ms(cold.elapsed)} — opa runs: ${cold.engine.compiler.stats.opaRuns}`);
  const warm = await loadAll(cacheDir, all);
  console.log(`warm start (disk cache, new process state): ${ms(warm.elapsed)} — opa runs: ${warm.engine.compiler.stats.opaRuns}`);

  // single-evaluation cost: each template alone with its sample constraint, cycling over its sample objects
  const engine = warm.engine;
  const rows: Array<[string, number, number, number]> = [];
  for (const s of all) {
    for (const c of engine.listConstraints()) engine.removeConstraint(c.kind, c.name);
    engine.upsertConstraint(s.constraint);
    const reviews = s.objects.map((o) => reviewFromObject(o));
    if (!reviews.length) continue;
    const times: number[] = [];
    let violations = 0;
    const until = performance.now() + evalMs;
    for (let i = 0; performance.now() < until || i < 50; i++) {
      const t0 = performance.now();
      const r = engine.reviewSync(reviews[i % reviews.length]!, { enforcementPoint: ENFORCEMENT_POINTS.audit });
      times.push(performance.now() - t0);
      violations += r.violations.length;
    }
    times.sort((a, b) => a - b);
    rows.push([s.dir, times.reduce((a, b) => a + b, 0) / times.length, percentile(times, 50), percentile(times, 99)]);
    void violations;
  }
  console.log('\nsingle evaluation per template (match + evaluate, sample objects in turn):');
  console.log(`  ${'template'.padEnd(36)} ${'mean'.padStart(10)} ${'p50'.padStart(10)} ${'p99'.padStart(10)}`);
  for (const [name, mean, p50, p99] of rows) console.log(`  ${name.padEnd(36)} ${us(mean).padStart(10)} ${us(p50).padStart(10)} ${us(p99).padStart(10)}`);
  const means = rows.map((r) => r[1]);
  console.log(`  ${'(all templates) mean of means'.padEnd(36)} ${us(means.reduce((a, b) => a + b, 0) / means.length).padStart(10)}`);

  // a typical Pod review with all 30 constraints loaded
  for (const s of all) engine.upsertConstraint(s.constraint);
  const review = reviewFromObject(typicalPod);
  const first = engine.reviewSync(review);
  const times: number[] = [];
  const started = performance.now();
  while (performance.now() - started < 2000) {
    const t0 = performance.now();
    engine.reviewSync(review);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(
    `\ntypical Pod review, ${engine.listConstraints().length} constraints loaded (${first.evaluatedConstraints} match, ${first.violations.length} violations): ` +
      `mean ${us(mean)}, p50 ${us(percentile(times, 50))}, p99 ${us(percentile(times, 99))} → ${Math.round(1000 / mean)} reviews/s on one core`,
  );

  // verify over the corpus, warm cache (as a developer re-runs it) and cold
  for (const [label, dir] of [
    ['warm cache', cacheDir],
    ['cold cache', path.join(scratch, 'cold-verify')],
  ] as const) {
    const t0 = performance.now();
    const e = await PolicyEngine.create({ opaPath, cacheDir: dir });
    const suites = await readSuites([corpus]);
    const runner = new SuiteRunner(e);
    await runner.precompile(suites);
    const results = await runner.run(suites);
    const passed = results.filter((r) => r.status === 'pass').length;
    const failed = results.filter((r) => r.status === 'fail').length;
    console.log(`verify over the corpus (${label}): ${ms(performance.now() - t0)} — ${passed} passed, ${failed} failed`);
  }

  console.log(`\npeak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
