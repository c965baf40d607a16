// The engine end to end with the real opa: templates (every source form), compile errors, constraints, enforcement
// actions, inventory, builtin errors, and the compile cache across restarts.
import t from 'tap';
import { ConstraintError, ENFORCEMENT_POINTS, ReviewDeadlineError } from '../../src/policy/engine.js';
import { reviewFromObject } from '../../src/policy/load.js';
import { constraint, newEngine, pod, sawRego, template, tempDir } from './helpers.js';

t.test('templates from targets[].rego with libs, and from code[] in v0 and v1 syntax', async (t) => {
  const engine = await newEngine(t);
  const lib = 'package lib.naming\nbad(name) { startswith(name, "bad-") }\n';
  const withLib = template('K8sLibUser', 'package k8slibuser\nimport data.lib.naming\nviolation[{"msg": "bad name"}] { naming.bad(input.review.object.metadata.name) }\n', { libs: [lib] });
  const v1 = template('K8sVOne', 'package k8svone\nviolation contains {"msg": msg} if {\n  some c in input.review.object.spec.containers\n  msg := sprintf("v1 %s", [c.image])\n}\n', { code: true, version: 'v1' });
  const v0code = template('K8sVZero', sawRego('k8svzero'), { code: true, apiVersion: 'templates.gatekeeper.sh/v1beta1' });
  for (const tpl of [withLib, v1, v0code]) t.same((await engine.upsertTemplate(tpl)).errors, []);
  engine.upsertConstraint(constraint('K8sLibUser', 'lib'));
  engine.upsertConstraint(constraint('K8sVOne', 'one'));
  engine.upsertConstraint(constraint('K8sVZero', 'zero'));
  const r = await engine.review(reviewFromObject(pod('bad-pod', 'default')));
  t.same(r.violations.map((v) => `${v.constraint.name}: ${v.msg}`).sort(), ['lib: bad name', 'one: v1 nginx', 'zero: saw bad-pod']);
  t.equal(r.evaluatedConstraints, 3);
  t.same(engine.listTemplates().map((x) => x.kind).sort(), ['K8sLibUser', 'K8sVOne', 'K8sVZero']);
});

t.test('a template that does not compile gives opa error with template, file and line', async (t) => {
  const engine = await newEngine(t);
  const res = await engine.upsertTemplate(template('K8sBroken', 'package k8sbroken\n\nviolation[{"msg": msg}] {\n  msg := concat(",", \n}\n'));
  t.equal(res.kind, 'K8sBroken');
  t.equal(res.errors.length, 1);
  t.match(res.errors[0], /^template k8sbroken: /);
  t.match(res.errors[0], /template\.rego:5/);
  t.match(res.errors[0], /rego_parse_error/);
  const lib = await engine.upsertTemplate(template('K8sBadLib', sawRego('k8sbadlib'), { libs: ['package lib.x\nf(x) = y { y := undefined_fn(x) }\n'] }));
  t.match(lib.errors[0], /template k8sbadlib: .*lib-1\.rego:2/s);
  t.same(engine.listTemplates().find((x) => x.kind === 'K8sBroken')?.errors, res.errors);
  t.throws(() => engine.upsertConstraint(constraint('K8sBroken', 'x')), { message: /template k8sbroken is not loaded: template k8sbroken: /, reason: 'kind' }, 'its constraints are refused');
});

t.test('malformed templates are refused with a message naming the problem', async (t) => {
  const engine = await newEngine(t);
  const tpl = template('K8sX', sawRego('k8sx'));
  const cases: Array<[unknown, RegExp]> = [
    [{ ...tpl, apiVersion: 'templates.gatekeeper.sh/v2' }, /apiVersion templates.gatekeeper.sh\/v2 is not one of/],
    [{ ...tpl, metadata: { name: 'other' } }, /metadata.name must be the lowercase of spec.crd.spec.names.kind/],
    [{ ...tpl, spec: { ...tpl.spec, targets: [] } }, /exactly one target/],
    [template('K8sX', ''), /no Rego source/],
    [template('K8sX', 'violation[{"msg": "x"}] { true }'), /no package declaration/],
  ];
  for (const [obj, re] of cases) {
    const r = await engine.upsertTemplate(obj);
    t.match(r.errors.join(' '), re);
  }
});

t.test('constraints: unknown kind, bad match and parameters against the schema', async (t) => {
  const engine = await newEngine(t);
  const schema = { type: 'object', properties: { labels: { type: 'array', items: { type: 'string' } }, limit: { 'x-kubernetes-int-or-string': true } } };
  t.same((await engine.upsertTemplate(template('K8sParams', sawRego('k8sparams'), { schema }))).errors, []);
  t.throws(() => engine.upsertConstraint(constraint('K8sNope', 'a')), { message: /no ConstraintTemplate defines kind K8sNope/, reason: 'kind' });
  t.throws(() => engine.upsertConstraint(constraint('K8sParams', 'a', { parameters: { labels: 'x' } })), {
    message: /constraint K8sParams\/a: parameters do not match the schema of template k8sparams: spec.parameters.labels must be array/,
    reason: 'schema',
  });
  t.throws(() => engine.upsertConstraint(constraint('K8sParams', 'a', { match: { kinds: 'Pod' } })), /spec.match.kinds must be a list/);
  t.throws(
    () => engine.upsertConstraint(constraint('K8sParams', 'a', { match: { labelSelector: { matchExpressions: [{ key: 'a', operator: 'Near' }] } } })),
    /operator Near is not one of/,
  );
  t.throws(() => engine.upsertConstraint(constraint('K8sParams', 'a', { enforcementAction: 'scoped' })), /needs spec.scopedEnforcementActions/);
  engine.upsertConstraint(constraint('K8sParams', 'ok', { parameters: { labels: ['a'], limit: '10' } }));
  engine.upsertConstraint(constraint('K8sParams', 'ok2', { parameters: { limit: 3 } }));
  t.same(engine.listConstraints().map((c) => c.name).sort(), ['ok', 'ok2']);
  engine.removeConstraint('K8sParams', 'ok2');
  t.same(engine.listConstraints().map((c) => c.name), ['ok']);
  engine.removeTemplate('K8sParams');
  t.same(engine.listConstraints(), [], 'removing a template removes its constraints');
});

t.test('spec.match selects objects as Gatekeeper does', async (t) => {
  const engine = await newEngine(t);
  await engine.upsertTemplate(template('K8sSaw', sawRego('k8ssaw')));
  const names = async (obj: any, review: Record<string, unknown> = {}) =>
    (await engine.review({ ...reviewFromObject(obj), ...review })).violations.map((v) => v.constraint.name).sort();
  engine.upsertConstraint(constraint('K8sSaw', 'ns-prod', { match: { namespaces: ['prod-*'] } }));
  engine.upsertConstraint(constraint('K8sSaw', 'excl-kube', { match: { excludedNamespaces: ['kube-*'], kinds: [{ apiGroups: [''], kinds: ['Pod'] }] } }));
  engine.upsertConstraint(constraint('K8sSaw', 'labels', { match: { labelSelector: { matchLabels: { team: 'a' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] } } }));
  engine.upsertConstraint(constraint('K8sSaw', 'cluster', { match: { scope: 'Cluster' } }));
  engine.upsertConstraint(constraint('K8sSaw', 'name', { match: { name: 'web-*' } }));
  engine.upsertConstraint(constraint('K8sSaw', 'apps', { match: { kinds: [{ apiGroups: ['apps'], kinds: ['*'] }] } }));
  engine.upsertConstraint(constraint('K8sSaw', 'nssel', { match: { namespaceSelector: { matchLabels: { env: 'prod' } } } }));

  // an object without a namespace is not disqualified by namespaces/excludedNamespaces
  t.same(await names(pod('p')), ['cluster', 'excl-kube', 'ns-prod', 'nssel']);
  t.same(await names(pod('p', 'prod-1')), ['excl-kube', 'ns-prod', 'nssel'], 'namespaceSelector with an unknown namespace: autoreject (match.test.ts)');
  t.same(await names(pod('p', 'kube-system')), ['nssel']);
  t.same(await names(pod('web-1', 'dev', { metadata: { labels: { team: 'a', tier: 'web' } } })), ['excl-kube', 'labels', 'name', 'nssel']);
  t.same(await names(pod('x', 'dev', { metadata: { labels: { team: 'a', tier: 'db' } } })), ['excl-kube', 'nssel']);
  t.same(await names({ ...pod(''), metadata: { name: 'x', generateName: 'web-', namespace: 'dev' } }), ['excl-kube', 'name', 'nssel'], 'name also matches generateName');
  // a Namespace's namespace is its own name; its labels feed namespaceSelector
  t.same(await names({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod-a', labels: { env: 'prod' } } }), ['cluster', 'ns-prod', 'nssel']);
  t.same(await names({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'x' } }), ['apps', 'nssel']);
  // the Namespace from the inventory feeds namespaceSelector for namespaced objects
  engine.addInventory({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { env: 'prod' } } });
  t.same(await names(pod('p', 'shop')), ['excl-kube', 'nssel']);
  // UPDATE: the old object matching is enough
  const oldWeb = pod('web-old', 'dev');
  t.same(await names(pod('other', 'dev'), { operation: 'UPDATE', oldObject: oldWeb }), ['excl-kube', 'name', 'nssel']);
  // DELETE: object is the old object
  t.same(await names(pod('gone', 'prod-2'), { operation: 'DELETE', object: undefined, oldObject: pod('gone', 'prod-2') }), ['excl-kube', 'ns-prod', 'nssel']);
});

t.test('enforcement actions and enforcement points', async (t) => {
  const engine = await newEngine(t);
  await engine.upsertTemplate(template('K8sSaw', sawRego('k8ssaw')));
  engine.upsertConstraint(constraint('K8sSaw', 'default'));
  engine.upsertConstraint(constraint('K8sSaw', 'dry', { enforcementAction: 'dryrun' }));
  engine.upsertConstraint(constraint('K8sSaw', 'warn', { enforcementAction: 'warn' }));
  engine.upsertConstraint(constraint('K8sSaw', 'odd', { enforcementAction: 'shout' }));
  engine.upsertConstraint(
    constraint('K8sSaw', 'scoped', {
      enforcementAction: 'scoped',
      scopedEnforcementActions: [
        { action: 'warn', enforcementPoints: [{ name: ENFORCEMENT_POINTS.validation }] },
        { action: 'deny', enforcementPoints: [{ name: ENFORCEMENT_POINTS.audit }, { name: ENFORCEMENT_POINTS.validation }] },
      ],
    }),
  );
  const actions = async (point?: string) =>
    Object.fromEntries((await engine.review(reviewFromObject(pod('p', 'x')), { enforcementPoint: point })).violations.map((v) => [v.constraint.name, v.enforcementAction]));
  t.same(await actions(), { default: 'deny', dry: 'dryrun', warn: 'warn', odd: 'unrecognized', scoped: 'deny' });
  t.same(await actions(ENFORCEMENT_POINTS.audit), { default: 'deny', dry: 'dryrun', warn: 'warn', odd: 'unrecognized', scoped: 'deny' });
  t.same(await actions(ENFORCEMENT_POINTS.gator), { default: 'deny', dry: 'dryrun', warn: 'warn', odd: 'unrecognized' }, 'scoped without the point: not evaluated');
  const ref = engine.listConstraints().find((c) => c.name === 'scoped');
  t.equal(ref?.enforcementAction, 'scoped');
});

t.test('referential templates read data.inventory; setData follows additions and removals', async (t) => {
  const engine = await newEngine(t);
  const rego = `package k8suniquename
violation[{"msg": msg}] {
  other := data.inventory.namespace[ns][_]["ConfigMap"][name]
  name == input.review.object.metadata.name
  ns != input.review.object.metadata.namespace
  msg := sprintf("name %v already used in %v", [name, ns])
}
violation[{"msg": msg}] {
  data.inventory.cluster["v1"]["Namespace"]["locked"]
  msg := "cluster locked"
}`;
  await engine.upsertTemplate(template('K8sUniqueName', rego));
  engine.upsertConstraint(constraint('K8sUniqueName', 'u'));
  const cm = (name: string, ns: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
  const msgs = async () => (await engine.review(reviewFromObject(cm('a', 'one')))).violations.map((v) => v.msg).sort();
  t.same(await msgs(), []);
  engine.addInventory(cm('a', 'two'));
  engine.addInventory(cm('b', 'three'));
  t.same(await msgs(), ['name a already used in two']);
  engine.addInventory({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'locked' } });
  t.same(await msgs(), ['cluster locked', 'name a already used in two']);
  engine.removeInventory(cm('a', 'two'));
  engine.removeInventory({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'locked' } });
  t.same(await msgs(), []);
  t.equal(engine.inventorySize, 1);
  t.throws(() => engine.addInventory({ kind: 'ConfigMap' }), /needs apiVersion, kind and metadata.name/);
});

// Gatekeeper's Rego driver runs OPA without strict builtin errors: a failing builtin call is undefined, not an error
t.test('a builtin error makes its call undefined, as in Gatekeeper, and evaluation goes on', async (t) => {
  const engine = await newEngine(t);
  const rego = `package k8sbytes
violation[{"msg": msg}] {
  n := units.parse_bytes(input.parameters.size)
  n > 100
  msg := sprintf("too big: %d", [n])
}`;
  await engine.upsertTemplate(template('K8sBytes', rego));
  await engine.upsertTemplate(template('K8sSaw', sawRego('k8ssaw')));
  engine.upsertConstraint(constraint('K8sBytes', 'bad', { parameters: { size: '12 KB' } }));
  engine.upsertConstraint(constraint('K8sBytes', 'big', { parameters: { size: '1Ki' } }));
  engine.upsertConstraint(constraint('K8sSaw', 'saw'));
  const r = await engine.review(reviewFromObject(pod('p', 'x')));
  t.same(
    r.violations.map((v) => `${v.constraint.name}: ${v.msg}`).sort(),
    ['big: too big: 1024', 'saw: saw p'],
  );
});

t.test('host builtins the library and real-world templates use', async (t) => {
  const engine = await newEngine(t);
  const rego = `package k8sbuiltins
violation[{"msg": msg}] {
  strings.any_prefix_match(input.review.object.spec.containers[_].image, ["ngi", "x"])
  strings.any_suffix_match({"a:latest", "b"}, ":latest")
  t1 := time.now_ns()
  t2 := time.now_ns()
  msg := sprintf("%v %v %v %v %v %v %v %v", [
    t1 == t2,
    regex.replace("a-b-c", "-(\\\\w)", "+$1"),
    semver.compare("1.2.3", "1.10.0"),
    semver.is_valid("v1.0.0"),
    units.parse("500m"),
    units.parse_bytes("1.5Gi"),
    strings.replace_n({"a": "1", "b": "2"}, "abc"),
    time.parse_duration_ns("1h30m"),
  ])
}`;
  const res = await engine.upsertTemplate(template('K8sBuiltins', rego));
  t.same(res.errors, []);
  engine.upsertConstraint(constraint('K8sBuiltins', 'b'));
  const r = await engine.review(reviewFromObject(pod('p', 'x')));
  t.same(r.violations.map((v) => v.msg), ['true a+b+c -1 true 0.5 1610612736 12c 5400000000000']);
});

t.test('a template calling a builtin the engine does not provide, or a forbidden one, is refused at load', async (t) => {
  const engine = await newEngine(t);
  const r = await engine.upsertTemplate(template('K8sGql', 'package k8sgql\nviolation[{"msg": "m"}] { graphql.is_valid("{ x }", "type Query { x: Int }") }\n'));
  t.same(r.errors, ['template k8sgql: calls graphql.is_valid, which this engine does not provide']);
  const h = await engine.upsertTemplate(template('K8sHttp', 'package k8shttp\nviolation[{"msg": m}] { r := http.send({"method": "GET", "url": "http://x"}); m := r.body }\n'));
  t.same(h.errors, ['template k8shttp: calls http.send, which templates may not use']);
});

t.test('a deadline that passes stops the review with a ReviewDeadlineError', async (t) => {
  const engine = await newEngine(t);
  await engine.upsertTemplate(template('K8sSaw', sawRego('k8ssaw')));
  for (let i = 0; i < 50; i++) engine.upsertConstraint(constraint('K8sSaw', `c${i}`));
  await t.rejects(engine.review(reviewFromObject(pod('p', 'x')), { deadlineMs: -1 }), ReviewDeadlineError);
  t.equal((await engine.review(reviewFromObject(pod('p', 'x')), { deadlineMs: 10_000 })).violations.length, 50);
});

t.test('compiled modules are cached on disk: a restart with unchanged templates runs opa zero times', async (t) => {
  const cacheDir = tempDir(t, 'gk-cache-restart-');
  const tpls = [template('K8sSaw', sawRego('k8ssaw')), template('K8sOther', sawRego('k8sother'))];
  const first = await newEngine(t, cacheDir);
  for (const tpl of tpls) await first.upsertTemplate(tpl);
  t.equal(first.compiler.stats.opaRuns, 2);
  await first.upsertTemplate(tpls[0]);
  t.equal(first.compiler.stats.opaRuns, 2, 'the memory cache answers the same template');
  const second = await newEngine(t, cacheDir);
  for (const tpl of tpls) t.same((await second.upsertTemplate(tpl)).errors, []);
  t.equal(second.compiler.stats.opaRuns, 0);
  t.equal(second.compiler.stats.diskHits, 2);
  second.upsertConstraint(constraint('K8sSaw', 's'));
  t.same((await second.review(reviewFromObject(pod('p', 'x')))).violations.map((v) => v.msg), ['saw p']);
  const changed = await second.upsertTemplate(template('K8sSaw', sawRego('k8ssaw') + '\n# changed\n'));
  t.same(changed.errors, []);
  t.equal(second.compiler.stats.opaRuns, 1, 'a changed template is compiled again');
});

t.test('a failing update keeps the last good version of a template', async (t) => {
  const engine = await newEngine(t);
  await engine.upsertTemplate(template('K8sSaw', sawRego('k8ssaw')));
  engine.upsertConstraint(constraint('K8sSaw', 's'));
  const bad = await engine.upsertTemplate(template('K8sSaw', 'package k8ssaw\nviolation[{"msg": m}] {\n'));
  t.equal(bad.errors.length, 1);
  t.same((await engine.review(reviewFromObject(pod('p', 'x')))).violations.map((v) => v.msg), ['saw p']);
  t.same(engine.listTemplates()[0]?.errors, bad.errors);
});

t.test('a template whose kind changes drops the old kind and its constraints', async (t) => {
  const engine = await newEngine(t);
  const tpl = template('K8sSaw', sawRego('k8ssaw'));
  await engine.upsertTemplate(tpl);
  engine.upsertConstraint(constraint('K8sSaw', 's'));
  const renamed = { ...tpl, spec: { ...tpl.spec, crd: { spec: { names: { kind: 'K8sSAW' } } } } };
  t.same((await engine.upsertTemplate(renamed)).errors, []);
  t.same(engine.listTemplates().map((x) => x.kind), ['K8sSAW']);
  t.same(engine.listConstraints(), []);
});

t.test('only templates that read data get the inventory, including through a lib', async (t) => {
  const { readsData } = await import('../../src/policy/engine.js');
  const { parseTemplate } = await import('../../src/templates/template.js');
  const lib = 'package lib.inv\nnames[n] { data.inventory.cluster.v1.Namespace[n] }\n';
  const viaLib = template('K8sViaLib', 'package k8svialib\nimport data.lib.inv\nviolation[{"msg": n}] { inv.names[n] }\n', { libs: [lib] });
  t.equal(readsData(parseTemplate(viaLib)), true);
  t.equal(readsData(parseTemplate(template('K8sSaw', sawRego('k8ssaw')))), false, 'metadata, strings and comments do not count');
  t.equal(readsData(parseTemplate(template('K8sLibOnly', 'package k8slibonly\nimport data.lib.x # data.inventory\nviolation[{"msg": "data"}] { false }\n', { libs: ['package lib.x\nf := 1\n'] }))), false);
  const engine = await newEngine(t);
  t.same((await engine.upsertTemplate(viaLib)).errors, []);
  engine.upsertConstraint(constraint('K8sViaLib', 'v'));
  engine.addInventory({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns1' } });
  t.same((await engine.review(reviewFromObject(pod('p', 'x')))).violations.map((v) => v.msg), ['ns1']);
});

t.test('a template that outgrows its memory cap yields an error violation, and the engine goes on', async (t) => {
  const { PolicyEngine } = await import('../../src/policy/engine.js');
  const { opaPath } = await import('./helpers.js');
  const engine = await PolicyEngine.create({ opaPath, cacheDir: tempDir(t, 'gk-mem-'), maxModuleMemoryMiB: 1 });
  const rego = `package k8shog
violation[{"msg": msg}] {
  xs := [x | some i in numbers.range(1, 200000); x := sprintf("%d-padding-padding", [i])]
  msg := sprintf("made %d", [count(xs)])
}`;
  t.same((await engine.upsertTemplate(template('K8sHog', `import future.keywords.in\n${rego}`.replace('import future.keywords.in\npackage k8shog', 'package k8shog\nimport future.keywords.in')))).errors, []);
  await engine.upsertTemplate(template('K8sSaw', sawRego('k8ssaw')));
  engine.upsertConstraint(constraint('K8sHog', 'hog'));
  engine.upsertConstraint(constraint('K8sSaw', 'saw'));
  const r = await engine.review(reviewFromObject(pod('p', 'x')));
  const byName = Object.fromEntries(r.violations.map((v) => [v.constraint.name, v.msg]));
  t.equal(byName.saw, 'saw p');
  t.equal(byName.hog, 'template k8shog: evaluation failed: policy aborted: opa_malloc: failed (memory cap 1 MiB)');
  await t.rejects(PolicyEngine.create({ opaPath, maxModuleMemoryMiB: 0 }), /maxModuleMemoryMiB must be between 1 and 4096/);
});

t.test('templates share one parse of the review, and each sees exactly the input it would have parsed itself', async (t) => {
  const engine = await newEngine(t);
  // Different packages and rule bodies give each module its own data section, so its interned true/false sit elsewhere.
  const echo = (pkg: string, extra: string) => `package ${pkg}\nviolation[{"msg": "echo", "details": {"input": input}}] { ${extra} }\n`;
  const kinds = ['K8sEchoA', 'K8sEchoB', 'K8sEchoC'];
  t.same((await engine.upsertTemplate(template(kinds[0]!, echo('k8sechoa', 'true')))).errors, []);
  t.same((await engine.upsertTemplate(template(kinds[1]!, echo('k8sechob', 'x := input.review.object.metadata.name; x != ""; y := {"a": [true, false]}; y.a[0]')))).errors, []);
  t.same((await engine.upsertTemplate(template(kinds[2]!, echo('k8sechoc', 'not false')))).errors, []);
  // reads data.inventory: always parses its own input
  t.same((await engine.upsertTemplate(template('K8sEchoData', echo('k8sechodata', 'count(data.inventory) >= 0')))).errors, []);
  for (const k of kinds) t.equal(engine.sharesInput(k), true, `${k} shares the parsed review`);
  t.equal(engine.sharesInput('K8sEchoData'), false);
  for (const k of [...kinds, 'K8sEchoData']) engine.upsertConstraint(constraint(k, k.toLowerCase(), { parameters: { flag: k === 'K8sEchoB', n: [1, null] } }));

  for (const [i, labels] of [{ on: 'true' }, { off: 'false', deep: 'x' }].entries()) {
    const object = {
      ...pod(`p${i}`, 'ns'),
      spec: {
        containers: [{ name: 'c', image: 'nginx', securityContext: { privileged: i === 0, readOnlyRootFilesystem: i !== 0 } }],
        hostNetwork: false,
        flags: [true, false, [true, [false]], { t: true, f: false }, null, {}, []],
        numbers: [0, -1.5, 1e21, 12345678901234567890],
        text: 'caf\u00e9 \u2603 "quoted" \\ back\nline \u0000 nul',
      },
      metadata: { name: `p${i}`, namespace: 'ns', labels },
    };
    const review = reviewFromObject(object);
    const r = await engine.review(review);
    t.equal(r.violations.length, 4);
    const { source: _source, ...reviewInput } = review;
    for (const v of r.violations) {
      const params = { flag: v.constraint.kind === 'K8sEchoB', n: [1, null] };
      t.same((v.details as { input: unknown }).input, JSON.parse(JSON.stringify({ parameters: params, review: reviewInput })), `${v.constraint.kind}, review ${i}`);
    }
  }
});
