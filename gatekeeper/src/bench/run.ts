// `gatekeeper bench` as `gator bench`: the templates, constraints and objects of some files loaded once (setup timed
// by phase), every object reviewed --warmup times, then --iterations times with each review timed; --concurrency > 1
// spreads the reviews over that many evaluation worker threads (each with its own copy of the policies) with as many
// reviews in flight. Durations are integer nanoseconds, as Go's time.Duration marshals.
import type { Logger } from 'pino';
import { ENFORCEMENT_POINTS, PolicyEngine, type EngineOptions, type ReviewRequest } from '../policy/engine.js';
import { reviewFromObject, sortObjects, type LoadedObject } from '../policy/load.js';
import type { ClusterEvalWorkerData, PolicyOp } from '../k8s/policy-mirror.js';
import { EvalPool } from '../webhook/eval-pool.js';

export const ENGINE = 'rego';

export interface Latencies {
  min: number;
  max: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface BenchResults {
  engine: string;
  templateCount: number;
  skippedTemplates?: string[];
  constraintCount: number;
  skippedConstraints?: string[];
  skippedDataObjects?: string[];
  referentialDataSupported: boolean;
  objectCount: number;
  iterations: number;
  concurrency: number;
  setupDuration: number;
  setupBreakdown: { clientCreation: number; templateCompilation: number; constraintLoading: number; dataLoading: number };
  totalDuration: number;
  latencies: Latencies;
  violationCount: number;
  reviewsPerSecond: number;
}

export interface BenchOptions {
  iterations: number;
  warmup: number;
  concurrency: number;
  engine: Omit<EngineOptions, 'logger'>;
  logger: Logger;
}

const ns = (ms: number) => Math.round(ms * 1e6);
const since = (t: number) => ns(performance.now() - t);

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function latencies(durations: number[]): Latencies {
  const sorted = [...durations].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    min: sorted[0] ?? 0,
    max: sorted[sorted.length - 1] ?? 0,
    mean: sorted.length ? Math.round(sum / sorted.length) : 0,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
  };
}

export async function runBench(objects: LoadedObject[], o: BenchOptions): Promise<BenchResults> {
  const setupStart = performance.now();
  const engine = await PolicyEngine.create({ ...o.engine, logger: o.logger });
  const clientCreation = since(setupStart);
  const files = sortObjects(objects);
  const snapshot: PolicyOp[] = [];

  let t = performance.now();
  const skippedTemplates: string[] = [];
  const added = await Promise.all(files.templates.map((x) => engine.upsertTemplate(x.obj)));
  added.forEach((r, i) => {
    if (r.errors.length) skippedTemplates.push(String(files.templates[i]!.obj.metadata?.name ?? r.kind));
    else snapshot.push({ op: 'upsertTemplate', obj: files.templates[i]!.obj });
  });
  const templateCompilation = since(t);

  t = performance.now();
  const skippedConstraints: string[] = [];
  for (const c of files.constraints) {
    try {
      engine.upsertConstraint(c.obj);
      snapshot.push({ op: 'upsertConstraint', obj: c.obj });
    } catch {
      skippedConstraints.push(`${c.obj.kind}/${c.obj.metadata?.name ?? ''}`);
    }
  }
  const constraintLoading = since(t);

  t = performance.now();
  const skippedDataObjects: string[] = [];
  for (const x of files.others) {
    try {
      engine.addInventory(x.obj);
      snapshot.push({ op: 'addInventory', obj: x.obj });
    } catch {
      skippedDataObjects.push(`${x.obj.kind ?? ''}/${x.obj.metadata?.name ?? ''}`);
    }
  }
  const dataLoading = since(t);

  const reviews: ReviewRequest[] = files.others.map((x) => reviewFromObject(x.obj));
  if (!reviews.length) throw new Error('no objects to review among the inputs (only templates and constraints)');
  const opts = { enforcementPoint: ENFORCEMENT_POINTS.gator };
  let pool: EvalPool | undefined;
  if (o.concurrency > 1) {
    const data = (index: number): ClusterEvalWorkerData => ({ index, engine: o.engine, logLevel: o.logger.level, snapshot });
    pool = (await EvalPool.startWorkers(o.concurrency, { script: new URL('../k8s/eval-worker.js', import.meta.url), data }, o.logger, { onState: () => {}, onIngested: () => {} })).pool;
  }
  const setupDuration = since(setupStart);

  try {
    const review = pool ? (r: ReviewRequest) => pool!.review(r, opts) : async (r: ReviewRequest) => engine.reviewSync(r, opts);
    for (let i = 0; i < o.warmup; i++) for (const r of reviews) await review(r);

    const durations: number[] = [];
    let violationCount = 0;
    const total = o.iterations * reviews.length;
    let next = 0;
    const started = performance.now();
    // `concurrency` loops, each taking the next review as soon as its last one is answered.
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        while (next < total) {
          const r = reviews[next++ % reviews.length]!;
          const t0 = performance.now();
          const res = await review(r);
          durations.push(since(t0));
          violationCount += res.violations.length;
        }
      }),
    );
    const totalDuration = since(started);
    const results: BenchResults = {
      engine: ENGINE,
      templateCount: files.templates.length - skippedTemplates.length,
      constraintCount: files.constraints.length - skippedConstraints.length,
      referentialDataSupported: true,
      objectCount: reviews.length,
      iterations: o.iterations,
      concurrency: o.concurrency,
      setupDuration,
      setupBreakdown: { clientCreation, templateCompilation, constraintLoading, dataLoading },
      totalDuration,
      latencies: latencies(durations),
      violationCount,
      reviewsPerSecond: totalDuration > 0 ? total / (totalDuration / 1e9) : 0,
    };
    if (skippedTemplates.length) results.skippedTemplates = skippedTemplates;
    if (skippedConstraints.length) results.skippedConstraints = skippedConstraints;
    if (skippedDataObjects.length) results.skippedDataObjects = skippedDataObjects;
    return results;
  } finally {
    await pool?.close();
  }
}
