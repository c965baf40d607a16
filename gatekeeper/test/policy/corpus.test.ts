// The conformance corpus: every case of ../shared/gatekeeper-library/general must pass `verify`, one subtest per suite.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { peerPath, sharedDir } from '../../../test/helpers/peers.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import { SuiteRunner, type CaseResult } from '../../src/verify/runner.js';
import { readSuites } from '../../src/verify/suite.js';

const corpus = path.join(sharedDir, 'gatekeeper-library', 'general');
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-corpus-cache-'));
t.teardown(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

const engine = await PolicyEngine.create({ opaPath: peerPath('opa'), cacheDir });
const suites = await readSuites([corpus]);
const runner = new SuiteRunner(engine);
await runner.precompile(suites);

t.equal(suites.length, 30, 'the corpus holds 30 suites');

for (const suite of suites) {
  t.test(path.relative(corpus, path.dirname(suite.path)), { timeout: 120_000 }, async (t) => {
    const results: CaseResult[] = await runner.run([suite]);
    t.ok(results.length > 0, 'the suite has cases');
    for (const r of results) {
      t.equal(r.status, 'pass', `${r.test}${r.case ? ` > ${r.case}` : ''}`, { error: r.error });
    }
  });
}
