// gator verify's own cases (pkg/gator/verify/runner_test.go, read_suites_test.go), ported: the namespace-selector case
// (selected, not selected, missing Namespace = autoreject), and the inputs gator refuses with its meaning.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { readSuites } from '../../src/verify/suite.js';
import { SuiteRunner, type CaseResult } from '../../src/verify/runner.js';
import { constraint, newEngine, sawRego, template, tempDir } from './helpers.js';

const write = (dir: string, file: string, body: unknown) => fs.writeFileSync(path.join(dir, file), typeof body === 'string' ? body : YAML.stringify(body));
const SUITE = { kind: 'Suite', apiVersion: 'test.gatekeeper.sh/v1alpha1' };

async function run(t: Test, dir: string): Promise<Record<string, string>> {
  const engine = await newEngine(t);
  const results: CaseResult[] = await new SuiteRunner(engine).run(await readSuites([dir]));
  return Object.fromEntries(results.map((r) => [r.case ?? r.test, r.status === 'pass' ? 'pass' : `${r.status}: ${r.error}`]));
}

t.test('namespace selector: selected, not selected, and a missing Namespace autorejects', async (t) => {
  const dir = tempDir(t, 'gk-verify-ns-');
  write(dir, 'template.yaml', template('K8sNeverValidate', 'package k8sneververvalidate\nviolation[{"msg": "never validate"}] { true }\n'));
  write(dir, 'constraint.yaml', constraint('K8sNeverValidate', 'constraint', { match: { namespaceSelector: { matchLabels: { bar: 'qux' } } } }));
  write(dir, 'object.yaml', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'object', namespace: 'foo' } });
  write(dir, 'inventory.yaml', { apiVersion: '/v1', kind: 'Namespace', metadata: { name: 'foo', labels: { bar: 'qux' } } });
  write(dir, 'inventory-2.yaml', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'foo', labels: { bar: 'zab' } } });
  write(dir, 'suite.yaml', {
    ...SUITE,
    tests: [
      {
        name: 'namespace selected Constraint',
        template: 'template.yaml',
        constraint: 'constraint.yaml',
        cases: [
          { name: 'selected', object: 'object.yaml', inventory: ['inventory.yaml'], assertions: [{ violations: 'yes' }] },
          { name: 'not-selected', object: 'object.yaml', inventory: ['inventory-2.yaml'], assertions: [{ violations: 'no' }] },
          { name: 'missing-namespace', object: 'object.yaml', assertions: [{ violations: 'yes', message: 'missing Namespace' }] },
        ],
      },
    ],
  });
  t.same(await run(t, dir), { selected: 'pass', 'not-selected': 'pass', 'missing-namespace': 'pass' });
});

t.test('inputs gator refuses fail the case with its meaning; a Suite written as JSON is a Suite', async (t) => {
  const dir = tempDir(t, 'gk-verify-rejects-');
  write(dir, 'template.yaml', template('K8sSaw', sawRego('k8ssaw')));
  write(dir, 'constraint.yaml', constraint('K8sSaw', 'saw'));
  write(dir, 'empty.yaml', '# nothing here\n---\n');
  write(dir, 'pod.yaml', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'x' } });
  write(dir, 'kindless.yaml', { apiVersion: 'v1', metadata: { name: 'p' } });
  const review = (request: Record<string, unknown>) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: '1', kind: { group: '', version: 'v1', kind: 'Pod' }, ...request } });
  write(dir, 'delete-no-old.yaml', review({ operation: 'DELETE', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } } }));
  write(dir, 'delete-old.yaml', review({ operation: 'DELETE', oldObject: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'old' } } }));
  write(dir, 'no-kind-object.yaml', review({ operation: 'CREATE', object: { apiVersion: 'v1', metadata: { name: 'p' } } }));
  write(dir, 'no-kind-old.yaml', review({ operation: 'UPDATE', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }, oldObject: { apiVersion: 'v1', metadata: { name: 'p' } } }));
  write(dir, 'no-objects.yaml', review({ operation: 'CREATE' }));
  write(dir, 'no-request.yaml', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
  const c = (name: string, object: string, inventory?: string[]) => ({ name, object, ...(inventory ? { inventory } : {}), assertions: [{ violations: 'yes' }] });
  // JSON in a .yaml file (and a .json file), as gator reads both with its YAML decoder.
  const suite = {
    ...SUITE,
    tests: [
      {
        name: 'rejects',
        template: 'template.yaml',
        constraint: 'constraint.yaml',
        cases: [
          c('empty object file', 'empty.yaml'),
          c('empty inventory file', 'pod.yaml', ['empty.yaml']),
          c('object without kind', 'kindless.yaml'),
          c('inventory without kind', 'pod.yaml', ['kindless.yaml']),
          c('DELETE without oldObject', 'delete-no-old.yaml'),
          c('DELETE with oldObject', 'delete-old.yaml'),
          c('no kind on object', 'no-kind-object.yaml'),
          c('no kind on old object', 'no-kind-old.yaml'),
          c('no object or oldObject', 'no-objects.yaml'),
          c('no request', 'no-request.yaml'),
        ],
      },
    ],
  };
  write(dir, 'suite.yaml', JSON.stringify(suite));
  const results = await run(t, dir);
  t.same(results, {
    'empty object file': `fail: missing objects: path "${path.join(dir, 'empty.yaml')}" defines no YAML objects`,
    'empty inventory file': `fail: missing objects: path "${path.join(dir, 'empty.yaml')}" defines no YAML objects`,
    'object without kind': `fail: reading "${path.join(dir, 'kindless.yaml')}": invalid yaml: Object 'Kind' is missing in '{"apiVersion":"v1","metadata":{"name":"p"}}'`,
    'inventory without kind': `fail: reading "${path.join(dir, 'kindless.yaml')}": invalid yaml: Object 'Kind' is missing in '{"apiVersion":"v1","metadata":{"name":"p"}}'`,
    'DELETE without oldObject': 'fail: oldObject cannot be nil for DELETE operations',
    'DELETE with oldObject': 'pass',
    'no kind on object': `fail: object or oldObject cannot be unmarshalled: Object 'Kind' is missing in '{"apiVersion":"v1","metadata":{"name":"p"}}'`,
    'no kind on old object': `fail: object or oldObject cannot be unmarshalled: Object 'Kind' is missing in '{"apiVersion":"v1","metadata":{"name":"p"}}'`,
    'no object or oldObject': 'fail: no object or oldObject found to review: AdmissionRequest does not contain an "object" or "oldObject" to review',
    'no request': 'fail: missing an AdmissionRequest object: request did not actually pass in an AdmissionRequest',
  });

  fs.renameSync(path.join(dir, 'suite.yaml'), path.join(dir, 'suite.json'));
  t.equal((await readSuites([path.join(dir, 'suite.json')])).length, 1, 'an explicit .json suite');
  t.equal((await readSuites([dir])).length, 1, 'a .json suite in a folder');
  write(dir, 'suite.txt', JSON.stringify(suite));
  await t.rejects(readSuites([path.join(dir, 'suite.txt')]), { message: /suite\.txt: unsupported extension: "\.txt"/ });
  await t.rejects(readSuites([path.join(dir, 'pod.yaml')]), { message: /pod\.yaml: not a Suite/ });
});
