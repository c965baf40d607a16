// CEL evaluation per review, ours against gator's own CEL engine (`gator bench --engine cel`), on the same files in one
// run; and the same for Rego (`gator bench --engine rego`, our Rego compiled to wasm). Prints figures, asserts nothing.
// Both sides read one scratch folder of JSON files: templates, constraints and objects. A review is one object against
// every loaded constraint (match included), at gator's enforcement point, one at a time, as `gator bench` does it
// (pkg/gator/bench: client.Review per object, latency per call; for Rego every object is also inventory data).
// Our side runs PolicyEngine.reviewSync, the call the webhook's eval workers make, on a review built as audit/gator do.
// Scenarios:
//   cel:  library/general requiredlabels (Rego and CEL: CEL runs) and the CEL-only fixtures of gatekeeper/test/cel
//         (variables, messages, matchcondition), against the fixtures' objects and every library sample object;
//   rego: the 30 library/general templates (first sample constraint each) against the library sample objects.
// Env: BENCH_CEL_ITERATIONS (passes over the objects, default 300), BENCH_REGO_ITERATIONS (default 30),
// BENCH_WARMUP (passes, default 10 as gator's), BENCH_ROUNDS (gator then ours, repeated; default 2), BENCH_SCENARIOS (default cel,rego).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { PolicyEngine, ENFORCEMENT_POINTS } from '../gatekeeper/src/policy/engine.js';
import { loadPolicyFiles, reviewFromObject } from '../gatekeeper/src/policy/load.js';
import { findOpa } from '../gatekeeper/src/templates/opa-path.js';

type Obj = Record<string, any>;
type Engine = 'cel' | 'rego';
interface Scenario {
  name: Engine;
  templates: Obj[];
  constraints: Obj[];
  objects: Obj[];
  iterations: number;
}
interface Figures {
  reviews: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  perSecond: number;
  violations: number;
  setupMs: number;
  note: string;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const corpus = path.resolve(root, '..', 'shared', 'gatekeeper-library', 'general');
const fixtures = path.join(root, 'gatekeeper', 'test', 'cel', 'fixtures');
const env = (name: string, def: number) => Number(process.env[name] ?? def);
const warmup = env('BENCH_WARMUP', 10);
const rounds = env('BENCH_ROUNDS', 2);
const wanted = new Set((process.env['BENCH_SCENARIOS'] ?? 'cel,rego').split(',').map((s) => s.trim()));
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-bench-cel-'));
process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));
const NOT_REVIEWED = new Set(['AdmissionReview', 'Suite', 'Kustomization']);

const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

function gatorPath(): string {
  const out = execFileSync('bash', [path.join(root, 'scripts/peers/get-gator.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop()!;
}

const plain = (o: Obj) => typeof o.kind === 'string' && !NOT_REVIEWED.has(o.kind) && typeof o.metadata?.name === 'string';
// gator's identity of an object: group (not version), kind, namespace, name
const identity = (o: Obj) => `${String(o.apiVersion).split('/').slice(0, -1).join('/')}/${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata.name}`;

/** Plain objects (no AdmissionReviews: gator bench reviews every file as an object), one per identity, first kept. */
function unique(objects: Obj[]): Obj[] {
  const seen = new Set<string>();
  return objects.filter((o) => plain(o) && !seen.has(identity(o)) && seen.add(identity(o)));
}

async function scenarios(): Promise<Scenario[]> {
  const dirs = fs.readdirSync(corpus).sort();
  const library = await Promise.all(dirs.map((d) => loadPolicyFiles([path.join(corpus, d)])));
  const libraryObjects = unique(library.flatMap((f) => f.others.map((o) => o.obj)));
  const requiredLabels = library[dirs.indexOf('requiredlabels')]!;
  const cel = await Promise.all(
    ['variables', 'messages', 'matchcondition'].map(async (d) => {
      const template = (await loadPolicyFiles([path.join(fixtures, d, 'template.yaml')])).templates[0]!.obj;
      const samples = await loadPolicyFiles([path.join(fixtures, d, 'samples')]);
      const constraint = samples.constraints.find((c) => !c.source.includes('error'))!.obj;
      return { template, constraint, objects: samples.others.map((o) => o.obj) };
    }),
  );
  return [
    {
      name: 'cel' as const,
      templates: [requiredLabels.templates[0]!.obj, ...cel.map((c) => c.template)],
      constraints: [...requiredLabels.constraints.map((c) => c.obj), ...cel.map((c) => c.constraint)],
      objects: unique([...cel.flatMap((c) => c.objects), ...libraryObjects]),
      iterations: env('BENCH_CEL_ITERATIONS', 300),
    },
    {
      name: 'rego' as const,
      templates: library.map((f) => f.templates[0]!.obj),
      constraints: library.map((f) => f.constraints[0]!.obj),
      objects: libraryObjects,
      iterations: env('BENCH_REGO_ITERATIONS', 30),
    },
  ].filter((s) => wanted.has(s.name));
}

/** The scenario as one JSON file per object, which both sides read. */
function writeScenario(s: Scenario): string {
  const dir = path.join(scratch, s.name);
  fs.mkdirSync(dir);
  [...s.templates, ...s.constraints, ...s.objects].forEach((o, i) => {
    fs.writeFileSync(path.join(dir, `${String(i).padStart(4, '0')}.json`), JSON.stringify(o));
  });
  return dir;
}

function figures(times: number[], violations: number, setupMs: number, wallMs: number, note: string): Figures {
  const sorted = [...times].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return {
    reviews: sorted.length,
    mean,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    perSecond: (sorted.length / wallMs) * 1000,
    violations,
    setupMs,
    note,
  };
}

async function ours(s: Scenario, dir: string, opaPath: string): Promise<Figures> {
  const files = await loadPolicyFiles([dir]);
  const started = performance.now();
  const engine = await PolicyEngine.create({ opaPath, cacheDir: path.join(scratch, 'wasm-cache'), enableK8sNativeValidation: s.name === 'cel' });
  const loaded = await Promise.all(files.templates.map((t) => engine.upsertTemplate(t.obj)));
  const errors = loaded.flatMap((r) => r.errors);
  if (errors.length) throw new Error(`templates failed: ${errors.join('; ')}`);
  for (const c of files.constraints) engine.upsertConstraint(c.obj);
  if (s.name === 'rego') for (const o of files.others) engine.addInventory(o.obj);
  const setupMs = performance.now() - started;
  const engines = engine.listTemplates().map((t) => t.engine);
  const note = `${engines.filter((e) => e === s.name).length} of ${engines.length} templates on ${s.name}`;

  const reviews = files.others.map((o) => reviewFromObject(o.obj));
  const opts = { enforcementPoint: ENFORCEMENT_POINTS.gator };
  for (let i = 0; i < warmup; i++) for (const r of reviews) engine.reviewSync(r, opts);
  const times: number[] = [];
  let violations = 0;
  const t0 = performance.now();
  for (let i = 0; i < s.iterations; i++) {
    for (const r of reviews) {
      const t = performance.now();
      const result = engine.reviewSync(r, opts);
      times.push(performance.now() - t);
      violations += result.violations.length;
    }
  }
  return figures(times, violations, setupMs, performance.now() - t0, note);
}

interface GatorResult {
  engine: string;
  templateCount: number;
  skippedTemplates?: string[];
  constraintCount: number;
  objectCount: number;
  setupDuration: string;
  latencies: { mean: string; p50: string; p95: string; p99: string };
  violationCount: number;
  reviewsPerSecond: number;
}

const GO_UNITS: Record<string, number> = { h: 3.6e6, m: 6e4, s: 1e3, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };

/** A Go time.Duration's String() ("1m2.5s", "853.2µs") in milliseconds. */
function goDurationMs(d: string): number {
  const parts = [...d.matchAll(/([\d.]+)(h|ms|m|s|us|µs|ns)/g)];
  if (!parts.length && d !== '0s') throw new Error(`not a Go duration: ${d}`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * GO_UNITS[unit!]!, 0);
}

function gator(s: Scenario, dir: string, bin: string): Figures {
  const args = ['bench', '--filename', dir, '--engine', s.name, '--iterations', String(s.iterations), '--warmup', String(warmup), '--output', 'json'];
  const r = spawnSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`gator ${args.join(' ')}: exit ${r.status ?? r.signal}: ${r.stderr}`);
  const [g] = JSON.parse(r.stdout) as GatorResult[];
  if (!g) throw new Error(`gator bench printed no result: ${r.stdout}`);
  const ms = goDurationMs;
  const skipped = g.skippedTemplates?.length ? `, skipped: ${g.skippedTemplates.join(' ')}` : '';
  return {
    reviews: g.objectCount * s.iterations,
    mean: ms(g.latencies.mean),
    p50: ms(g.latencies.p50),
    p95: ms(g.latencies.p95),
    p99: ms(g.latencies.p99),
    perSecond: g.reviewsPerSecond,
    violations: g.violationCount,
    setupMs: ms(g.setupDuration),
    note: `${g.templateCount} templates, ${g.constraintCount} constraints, ${g.objectCount} objects${skipped}`,
  };
}

function row(label: string, f: Figures): string {
  const cells = [us(f.mean), us(f.p50), us(f.p95), us(f.p99)].map((c) => c.padStart(10));
  return `  ${label.padEnd(28)} ${cells.join(' ')} ${Math.round(f.perSecond).toLocaleString('en').padStart(10)} ${String(f.violations).padStart(10)} ${f.setupMs.toFixed(0).padStart(8)} ms  ${f.note}`;
}

async function main(): Promise<void> {
  const bin = gatorPath();
  const opaPath = findOpa();
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).stdout.trim().split('\n')[0];
  console.log(`gator: ${bin} (${version}); node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at start`);
  for (const s of await scenarios()) {
    const dir = writeScenario(s);
    console.log(
      `\n${s.name}: ${s.templates.length} templates, ${s.constraints.length} constraints, ${s.objects.length} objects, ` +
        `${s.iterations} passes (${s.iterations * s.objects.length} reviews a side), warm-up ${warmup} passes; one review = one object against every constraint`,
    );
    console.log(`  ${''.padEnd(28)} ${['mean', 'p50', 'p95', 'p99', 'reviews/s', 'violations', 'setup'].map((h) => h.padStart(10)).join(' ')}`);
    const means: Array<[number, number]> = [];
    for (let round = 1; round <= rounds; round++) {
      const g = gator(s, dir, bin);
      console.log(row(`gator bench --engine ${s.name}`, g));
      const o = await ours(s, dir, opaPath);
      console.log(row(`ours (reviewSync, ${s.name})`, o));
      means.push([g.mean, o.mean]);
    }
    const ratios = means.map(([g, o]) => (g / o).toFixed(2));
    console.log(`  gator mean / our mean: ${ratios.join(', ')} (above 1: ours is faster); load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
