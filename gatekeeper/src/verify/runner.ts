// Runs gator suites against the engine: per test, its template and constraint; per case, a fresh inventory and one
// object (or AdmissionReview) reviewed at the gator enforcement point, then every assertion.
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConstraintError, ENFORCEMENT_POINTS, PolicyEngine, type ReviewRequest } from '../policy/engine.js';
import { missingKind, parseObjects, reviewFromAdmissionReview, reviewFromObject, splitApiVersion } from '../policy/load.js';
import { parseTemplate } from '../templates/template.js';
import { expanderFor, isExpansionTemplate, type Expander } from '../expansion/expansion.js';
import { reviewResultants } from '../expansion/review-resultants.js';
import { checkAssertion } from './assertion.js';
import type { Case, Suite, Test } from './suite.js';

export interface CaseResult {
  suite: string;
  test: string;
  /** undefined for a result about the whole test (template/constraint errors, invalid tests). */
  case?: string;
  status: 'pass' | 'fail' | 'skip';
  error?: string;
  durationMs: number;
}

export interface RunOptions {
  /** Only tests/cases whose "test/case" name matches this regex run (the others are skipped). */
  run?: RegExp;
  onResult?: (r: CaseResult) => void;
}

/** The objects of a case file, refused as gator refuses them: none at all, or one without kind. */
async function readObjects(file: string): Promise<Array<Record<string, any>>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new Error(`${file}: no such file`);
  }
  const objs = parseObjects(text, file).map((o) => o.obj);
  for (const o of objs) {
    const bad = missingKind(o);
    if (bad) throw new Error(`reading "${file}": invalid yaml: ${bad}`);
  }
  if (!objs.length) throw new Error(`missing objects: path "${file}" defines no YAML objects`);
  return objs;
}

async function readOne(file: string, what: string): Promise<Record<string, any>> {
  const objs = await readObjects(file);
  if (objs.length !== 1) throw new Error(`${what} file must contain exactly one object: "${file}" defines ${objs.length} objects`);
  return objs[0]!;
}

function isAdmissionReview(o: Record<string, any>): boolean {
  return o.kind === 'AdmissionReview' && splitApiVersion(o.apiVersion).group === 'admission.k8s.io';
}

export class SuiteRunner {
  constructor(private readonly engine: PolicyEngine) {}

  /** Compiles every template the suites name, in parallel, so the sequential run finds them cached. */
  async precompile(suites: Suite[]): Promise<void> {
    const files = new Set<string>();
    for (const s of suites) for (const t of s.tests) if (t.template && !t.skip && !s.skip) files.add(path.resolve(path.dirname(s.path), t.template));
    await Promise.all(
      [...files].map(async (f) => {
        try {
          const parsed = parseTemplate(await readOne(f, 'template'));
          if (this.engine.engineFor(parsed) === 'rego') await this.engine.compiler.compile(parsed);
        } catch {
          // reported by the test that uses it
        }
      }),
    );
  }

  async run(suites: Suite[], opts: RunOptions = {}): Promise<CaseResult[]> {
    const results: CaseResult[] = [];
    const emit = (r: CaseResult) => {
      results.push(r);
      opts.onResult?.(r);
    };
    for (const suite of suites) {
      for (const test of suite.tests) {
        if (suite.skip || test.skip) {
          emit({ suite: suite.path, test: test.name, status: 'skip', durationMs: 0 });
          continue;
        }
        await this.runTest(suite, test, opts, emit);
      }
    }
    return results;
  }

  private async runTest(suite: Suite, test: Test, opts: RunOptions, emit: (r: CaseResult) => void): Promise<void> {
    const dir = path.dirname(suite.path);
    const started = performance.now();
    const fail = (error: string) => emit({ suite: suite.path, test: test.name, status: 'fail', error, durationMs: performance.now() - started });
    const wanted = (c?: Case) => !opts.run || opts.run.test(c ? `${test.name}/${c.name}` : test.name);
    if (!wanted() && !test.cases.some(wanted)) {
      emit({ suite: suite.path, test: test.name, status: 'skip', durationMs: 0 });
      return;
    }
    for (const t of this.engine.listTemplates()) this.engine.removeTemplate(t.kind);
    this.engine.clearInventory();
    if (!test.template) return fail('invalid suite: missing template');
    if (!test.constraint) return fail('invalid suite: missing constraint');

    let kind: string;
    try {
      const res = await this.engine.upsertTemplate(await readOne(path.join(dir, test.template), 'template'));
      if (res.errors.length) return fail(`adding template: ${res.errors.join('; ')}`);
      kind = res.kind;
    } catch (e) {
      return fail(`adding template: ${(e as Error).message}`);
    }
    let constraintError: unknown;
    try {
      this.engine.upsertConstraint(await readOne(path.join(dir, test.constraint), 'constraint'));
    } catch (e) {
      constraintError = e;
    }
    if (test.invalid) {
      if (constraintError instanceof ConstraintError && constraintError.reason === 'schema') {
        emit({ suite: suite.path, test: test.name, status: 'pass', durationMs: performance.now() - started });
      } else {
        fail(`want a constraint that fails its template's schema, got ${constraintError ? (constraintError as Error).message : 'a valid constraint'}`);
      }
      return;
    }
    if (constraintError) return fail(`adding constraint: ${(constraintError as Error).message}`);
    void kind;
    let expander: Expander | undefined;
    try {
      if (test.expansion) {
        const file = path.join(dir, test.expansion);
        const objs = await readObjects(file);
        if (!objs.every(isExpansionTemplate)) throw new Error(`not an Expansion Template: "${file}"`);
        expander = expanderFor(objs);
      }
    } catch (e) {
      return fail(`reading expansion: ${(e as Error).message}`);
    }

    for (const c of test.cases) {
      if (c.skip || !wanted(c)) {
        emit({ suite: suite.path, test: test.name, case: c.name, status: 'skip', durationMs: 0 });
        continue;
      }
      const caseStart = performance.now();
      const error = await this.runCase(dir, c, expander).catch((e: Error) => e.message);
      emit({ suite: suite.path, test: test.name, case: c.name, status: error ? 'fail' : 'pass', error, durationMs: performance.now() - caseStart });
    }
  }

  /** Returns undefined when every assertion holds, else what was expected and what came. */
  private async runCase(dir: string, c: Case, expander?: Expander): Promise<string | undefined> {
    if (!c.object) return 'invalid case: must define object';
    if (!c.assertions.length) return 'invalid case: assertions must be non-empty';
    const obj = await readOne(path.join(dir, c.object), 'object');
    this.engine.clearInventory();
    for (const inv of c.inventory ?? []) {
      for (const o of await readObjects(path.join(dir, inv))) {
        try {
          this.engine.addInventory(o);
        } catch (e) {
          throw new Error(`unable to add object to data.inventory: ${(e as Error).message}`);
        }
      }
    }
    const review: ReviewRequest = isAdmissionReview(obj) ? reviewFromAdmissionReview(obj) : reviewFromObject(obj);
    const point = { enforcementPoint: ENFORCEMENT_POINTS.gator };
    const violations = (await this.engine.review(review, point)).violations;
    if (!isAdmissionReview(obj)) violations.push(...(await reviewResultants(this.engine, expander, obj, point)).violations);
    const messages = violations.map((v) => v.msg);
    for (const [i, a] of c.assertions.entries()) {
      const err = checkAssertion(a, messages);
      if (err) return `assertion ${i + 1}: ${err}`;
    }
    return undefined;
  }
}
