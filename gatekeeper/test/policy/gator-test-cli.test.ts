// `gatekeeper test` takes what `gator test` takes and answers as it does: the cases of gator's own test/gator/test
// (test.bats), ported with fixtures written here (the same shapes and messages).
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { bins } from '../../../test/helpers/peers.js';
import { constraint, opaPath, template, tempDir } from './helpers.js';

const PROBE_MSG = 'Container <tomcat> in your <Pod> <test-pod1> has no <readinessProbe>';
const probesRego = `package k8srequiredprobes
violation[{"msg": msg}] {
  container := input.review.object.spec.containers[_]
  probe := input.parameters.probes[_]
  not container[probe]
  msg := sprintf("Container <%v> in your <%v> <%v> has no <%v>", [container.name, input.review.kind.kind, input.review.object.metadata.name, probe])
}
`;
const probesTemplate = template('K8sRequiredProbes', probesRego, { schema: { type: 'object', properties: { probes: { type: 'array', items: { type: 'string' } } } } });
const probes = (action?: string) =>
  constraint('K8sRequiredProbes', 'must-have-probes', { ...(action ? { enforcementAction: action } : {}), match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] }, parameters: { probes: ['readinessProbe'] } });
const pod = (name: string, probe: boolean, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...extra },
  spec: { containers: [{ name: 'tomcat', image: 'tomcat', ...(probe ? { readinessProbe: { tcpSocket: { port: 8080 } } } : {}) }] },
});
const docs = (...objs: unknown[]) => objs.map((o) => YAML.stringify(o)).join('---\n');

function fixtures(t: Test) {
  const dir = tempDir(t, 'gk-gator-test-');
  const put = (file: string, body: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), body);
    return path.join(dir, file);
  };
  return {
    dir,
    put,
    withViolations: put('manifests/with-policies/with-violations.yaml', docs(probesTemplate, probes(), pod('test-pod1', false))),
    noViolations: put('manifests/with-policies/no-violations.yaml', docs(probesTemplate, probes(), pod('test-pod1', true))),
    podOnly: put('manifests/no-policies/with-violations.yaml', docs(pod('test-pod1', false))),
    policies: path.dirname(put('policies/default/template.yaml', docs(probesTemplate))),
    constraint: put('policies/default/constraint.yaml', docs(probes())),
  };
}

function gatekeeper(args: string[], cacheDir: string, stdinFile?: string) {
  const fd = stdinFile ? fs.openSync(stdinFile, 'r') : 'ignore';
  try {
    const r = spawnSync(process.execPath, [bins.gatekeeper, 'test', ...args, '--opa-path', opaPath, '--cache-dir', cacheDir], {
      encoding: 'utf8',
      timeout: 180_000,
      stdio: [fd, 'pipe', 'pipe'],
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  } finally {
    if (typeof fd === 'number') fs.closeSync(fd);
  }
}

t.test('input: files, folders, standard input, and what gator refuses', async (t) => {
  const f = fixtures(t);
  const cache = tempDir(t, 'gk-cli-cache-');
  const none = gatekeeper([], cache);
  t.same([none.code, none.err.trim()], [1, 'no input data identified'], 'nothing given (stdin /dev/null is not read)');

  const piped = gatekeeper([], cache, f.withViolations);
  t.equal(piped.code, 1, piped.err);
  t.equal(piped.out, `v1/Pod test-pod1: ["must-have-probes"] Message: "${PROBE_MSG}"\n`);
  t.equal(gatekeeper([], cache, f.noViolations).code, 0, 'no violations on stdin: exit 0');
  t.equal(gatekeeper(['--filename', f.noViolations], cache).code, 0);
  t.equal(gatekeeper(['--filename', f.withViolations], cache).code, 1);

  const both = gatekeeper(['--filename', f.podOnly, `--filename=${f.policies}`, '-oyaml'], cache);
  t.equal(both.code, 1, 'multiple -f');
  t.equal(YAML.parse(both.out)[0].result.msg, PROBE_MSG);
  const mixed = gatekeeper(['-f', f.policies, '-o', 'yaml'], cache, f.podOnly);
  t.equal(YAML.parse(mixed.out)[0].result.msg, PROBE_MSG, 'stdin and -f together');

  const txt = f.put('copy.txt', fs.readFileSync(f.withViolations, 'utf8'));
  const wrongExt = gatekeeper([`--filename=${txt}`, '-o=yaml'], cache);
  t.equal(wrongExt.code, 1);
  t.match(wrongExt.err, 'must be of extensions: [.yaml .yml .json]');

  // A folder: .yml and .json read, other files skipped.
  f.put('ext/template.yaml', docs(probesTemplate));
  f.put('ext/constraint.yml', docs(probes()));
  f.put('ext/pod.json', JSON.stringify(pod('test-pod1', false)));
  f.put('ext/ns.json', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }));
  f.put('ext/other-junk.txt', 'not: [yaml');
  const ext = gatekeeper(['--filename', path.join(f.dir, 'ext'), '-o', 'yaml'], cache);
  t.equal(ext.code, 1, ext.err);
  t.same(YAML.parse(ext.out).map((r: any) => r.result.msg), [PROBE_MSG]);

  const badTemplate = f.put('invalid/template.yaml', docs({ ...probesTemplate, spec: { ...probesTemplate.spec, targets: [{ target: 'admission.k8s.gatekeeper.sh', rego: 'package x\nviolation[{"msg": "m"}] { input.review.object.metadata.name = \n' }] } }));
  const bad = gatekeeper(['--filename', badTemplate], cache);
  t.equal(bad.code, 1);
  t.match(bad.err, /^auditing objects: adding template "k8srequiredprobes": template k8srequiredprobes: /);
  const kindless = f.put('invalid/object.yaml', 'apiVersion: v1\nmetadata: {name: x}\n');
  t.match(gatekeeper(['--filename', kindless], cache).err, /^auditing objects: adding data of GVK "\/v1, Kind=" \(.*object\.yaml#1\): invalid request object: resource x has no kind$/m);
  const unversioned = f.put('invalid/kustomization.yaml', 'resources: [template.yaml]\n');
  const u = gatekeeper(['--filename', unversioned], cache);
  t.same([u.code, /resource  has no version$/m.test(u.err)], [1, true], 'a kustomization.yaml among the inputs, as gator refuses it');
});

t.test('outputs: json and yaml as gator prints them, --deny-only, --stats, --verbose; exit codes by enforcement action', async (t) => {
  const f = fixtures(t);
  const cache = tempDir(t, 'gk-cli-cache-');
  const json = gatekeeper(['--filename', f.withViolations, '--output=json'], cache);
  t.equal(json.code, 1);
  const [r] = JSON.parse(json.out);
  t.same(Object.keys(r), ['target', 'msg', 'constraint', 'enforcementAction', 'violatingObject', 'trace']);
  t.same([r.target, r.msg, r.constraint.metadata.name, r.enforcementAction, r.violatingObject.metadata.name, r.trace], ['admission.k8s.gatekeeper.sh', PROBE_MSG, 'must-have-probes', 'deny', 'test-pod1', null]);

  const deny = f.put('ea/deny.yaml', docs(probes('deny')));
  const foo = f.put('ea/foo.yaml', docs(probes('foo')));
  const tpl = f.put('ea/template.yaml', docs(probesTemplate));
  const denied = gatekeeper(['-f', tpl, '-f', deny, '-f', f.podOnly, '-o=yaml'], cache);
  t.equal(denied.code, 1);
  t.equal(YAML.parse(denied.out)[0].result.enforcementaction, 'deny');
  const other = gatekeeper(['-f', tpl, '-f', foo, '-f', f.podOnly, '-o=yaml'], cache);
  t.equal(other.code, 0, 'enforcementAction other than deny: exit 0, still printed');
  t.same(YAML.parse(other.out).map((x: any) => [x.result.msg, x.result.enforcementaction]), [[PROBE_MSG, 'foo']]);

  const warn = f.put('ea/warn.yaml', docs({ ...probes('warn'), metadata: { name: 'warned' } }));
  const denyOnly = gatekeeper(['-f', tpl, '-f', warn, '-f', deny, '-f', f.podOnly, '-o', 'json', '--deny-only'], cache);
  t.same(JSON.parse(denyOnly.out).map((x: any) => x.constraint.metadata.name), ['must-have-probes']);
  const warnOnly = gatekeeper(['-f', tpl, '-f', warn, '-f', f.podOnly, '--deny-only', '-o', 'json'], cache);
  t.same([warnOnly.code, warnOnly.out.trim()], [0, 'null'], 'only a warn: nothing printed with --deny-only, exit 0');

  const stats = gatekeeper(['-f', f.withViolations, '-o', 'json', '--stats', '-v'], cache);
  const parsed = JSON.parse(stats.out);
  t.equal(parsed.results.length, 1);
  t.same(parsed.stats.map((s: any) => [s.scope, s.statsFor, s.stats.map((x: any) => x.name)]), [
    ['object', 'templates.gatekeeper.sh/v1/ConstraintTemplate k8srequiredprobes', ['reviewRunTimeNS', 'constraintCount']],
    ['object', 'constraints.gatekeeper.sh/v1beta1/K8sRequiredProbes must-have-probes', ['reviewRunTimeNS', 'constraintCount']],
    ['object', 'v1/Pod test-pod1', ['reviewRunTimeNS', 'constraintCount']],
  ]);
  t.equal(parsed.stats[2].stats[1].value, 1, 'one constraint evaluated for the Pod');
  t.match(stats.err, /^reviewed v1\/Pod test-pod1 \(.*with-violations\.yaml#3\): 1 constraint\(s\) evaluated, 1 result\(s\), /m);
});

t.test('referential data, template defaults and namespaceSelector, as in gator', async (t) => {
  const f = fixtures(t);
  const cache = tempDir(t, 'gk-cli-cache-');
  const uniqueRego = `package k8suniqueingresshost
violation[{"msg": msg}] {
  host := input.review.object.spec.rules[_].host
  other := data.inventory.namespace[_][_]["Ingress"][name]
  name != input.review.object.metadata.name
  other.spec.rules[_].host == host
  msg := sprintf("ingress host conflicts with an existing ingress <%v>", [host])
}
`;
  const ingress = (name: string) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: 'default' }, spec: { rules: [{ host: 'example-host.example.com' }] } });
  f.put('ref/policy.yaml', docs(template('K8sUniqueIngressHost', uniqueRego), constraint('K8sUniqueIngressHost', 'unique-ingress-host', { match: { kinds: [{ apiGroups: ['networking.k8s.io'], kinds: ['Ingress'] }] } })));
  f.put('ref/ingresses.yaml', docs(ingress('a'), ingress('b')));
  const ref = gatekeeper(['-f', path.join(f.dir, 'ref'), '-o=yaml'], cache);
  t.equal(ref.code, 1, ref.err);
  t.same(YAML.parse(ref.out).map((x: any) => x.result.msg), ['ingress host conflicts with an existing ingress <example-host.example.com>', 'ingress host conflicts with an existing ingress <example-host.example.com>']);

  const labelsRego = `package k8srequiredlabels
violation[{"msg": msg, "details": {"missing_labels": missing}}] {
  provided := {label | input.review.object.metadata.labels[label]}
  required := {label | label := input.parameters.labels[_].key}
  missing := required - provided
  count(missing) > 0
  msg := input.parameters.message
}
`;
  const schema = {
    type: 'object',
    properties: {
      labels: { type: 'array', default: [{ key: 'aRequiredLabel' }], items: { type: 'object', properties: { key: { type: 'string' } } } },
      message: { type: 'string', default: 'aRequiredMessage' },
      placeholder: { type: 'string' },
    },
  };
  const defaults = f.put(
    'defaults.yaml',
    docs(
      template('K8sRequiredLabelsDefault', labelsRego, { schema }),
      constraint('K8sRequiredLabelsDefault', 'all-must-have-owner', { match: { kinds: [{ apiGroups: [''], kinds: ['Namespace'] }] }, parameters: { placeholder: 'placeholder' } }),
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'my-ns' } },
    ),
  );
  const d = gatekeeper(['-f', defaults, '-o=yaml'], cache);
  t.equal(d.code, 1, d.err);
  t.match(d.out, 'aRequiredLabel');
  t.match(d.out, 'aRequiredMessage');

  const ownerRego = 'package k8sowner\nviolation[{"msg": "All pods must have an `owner` label"}] { not input.review.object.metadata.labels.owner }\n';
  const nsSelected = f.put(
    'nssel/policy.yaml',
    docs(template('K8sOwner', ownerRego), constraint('K8sOwner', 'owner', { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], namespaceSelector: { matchLabels: { team: 'a' } } } }), pod('web', true, { namespace: 'loans' })),
  );
  const missing = gatekeeper(['-f', nsSelected, '-o=yaml'], cache);
  t.equal(missing.code, 1);
  t.same(YAML.parse(missing.out).map((x: any) => x.result.msg), [
    'unable to match constraints: error matching the requested object: web :failed to run Match criteria: namespace selector for namespace-scoped object but missing Namespace',
  ]);
  const ns = f.put('nssel/ns.yaml', docs({ apiVersion: '/v1', kind: 'Namespace', metadata: { name: 'loans', labels: { team: 'a' } } }));
  const found = gatekeeper(['-f', nsSelected, '-f', ns, '-o=yaml', '--no-inventory'], cache);
  t.same(YAML.parse(found.out).map((x: any) => `${x.violatingObject.kind} ${x.result.msg}`), ['Pod All pods must have an `owner` label'], 'the Namespace among the inputs (written /v1) is found');
});
