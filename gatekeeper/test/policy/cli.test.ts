// The built CLI: `gatekeeper verify` (corpus, failures, skips, invalid tests, AdmissionReview cases) and `gatekeeper test`.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { bins, sharedDir } from '../../../test/helpers/peers.js';
import { constraint, opaPath, sawRego, template, tempDir } from './helpers.js';

function gatekeeper(args: string[], cacheDir: string) {
  const r = spawnSync(process.execPath, [bins.gatekeeper, ...args, '--opa-path', opaPath, '--cache-dir', cacheDir], { encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const write = (dir: string, file: string, obj: unknown) => fs.writeFileSync(path.join(dir, file), typeof obj === 'string' ? obj : YAML.stringify(obj));

t.test('verify passes every case of the library corpus', async (t) => {
  const cache = tempDir(t, 'gk-cli-cache-');
  const r = gatekeeper(['verify', path.join(sharedDir, 'gatekeeper-library', 'general')], cache);
  t.equal(r.code, 0, r.out + r.err);
  t.match(r.out, /^\d+ passed, 0 failed$/m);
  const passed = Number(/^(\d+) passed/m.exec(r.out)?.[1]);
  t.ok(passed >= 126, `${passed} cases passed`);
});

t.test('verify prints each failure with expected and got, counts skips, exits 1', async (t) => {
  const dir = tempDir(t, 'gk-suite-');
  const cache = tempDir(t, 'gk-cli-cache-');
  write(dir, 'template.yaml', template('K8sSaw', sawRego('k8ssaw'), { schema: { type: 'object', properties: { n: { type: 'integer' } } } }));
  write(dir, 'constraint.yaml', constraint('K8sSaw', 'saw', { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] } }));
  write(dir, 'bad-constraint.yaml', constraint('K8sSaw', 'bad', { parameters: { n: 'x' } }));
  write(dir, 'pod.yaml', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' } });
  write(dir, 'two.yaml', '---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\n');
  write(dir, 'review.yaml', {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: '1', operation: 'DELETE', kind: { group: '', version: 'v1', kind: 'Pod' }, oldObject: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'old' } } },
  });
  write(dir, 'suite.yaml', {
    kind: 'Suite',
    apiVersion: 'test.gatekeeper.sh/v1alpha1',
    tests: [
      {
        name: 'saw',
        template: 'template.yaml',
        constraint: 'constraint.yaml',
        cases: [
          { name: 'count-ok', object: 'pod.yaml', assertions: [{ violations: 1 }, { message: '^saw w.b$', violations: 'yes' }, { message: 'nope', violations: 'no' }] },
          { name: 'count-wrong', object: 'pod.yaml', assertions: [{ violations: 2 }] },
          { name: 'regex-wrong', object: 'pod.yaml', assertions: [{ message: 'other', violations: 'yes' }] },
          { name: 'review', object: 'review.yaml', assertions: [{ message: 'saw old', violations: 1 }] },
          { name: 'two-objects', object: 'two.yaml', assertions: [{ violations: 'no' }] },
          { name: 'skipped', object: 'pod.yaml', skip: true, assertions: [{ violations: 9 }] },
        ],
      },
      { name: 'invalid-ok', template: 'template.yaml', constraint: 'bad-constraint.yaml', invalid: true },
      { name: 'invalid-wrong', template: 'template.yaml', constraint: 'constraint.yaml', invalid: true },
      { name: 'skipped-test', template: 'template.yaml', constraint: 'constraint.yaml', skip: true, cases: [] },
    ],
  });
  const r = gatekeeper(['verify', path.join(dir, 'suite.yaml')], cache);
  t.equal(r.code, 1, r.out + r.err);
  t.match(r.out, /FAIL .*suite\.yaml > saw > count-wrong\n\s+assertion 1: got 1 violations but want exactly 2; got messages \["saw web"\]/);
  t.match(r.out, /FAIL .* > saw > regex-wrong\n\s+assertion 1: got 0 violations containing "other" but want at least 1/);
  t.match(r.out, /FAIL .* > saw > two-objects\n\s+object .*two\.yaml defines 2 objects, want exactly 1/);
  t.match(r.out, /FAIL .* > invalid-wrong\n\s+want a constraint that fails its template's schema, got a valid constraint/);
  t.notMatch(r.out, /count-ok|> review|invalid-ok/);
  t.match(r.out, /^3 passed, 4 failed, 2 skipped$/m);
  const only = gatekeeper(['verify', dir, '--run', 'count-ok', '-v'], cache);
  t.equal(only.code, 0, only.out);
  t.match(only.out, /^ok +.* > saw > count-ok/m);
  t.match(only.out, /^1 passed, 0 failed, \d+ skipped$/m);
});

t.test('verify refuses paths without suites and bad flags', async (t) => {
  const dir = tempDir(t, 'gk-empty-');
  const cache = tempDir(t, 'gk-cli-cache-');
  const none = gatekeeper(['verify', dir], cache);
  t.equal(none.code, 2);
  t.match(none.err, /no Suite found in/);
  const missing = gatekeeper(['verify', path.join(dir, 'nope')], cache);
  t.equal(missing.code, 2);
  t.match(missing.err, /nope: no such file or directory/);
});

t.test('test evaluates manifests against the templates and constraints among them', async (t) => {
  const dir = tempDir(t, 'gk-test-');
  const cache = tempDir(t, 'gk-cli-cache-');
  write(dir, 'policy.yaml', [template('K8sSaw', sawRego('k8ssaw')), constraint('K8sSaw', 'saw', { match: { namespaces: ['prod'] } }), constraint('K8sSaw', 'warned', { enforcementAction: 'warn' })].map((o) => YAML.stringify(o)).join('---\n'));
  write(dir, 'pods.yaml', '---\napiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: prod}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: dev}\n');
  const text = gatekeeper(['test', dir], cache);
  t.equal(text.code, 1, 'a deny violation: exit 1');
  t.match(text.out, /Pod prod\/a \(.*pods\.yaml#1\): \[saw\] saw a \(K8sSaw, deny\)/);
  t.match(text.out, /Pod dev\/b .*\[warned\] saw b \(K8sSaw, warn\)/);
  t.match(text.out, /3 violation\(s\) in 2 object\(s\) of 2/);
  const json = gatekeeper(['test', dir, '-o', 'json'], cache);
  const parsed = JSON.parse(json.out) as Array<{ object: { name: string }; constraint: { name: string }; enforcementAction: string; msg: string }>;
  t.same(parsed.map((v) => `${v.object.name} ${v.constraint.name} ${v.enforcementAction} ${v.msg}`).sort(), ['a saw deny saw a', 'a warned warn saw a', 'b warned warn saw b']);
  t.ok(parsed.every((v: any) => /^sha256:/.test(v.constraint.policy?.templateHash) && !('policyJson' in v.constraint)), 'each constraint with its policy provenance, printed once');
  write(dir, 'pods.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: dev}\n');
  const warnOnly = gatekeeper(['test', dir], cache);
  t.equal(warnOnly.code, 0, 'only warn violations: exit 0');
  write(dir, 'broken.yaml', { apiVersion: 'constraints.gatekeeper.sh/v1beta1', kind: 'K8sMissing', metadata: { name: 'm' } });
  const broken = gatekeeper(['test', dir], cache);
  t.equal(broken.code, 2);
  t.match(broken.err, /broken\.yaml#1: constraint K8sMissing\/m: no ConstraintTemplate defines kind K8sMissing/);
});
