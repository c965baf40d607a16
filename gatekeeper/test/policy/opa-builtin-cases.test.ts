// OPA's own builtin test cases for the pinned opa version (v1/test/cases/testdata/v1 of the opa module, fetched by
// scripts/peers/get-opa-testcases.sh into the peer cache) through the engine's wasm path: every case whose compiled
// policy calls a host builtin (one the wasm target leaves to us) passes; cases calling a builtin the engine does not
// provide are listed as skipped with the reason. Cases the wasm target answers alone are OPA's business, not run here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { peerPath } from '../../../test/helpers/peers.js';
import { notProvidedBuiltins } from '../../src/builtins/index.js';
import { missingBuiltins } from '../../src/policy/wasm.js';
import { hostSideBuiltins, loadCases, mentionedBuiltins, wasmExceptions, type OpaCase } from './opa-cases/cases.js';
import { buildBatch, runCase, verdict } from './opa-cases/run.js';
import { opaPath } from './helpers.js';

/** Cases per opa build: fewer builds is faster, but a build's planning time grows with its size. */
const BATCH = 200;

interface Outcome {
  c: OpaCase;
  failure?: string;
  /** the builtins it calls that the engine does not provide */
  missing?: string[];
  /** another reason not to run it */
  skip?: string;
}

const started = Date.now();
const casesRoot = peerPath('opa-testcases');
const all = loadCases(path.join(casesRoot, 'cases'));
const hostSide = hostSideBuiltins(opaPath, casesRoot);
/** Builtins only OPA's own test harness registers: a case calling one cannot compile anywhere else. */
const harnessOnly: Record<string, string> = { 'test.sleep': "registered only by OPA's own test harness" };
const exceptions = wasmExceptions(casesRoot);
const outcomes: Outcome[] = [];
const candidates = all
  .map((c, id) => ({ id, c, mentioned: mentionedBuiltins(c, hostSide) }))
  .filter((x) => {
    const harness = mentionedBuiltins(x.c, Object.keys(harnessOnly));
    if (harness.length) outcomes.push({ c: x.c, missing: harness });
    else if (x.mentioned.length && exceptions[x.c.note]) outcomes.push({ c: x.c, skip: `OPA's wasm test skips it too: ${exceptions[x.c.note]}` });
    return x.mentioned.length && !harness.length && !exceptions[x.c.note];
  });
let wasmAlone = all.length - candidates.length - outcomes.length;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-opa-cases-'));
try {
  for (let i = 0; i < candidates.length; i += BATCH) {
    const chunk = candidates.slice(i, i + BATCH);
    const batch = buildBatch(dir, new Map(chunk.map((x) => [x.id, x.c])));
    for (const { id, c, mentioned } of chunk) {
      const refusal = batch.refused.get(id);
      if (refusal !== undefined) {
        // a case whose modules opa must reject (a type error, say) tests the compiler, not the builtins
        if (c.want_error_code?.startsWith('rego_')) wasmAlone++;
        else outcomes.push({ c, failure: `opa build refused it: ${refusal}` });
        continue;
      }
      const run = await runCase(batch.module!, id, c);
      const called = mentioned.filter((n) => run.imports.includes(n));
      const missing = missingBuiltins(called);
      if (!called.length) wasmAlone++;
      else if (missing.length) outcomes.push({ c, missing });
      else outcomes.push({ c, failure: verdict(c, run) });
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

function groupBy<T>(items: T[], key: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of items) out.set(key(x), [...(out.get(key(x)) ?? []), x]);
  return out;
}

const ran = outcomes.filter((o) => !o.missing && !o.skip);
const skipped = outcomes.filter((o) => o.missing);
const excepted = outcomes.filter((o) => o.skip);
for (const [topic, list] of groupBy(ran, (o) => path.dirname(o.c.file))) {
  t.test(`${topic}: ${list.length} OPA cases`, async (t) => {
    for (const o of list) t.equal(o.failure, undefined, `${o.c.file}: ${o.c.note}`);
  });
}
for (const [name, list] of groupBy(skipped, (o) => o.missing!.join(', '))) {
  t.test(`${name}: ${list.length} OPA cases`, { skip: `not provided: ${name.split(', ').map((n) => notProvidedBuiltins[n] ?? harnessOnly[n] ?? n).join('; ')}` }, async () => {});
}
for (const o of excepted) t.test(`${o.c.file}: ${o.c.note}`, { skip: o.skip }, async () => {});
// pinned to OPA_VERSION: a new opa brings new cases, and these numbers say how they sorted
t.test('how the OPA cases sort', async (t) => {
  t.same(
    { all: all.length, callHostBuiltins: ran.length, notProvided: skipped.length, skippedByOpa: excepted.length, wasmAlone },
    { all: 2400, callHostBuiltins: 688, notProvided: 170, skippedByOpa: 4, wasmAlone: 1538 },
  );
});
const passed = ran.filter((o) => o.failure === undefined).length;
t.comment(
  `${all.length} OPA cases: ${ran.length} call host builtins (${passed} pass), ${skipped.length} skipped (builtins not provided), ${excepted.length} skipped as OPA's wasm test does, ${wasmAlone} answered by the wasm target alone; ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
