// CEL templates through the engine and `verify`: the suites written here (fixtures/), the library's dual-engine
// template with CEL chosen, with its Rego block removed, and with CEL switched off; which engine decided; and templates
// refused at load and at admission as Gatekeeper refuses them.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { sharedDir } from '../../../test/helpers/peers.js';
import { violationAdmissionRecord } from '../../src/export/records.js';
import { resourceChecker } from '../../src/k8s/resource-checker.js';
import type { PolicyController } from '../../src/k8s/policy-controller.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import { reviewFromObject } from '../../src/policy/load.js';
import { SuiteRunner } from '../../src/verify/runner.js';
import { readSuites } from '../../src/verify/suite.js';
import { checkGatekeeperResource } from '../../src/webhook/validate-gatekeeper-resources.js';
import { constraint, opaPath, tempDir } from '../policy/helpers.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const requiredLabels = path.join(sharedDir, 'gatekeeper-library', 'general', 'requiredlabels');

async function verify(engine: PolicyEngine, dir: string): Promise<{ pass: number; fail: string[] }> {
  const results = await new SuiteRunner(engine).run(await readSuites([dir]));
  return {
    pass: results.filter((r) => r.status === 'pass').length,
    fail: results.filter((r) => r.status !== 'pass').map((r) => `${r.test} > ${r.case}: ${r.error}`),
  };
}

const celTemplate = (kind: string, source: unknown) => ({
  apiVersion: 'templates.gatekeeper.sh/v1',
  kind: 'ConstraintTemplate',
  metadata: { name: kind.toLowerCase() },
  spec: { crd: { spec: { names: { kind } } }, targets: [{ target: 'admission.k8s.gatekeeper.sh', code: [{ engine: 'K8sNativeValidation', source }] }] },
});

t.test('the CEL-only suites written here pass, every case', { timeout: 120_000 }, async (t) => {
  const engine = await PolicyEngine.create({ opaPath, cacheDir: tempDir(t, 'gk-cel-cache-') });
  const r = await verify(engine, fixtures);
  t.same(r.fail, []);
  t.equal(r.pass, 14, 'variables 5, messages 2, failure policies 2, match conditions 5');
});

t.test('requiredlabels (Rego and CEL): CEL chosen, CEL alone, Rego when CEL is off', { timeout: 240_000 }, async (t) => {
  const cacheDir = tempDir(t, 'gk-cel-cache-');
  const template = YAML.parse(fs.readFileSync(path.join(requiredLabels, 'template.yaml'), 'utf8'));
  const engines = template.spec.targets[0].code.map((c: { engine: string }) => c.engine);
  t.same(engines, ['K8sNativeValidation', 'Rego'], 'the library template carries both engines');

  const cel = await PolicyEngine.create({ opaPath, cacheDir });
  t.same(await verify(cel, requiredLabels), { pass: 5, fail: [] }, 'CEL preferred: 5 of 5');
  const added = await cel.upsertTemplate(template);
  t.same(added.errors, []);
  t.equal(cel.listTemplates().find((x) => x.kind === 'K8sRequiredLabels')?.engine, 'cel', 'CEL is the engine chosen');

  // The same suite with the Rego block removed, as a user writing CEL-only templates would have it.
  const stripped = tempDir(t, 'gk-cel-requiredlabels-');
  fs.cpSync(requiredLabels, stripped, { recursive: true });
  template.spec.targets[0].code = template.spec.targets[0].code.filter((c: { engine: string }) => c.engine !== 'Rego');
  fs.writeFileSync(path.join(stripped, 'template.yaml'), YAML.stringify(template));
  t.same(await verify(cel, stripped), { pass: 5, fail: [] }, 'CEL only: 5 of 5');

  const rego = await PolicyEngine.create({ opaPath, cacheDir, enableK8sNativeValidation: false });
  t.same(await verify(rego, requiredLabels), { pass: 5, fail: [] }, 'CEL off: the Rego passes 5 of 5');
  const refused = await rego.upsertTemplate(template);
  t.same(refused.errors, ['template k8srequiredlabels: has only a K8sNativeValidation (CEL) source, and CEL is disabled (--enable-k8s-native-validation=false)']);

  // Which engine decided reaches the violation and its record.
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'no-owner' } };
  const c = YAML.parse(fs.readFileSync(path.join(requiredLabels, 'samples/all-must-have-owner/constraint.yaml'), 'utf8'));
  // Without labels both CEL validations fail (two violations, as in Gatekeeper); the Rego reports one.
  const want = {
    cel: ['missing required label, requires all of: owner', 'regex mismatch'],
    rego: ["All namespaces must have an `owner` label that points to your company username"],
  };
  for (const [engine, name] of [[cel, 'cel'], [rego, 'rego']] as const) {
    await engine.upsertTemplate(YAML.parse(fs.readFileSync(path.join(requiredLabels, 'template.yaml'), 'utf8')));
    engine.upsertConstraint(c);
    const { violations } = await engine.review(reviewFromObject(ns));
    t.same(violations.map((v) => v.msg), want[name], `${name}: its messages`);
    t.same(violations.map((v) => v.engine), want[name].map(() => name), `${name}: each violation says which engine decided`);
    const record = violationAdmissionRecord({ uid: 'u', kind: { group: '', version: 'v1', kind: 'Namespace' }, operation: 'CREATE', object: ns } as never, ns, violations[0]!);
    t.equal(record.engine, name, `${name}: and so does its record`);
  }
});

t.test('a template Gatekeeper refuses is refused at load and at admission, with its error', { timeout: 120_000 }, async (t) => {
  const engine = await PolicyEngine.create({ opaPath, cacheDir: tempDir(t, 'gk-cel-cache-') });
  const bad = celTemplate('K8sBadCel', { variables: [{ name: 'params', expression: '1' }], validations: [{ expression: 'true' }] });
  const message = 'template k8sbadcel: invalid variable definition: params an invalid variable name, "params" is a reserved keyword';
  t.same((await engine.upsertTemplate(bad)).errors, [message], 'at load');
  t.throws(() => engine.upsertConstraint(constraint('K8sBadCel', 'c')), /template k8sbadcel is not loaded/, 'its constraints are refused');

  const scratch = await PolicyEngine.create({ opaPath, cacheDir: tempDir(t, 'gk-cel-cache-') });
  const checker = resourceChecker(scratch, { templateOf: () => undefined } as unknown as PolicyController);
  const admit = (object: unknown) =>
    checkGatekeeperResource({ uid: 'u', operation: 'CREATE', kind: { group: 'templates.gatekeeper.sh', version: 'v1', kind: 'ConstraintTemplate' }, object } as never, checker);
  t.equal(await admit(bad), message, 'at admission');
  t.equal(await admit(celTemplate('K8sGoodCel', { validations: [{ expression: 'true' }] })), undefined, 'a valid CEL-only template is admitted');
  t.equal(
    await admit(celTemplate('K8sPolicyCel', { failurePolicy: 'Never', validations: [{ expression: 'true' }] })),
    'template k8spolicycel: invalid failure policy: unrecognized failure policy: Never',
  );
});

t.test('--default-k8s-native-validation-failure-policy: a source without failurePolicy follows it', { timeout: 120_000 }, async (t) => {
  const broken = celTemplate('K8sBrokenCel', { validations: [{ expression: 'object.nokey == 1' }] });
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' } };
  const violations = async (opts: { celDefaultFailurePolicy?: 'Fail' | 'Ignore' }) => {
    const engine = await PolicyEngine.create({ opaPath, cacheDir: tempDir(t, 'gk-cel-cache-'), ...opts });
    t.same((await engine.upsertTemplate(broken)).errors, []);
    engine.upsertConstraint(constraint('K8sBrokenCel', 'c'));
    return (await engine.review(reviewFromObject(pod))).violations.map((v) => v.msg);
  };
  t.same(await violations({}), ["expression 'object.nokey == 1' resulted in error: no such key: nokey"], 'Fail by default');
  t.same(await violations({ celDefaultFailurePolicy: 'Ignore' }), [], 'Ignore when so configured');
  await t.rejects(PolicyEngine.create({ opaPath, celDefaultFailurePolicy: 'Maybe' as never }), /celDefaultFailurePolicy must be Fail or Ignore, got Maybe/);
});
