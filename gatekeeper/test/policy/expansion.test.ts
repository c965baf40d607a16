// ExpansionTemplates as Gatekeeper expands them: the expander itself, gator verify's expansion suite
// (test/gator/verify), gator test's "expansion with namespace selector" case, source matching, the template's
// enforcementAction, and `gatekeeper expand`.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { bins, sharedDir } from '../../../test/helpers/peers.js';
import { Expander, parseExpansionTemplate } from '../../src/expansion/expansion.js';
import { readSuites } from '../../src/verify/suite.js';
import { SuiteRunner } from '../../src/verify/runner.js';
import { constraint, newEngine, opaPath, template, tempDir } from './helpers.js';

const expansion = (name: string, applyTo: { group: string; version: string; kind: string }, templateSource: string, generated: { group: string; version: string; kind: string }, enforcementAction?: string) => ({
  apiVersion: 'expansion.gatekeeper.sh/v1beta1',
  kind: 'ExpansionTemplate',
  metadata: { name },
  spec: { applyTo: [{ groups: [applyTo.group], versions: [applyTo.version], kinds: [applyTo.kind] }], templateSource, generatedGVK: generated, ...(enforcementAction ? { enforcementAction } : {}) },
});
const deployments = expansion('expand-deployments', { group: 'apps', version: 'v1', kind: 'Deployment' }, 'spec.template', { group: '', version: 'v1', kind: 'Pod' });
const cronjobs = expansion('expand-cronjobs', { group: 'batch', version: 'v1', kind: 'CronJob' }, 'spec.jobTemplate', { group: 'batch', version: 'v1', kind: 'Job' });
const jobs = expansion('expand-jobs', { group: 'batch', version: 'v1', kind: 'Job' }, 'spec.template', { group: '', version: 'v1', kind: 'Pod' });
const deployment = (ns?: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'nginx-deployment', ...(ns ? { namespace: ns } : {}), labels: { app: 'nginx' } },
  spec: { replicas: 3, template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.14.2' }] } } },
});
const docs = (...objs: unknown[]) => objs.map((o) => YAML.stringify(o)).join('---\n');

t.test('the expander: recursive, deepest first, named and owned as Gatekeeper does; cycles left out; bad templates refused', async (t) => {
  const e = new Expander([deployments, cronjobs, jobs].map(parseExpansionTemplate));
  const [pod] = e.expand(deployment('loans'));
  t.same(pod, {
    obj: {
      metadata: { labels: { app: 'nginx' }, namespace: 'loans', name: 'nginx-deployment-pod', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'nginx-deployment', uid: '' }] },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.14.2' }] },
      apiVersion: 'v1',
      kind: 'Pod',
    },
    templateName: 'expand-deployments',
    enforcementAction: '',
  });
  const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'hello' }, spec: { jobTemplate: { spec: { template: { spec: { containers: [] } } } } } };
  t.same(e.expand(cron).map((r) => `${r.templateName} ${r.obj.kind} ${r.obj.metadata.name}`), ['expand-jobs Pod hello-job-pod', 'expand-cronjobs Job hello-job']);
  t.same(e.expand({ apiVersion: 'apps/v1beta1', kind: 'Deployment', metadata: { name: 'x' } }), [], 'applyTo is exact');
  t.throws(() => e.expand({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bare' } }), { message: 'could not find source field "spec.template" in resource bare' });

  const back = expansion('pods-to-deployments', { group: '', version: 'v1', kind: 'Pod' }, 'spec', { group: 'apps', version: 'v1', kind: 'Deployment' });
  const cyclic = new Expander([deployments, back, cronjobs].map(parseExpansionTemplate));
  t.equal(cyclic.size, 1, 'the two templates of the Deployment <-> Pod cycle are left out');
  t.throws(() => parseExpansionTemplate(expansion('self', { group: '', version: 'v1', kind: 'Pod' }, 'spec', { group: '', version: 'v1', kind: 'Pod' })), { message: 'ExpansionTemplate self generates GVK /v1, Kind=Pod, but also applies to that same GVK' });
  t.throws(() => parseExpansionTemplate({ ...deployments, spec: { ...deployments.spec, templateSource: '' } }), { message: 'ExpansionTemplate expand-deployments has empty source field' });
});

t.test("gator verify's expansion suite", async (t) => {
  const dir = tempDir(t, 'gk-verify-expansion-');
  const put = (file: string, body: unknown) => fs.writeFileSync(path.join(dir, file), typeof body === 'string' ? body : docs(body));
  put('template.yaml', template('K8sFooIs', 'package foo\nviolation[{"msg": msg}] {\n  wantFoo := object.get(object.get(input, "parameters", {}), "foo", "")\n  gotFoo := object.get(input.review.object, "foo", "")\n  wantFoo != gotFoo\n  msg := sprintf("input.foo is %v but want %v", [gotFoo, wantFoo])\n}\n', { schema: { type: 'object', properties: { foo: { type: 'string' } } } }));
  put('constraint.yaml', constraint('K8sFooIs', 'foo-is-bar', { match: { kinds: [{ apiGroups: [''], kinds: ['Foo', 'Bar'] }] }, parameters: { foo: 'bar' } }));
  put('foo_expansion.yaml', expansion('expand-foo', { group: 'apps', version: 'v1', kind: 'FooTemplate' }, 'spec.template', { group: '', version: 'v1', kind: 'Foo' }));
  put('foobar_expansion.yaml', docs(expansion('expand-foo', { group: 'apps', version: 'v1', kind: 'FooBarTemplate' }, 'spec.template', { group: '', version: 'v1', kind: 'Foo' }), expansion('expand-bar', { group: 'apps', version: 'v1', kind: 'FooBarTemplate' }, 'spec.template', { group: '', version: 'v1', kind: 'Bar' })));
  put('allow_foo_expansion.yaml', { apiVersion: 'apps/v1', kind: 'FooTemplate', metadata: { name: 'foo-template' }, spec: { template: { foo: 'bar' } } });
  put('deny_foo_expansion.yaml', { apiVersion: 'apps/v1', kind: 'FooTemplate', metadata: { name: 'foo-template' }, spec: { template: { foo: 'qux' } } });
  put('deny_foobar_expansion.yaml', { apiVersion: 'apps/v1', kind: 'FooBarTemplate', metadata: { name: 'foo-template' }, spec: { template: { foo: 'qux' } } });
  put('suite.yaml', {
    kind: 'Suite',
    apiVersion: 'test.gatekeeper.sh/v1alpha1',
    tests: [
      {
        name: 'foo-template-to-foo-expansion',
        template: 'template.yaml',
        constraint: 'constraint.yaml',
        expansion: 'foo_expansion.yaml',
        cases: [
          { name: 'foo-bar', object: 'allow_foo_expansion.yaml', assertions: [{ violations: 'no' }] },
          { name: 'foo-not-bar', object: 'deny_foo_expansion.yaml', assertions: [{ violations: 1, message: '^\\[Implied by expand-foo\\] input.foo is qux but want bar$' }] },
        ],
      },
      {
        name: 'foobar-template-to-foo-and-bar-expansion',
        template: 'template.yaml',
        constraint: 'constraint.yaml',
        expansion: 'foobar_expansion.yaml',
        cases: [{ name: 'foo-and-bar-not-bar', object: 'deny_foobar_expansion.yaml', assertions: [{ violations: 2 }, { violations: 1, message: 'Implied by expand-bar' }] }],
      },
    ],
  });
  const results = await new SuiteRunner(await newEngine(t)).run(await readSuites([dir]));
  t.same(results.map((r) => `${r.case} ${r.status}${r.error ? ' ' + r.error : ''}`), ['foo-bar pass', 'foo-not-bar pass', 'foo-and-bar-not-bar pass']);
});

function gatekeeper(args: string[], cacheDir: string) {
  const r = spawnSync(process.execPath, [bins.gatekeeper, ...args, ...(args[0] === 'test' ? ['--opa-path', opaPath, '--cache-dir', cacheDir] : [])], { encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.test("gator test's expansion with a namespace selector; source matching; the template's enforcementAction", async (t) => {
  const dir = tempDir(t, 'gk-test-expansion-');
  const cache = tempDir(t, 'gk-cli-cache-');
  const requiredLabels = fs.readFileSync(path.join(sharedDir, 'gatekeeper-library/general/requiredlabels/template.yaml'), 'utf8');
  const owner = (name: string, extra: Record<string, unknown> = {}) =>
    constraint('K8sRequiredLabels', name, {
      match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], namespaceSelector: { matchExpressions: [{ key: 'admission.gatekeeper.sh/ignore', operator: 'DoesNotExist' }] }, ...extra },
      parameters: { message: 'All pods must have an `owner` label that points to your company username', labels: [{ key: 'owner', allowedRegex: '^[a-zA-Z]+.agilebank.demo$' }] },
    });
  const manifest = path.join(dir, 'expansion-w-ns-selector.yaml');
  fs.writeFileSync(manifest, `${docs({ ...deployments, apiVersion: 'expansion.gatekeeper.sh/v1alpha1' }, deployment('my-ns'), owner('all-must-have-owner'))}---\n${requiredLabels}`);
  const ns = path.join(dir, 'ns.yaml');
  fs.writeFileSync(ns, docs({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'my-ns' } }));

  const missing = gatekeeper(['test', '-f', manifest, '-o', 'yaml'], cache);
  t.equal(missing.code, 1, missing.err);
  t.same(YAML.parse(missing.out).map((r: any) => [r.violatingObject.kind, r.result.msg]), [
    ['Deployment', '[Implied by expand-deployments] unable to match constraints: error matching the requested object: nginx-deployment-pod :failed to run Match criteria: namespace selector for namespace-scoped object but missing Namespace'],
  ]);
  const found = gatekeeper(['test', '-f', manifest, '-f', ns, '-o', 'yaml'], cache);
  t.equal(found.code, 1);
  // requiredlabels carries a K8sNativeValidation block: CEL decides, as in Gatekeeper, with its two validations' messages.
  const celMessages = ['missing required label, requires all of: owner', 'regex mismatch'];
  t.same(YAML.parse(found.out).map((r: any) => r.result.msg), celMessages.map((m) => `[Implied by expand-deployments] ${m}`));

  // source: Original never sees the resultant; a template's enforcementAction overrides the constraint's.
  fs.writeFileSync(manifest, `${docs(deployments, deployment('my-ns'), owner('original-only', { source: 'Original', kinds: [{ apiGroups: ['', 'apps'], kinds: ['Pod', 'Deployment'] }] }))}---\n${requiredLabels}`);
  const original = gatekeeper(['test', '-f', manifest, '-f', ns, '-o', 'json'], cache);
  t.same(JSON.parse(original.out).map((r: any) => r.msg), celMessages, 'only the Deployment itself');
  fs.writeFileSync(manifest, `${docs(expansion('expand-deployments', { group: 'apps', version: 'v1', kind: 'Deployment' }, 'spec.template', { group: '', version: 'v1', kind: 'Pod' }, 'warn'), deployment('my-ns'), owner('generated-only', { source: 'Generated' }))}---\n${requiredLabels}`);
  const warned = gatekeeper(['test', '-f', manifest, '-f', ns, '-o', 'json'], cache);
  t.equal(warned.code, 0, 'the expansion warns only: exit 0');
  t.same(JSON.parse(warned.out).map((r: any) => [r.enforcementAction, r.msg]), celMessages.map((m) => ['warn', `[Implied by expand-deployments] ${m}`]));
});

t.test('gatekeeper expand prints the resultants as gator expand', async (t) => {
  const dir = tempDir(t, 'gk-expand-');
  const manifest = path.join(dir, 'manifest.yaml');
  fs.writeFileSync(manifest, docs(deployments, cronjobs, jobs, deployment('loans'), { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'hello' }, spec: { jobTemplate: { spec: { template: { spec: { containers: [] } } } } } }));
  const yaml = gatekeeper(['expand', '--filename', manifest], dir);
  t.equal(yaml.code, 0, yaml.err);
  t.same(YAML.parseAllDocuments(yaml.out).map((d) => (d.toJS() as any).metadata.name), ['nginx-deployment-pod', 'hello-job', 'hello-job-pod'], 'sorted by name + apiVersion + kind, descending ("hello-jobb…" > "hello-job-…")');
  const out = path.join(dir, 'out.json');
  const json = gatekeeper(['expand', '-n', manifest, '--format', 'json', '--outputfile', out], dir);
  t.equal(json.out, `Writing output to file: ${out}\n`);
  t.same(fs.readFileSync(out, 'utf8').split('---\n').map((s) => JSON.parse(s).kind), ['Pod', 'Job', 'Pod']);
  const none = gatekeeper(['expand'], dir);
  t.same([none.code, none.err.trim()], [1, 'no input data identified']);
  fs.writeFileSync(path.join(dir, 'mutator.yaml'), docs(deployments, { apiVersion: 'mutations.gatekeeper.sh/v1', kind: 'Assign', metadata: { name: 'a' } }));
  const mutator = gatekeeper(['expand', '-n', path.join(dir, 'mutator.yaml')], dir);
  t.equal(mutator.code, 1);
  t.match(mutator.err, 'error expanding resources: Assign a: mutators are not supported');
});
