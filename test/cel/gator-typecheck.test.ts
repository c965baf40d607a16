// CEL compile-time checks against the real gator v3.23.1 as the oracle: a table of K8sNativeValidation templates
// (type errors, unknown functions, output types, typed request/namespaceObject/variables, literal validators, the
// libraries Kubernetes' environment enables and those it does not), each with a constraint, and one ConfigMap; both
// `gator test -o json` and our `gatekeeper test -o json` review the folder, and the violations of the ConfigMap per
// constraint must be the same messages. A compile error does not stop a template in either: it is the result of
// every evaluation (failurePolicy Fail).
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bins, peerPath } from '../helpers/peers.js';

type Source = Record<string, unknown>;
const v = (expression: string, extra: Record<string, string> = {}): Source => ({ validations: [{ expression, ...extra }] });

const CASES: Record<string, Source> = {
  ternary: v('object.metadata.name == "x" ? "s" : true'),
  ternarydyn: v('object.a ? object.b : true'),
  ternarymix: v('object.a ? 1 : 1.5'),
  unknownfn: v('foo(1)'),
  unknownmethod: v('object.metadata.name.foo()'),
  unknownvar: v('foo == 1'),
  notbool: v('"abc"'),
  intvalid: v('1'),
  dynvalid: v('object.spec'),
  msgnotstring: v('false', { messageExpression: '1', message: 'fallback' }),
  msgvar: { variables: [{ name: 's', expression: '"a"' }], validations: [{ expression: 'false', messageExpression: 'variables.s' }] },
  matchnotbool: { matchCondition: [{ name: 'm', expression: '"x"' }], validations: [{ expression: 'false' }] },
  varmatch: { variables: [{ name: 'n', expression: '1' }], matchCondition: [{ name: 'm', expression: 'variables.n == "x"' }], validations: [{ expression: 'false' }] },
  varbefore: { variables: [{ name: 'a', expression: 'variables.b' }, { name: 'b', expression: '1' }], validations: [{ expression: 'variables.a == 1' }] },
  varstr: { variables: [{ name: 's', expression: '"a"' }], validations: [{ expression: 'variables.s + 1 == 2' }] },
  varlist: { variables: [{ name: 'l', expression: '[1, 2]' }], validations: [{ expression: 'variables.l.all(x, x > "a")' }] },
  varunknown: v('variables.nothing == 1'),
  paramsinval: v('params.spec == null'),
  reqplus: v('request.operation + 1 == "x"'),
  reqfield: v('request.nokey == "x"'),
  hasreq: v('has(request.foo)'),
  reqdryrun: v('request.dryRun == "x"'),
  reqextra: v('request.userInfo.extra["a"][0] == 1'),
  reqoptions: v('request.options.x == 1 || true'),
  groupsint: v('request.userInfo.groups.exists(g, g == 1)'),
  nslabel: v('namespaceObject.metadata.labels.x == 1'),
  nstime: v('namespaceObject.metadata.creationTimestamp < timestamp("2020-01-01T00:00:00Z") || true'),
  andstr: v('object.x == 1 && "a"'),
  inteqstr: v('1 == "a"'),
  inteqdouble: v('1 == 1.0'),
  crossnum: v('1 < 1.5'),
  nullcmp: v('object.x != null && 1 != null'),
  hetero: v('[1, "a"].size() > 0'),
  dynlist: v('[object.a, "x"].size() > 0'),
  dynlist2: v('["x", object.a].size() > 0'),
  numlist: v('[1, 2.0].size() > 0'),
  formatmixed: v('"%s %d".format(["a", 1]) != ""'),
  nestedempty: v('[[], [1]].size() > 0'),
  dynindex: v('[object.a, object.m["k"]].size() > 0'),
  dynindexternary: v('[object.a, object.b ? object.m["k"] : "x"].size() > 0'),
  dynindexnested: v('[object.a, object.b ? "y" : (object.c ? object.m["k"] : "x")].size() > 0'),
  dynindexplus: v('[object.a, object.m["k"] + "x"].size() > 0'),
  dynindexthird: v('[object.a, object.c ? object.m["k"] : "x", 1].size() > 0'),
  mapdyn: v('{"a": object.x, "b": 1}.size() > 0'),
  maphet: v('{"a": 1, 2: "b"}.size() > 0'),
  twovarlist: v('[1, 2, 3, 4].all(i, v, i < v)'),
  twovarmap: v('{"a": "b"}.transformMap(k, v, v + k) == {"a": "ba"}'),
  twovarexists: v('object.metadata.labels.exists(k, v, k == v)'),
  twovarerr: v('[1, 2].all(i, v, v == "a")'),
  twovardup: v('[1, 2].all(i, i, true)'),
  twovarname: v('[1, 2].all(i, 1, true)'),
  entrydup: v('{"a": "x", "b": "x"}.transformMapEntry(k, v, {v: k}).size() > 0'),
  transformlist: v('[1, 2].transformList(i, v, v * 2)[0] == 2'),
  transformlistbad: v('[1, 2].transformList(i, v, v * 2)[0] == "2"'),
  mapliteral: v('{"a": 1, "b": "x"}.size() == 2'),
  emptylist: v('[] == ["a"]'),
  listidx: v('[1, 2][0] + "a" == "b"'),
  mapmacro: v('[1, 2].map(x, x * 2)[0] + "a" == "b"'),
  filtermacro: v('object.metadata.labels.filter(k, k.startsWith("a")).size() == 0'),
  sizeplus: v('size(object) + "a" == "b"'),
  inlist: v('object.metadata.name in ["a", 1]'),
  regexlit: v('object.metadata.name.matches("[")'),
  regexglobal: v('matches("[", object.metadata.name)'),
  durlit: v('duration("1x") > duration("1s")'),
  timestamp: v('timestamp("2020-01-01T00:00:00Z") < timestamp("bad")'),
  durgetter: v('duration("1h").getHours() == "1"'),
  typeof: v('type(object) == map && type(1) == int'),
  strjoin: v('[1, 2].join(",") == "1,2"'),
  strcharat: v('"abc".charAt(1) == 1'),
  strquote: v('strings.quote("a") == 1'),
  strformat: v('"a %s".format(["x"]) != ""'),
  strsplit: v('"a,b".split(",").size() == "2"'),
  strreverse: v('"abc".reverse() == "cba"'),
  listsort: v('[3, 1].sort() == [1, 3]'),
  listdistinct: v('[1, 1, 2].distinct() == [1, 2]'),
  listflatten: v('[[1], [2, [3]]].flatten() == [1, 2, [3]]'),
  listslice: v('[1, 2, 3].slice(1, 2) == [2]'),
  listrange: v('lists.range(3) == [0, 1, 2]'),
  listreverse: v('[1, 2].reverse() == [1, "2"]'),
  listsortby: v('[{"a": 2}, {"a": 1}].sortBy(e, e.a)[0].a == 1'),
  sortmixed: v('[1, "a"].sort().size() > 0'),
  sortdyn: v('object.metadata.labels.map(k, k).sort().size() >= 0'),
  syntax: v('object.('),
  optional: v('object.?metadata.?name.orValue("") != "x"'),
  optindex: v('object.metadata[?"name"].orValue("") != "x"'),
  optnone: v('optional.none().orValue(1) == 1'),
  listfirst: v('[1].first().orValue(0) == 1'),
  formatlib: v('!format.dns1123Label().validate("x").hasValue()'),
  formatliteral: v('"%d".format(["a"]) != ""'),
  formatfewer: v('"%s %s".format(["a"]) != ""'),
  formatmore: v('"%s".format(["a", "b"]) != ""'),
  formatclause: v('"%q".format(["a"]) != ""'),
  formatfixed: v('"%.2f".format([1]) != ""'),
  formatdyn: v('"%s %d".format([object, object.x]) != ""'),
  formatopaque: v('"%s".format([quantity("1")]) != ""'),
  formatnested: v('"%d %s".format([1, [quantity("1")]]) != ""'),
  formathex: v('"%x".format([1.5]) != ""'),
  formatend: v('"%".format([1]) != ""'),
  formatprecision: v('"%.".format([1.0]) != ""'),
  ipfamily: v('ip("1.2.3.4").family() == "4"'),
  ipstring: v('string(ip("1.2.3.4")) == 1'),
  cidrcontains: v('cidr("10.0.0.0/8").containsIP(1)'),
  urlscheme: v('url("https://x").getScheme() == 1'),
  urlquery: v('url("https://x?a=b").getQuery()["a"][0] == 1'),
  semver: v('semver("1.0.0").major() == "1"'),
  semvernorm: v('semver("1.0", true).isGreaterThan(semver("0.1.0"))'),
  quantityadd: v('quantity("1Gi").add("x").isInteger()'),
  qmul: v('quantity("1").mul(2).isGreaterThan(quantity("1"))'),
  listsum: v('[1, 2].sum() == "x"'),
  listmin: v('[1].min() == "a"'),
  listemptysum: v('[].sum() == 0'),
  listsorted: v('["b", "a"].isSorted()'),
  listindexof: v('[1, 2].indexOf("a") == 0'),
  includes: v('[1, 2].includes(2)'),
  setsbad: v('sets.contains([1], ["a"])'),
  bind: v('cel.bind(x, 1, x > 0)'),
  math: v('math.greatest(1, 2) > 0'),
  jsonpatch: v('jsonpatch.escapeKey("a") == "a"'),
  image: v('image("nginx").registry() == "docker.io"'),
  authorizer: v('authorizer.group("").resource("pods").check("get").allowed()'),
};

/** Where we differ from gator, with the reason (README, CEL section). Each must still differ: fixed ones leave this list. */
const KNOWN_DIFFERENCES: Record<string, string> = {
  syntax: "@bufbuild/cel's parser words syntax errors its own way (cel-go's is ANTLR's)",
  optional: '@bufbuild/cel cannot parse optional field selection (`.?`)',
  optindex: '@bufbuild/cel cannot parse optional indexing (`[?`)',
  optnone: 'optional types are not provided (@bufbuild/cel has none)',
  listfirst: 'first() and last() of ext lists return optionals: not provided',
  formatlib: "Kubernetes' format library returns optionals: not provided",
};

function template(name: string, source: Source): string {
  const kind = `K8sTc${name}`;
  const tpl = {
    apiVersion: 'templates.gatekeeper.sh/v1',
    kind: 'ConstraintTemplate',
    metadata: { name: kind.toLowerCase() },
    spec: { crd: { spec: { names: { kind } } }, targets: [{ target: 'admission.k8s.gatekeeper.sh', code: [{ engine: 'K8sNativeValidation', source }] }] },
  };
  const constraint = { apiVersion: 'constraints.gatekeeper.sh/v1beta1', kind, metadata: { name } };
  return `${JSON.stringify(tpl)}\n---\n${JSON.stringify(constraint)}\n`;
}

/** The messages of the ConfigMap's violations, by constraint name. */
function byConstraint(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of JSON.parse(stdout) as Array<{ constraint: { metadata: { name: string } }; violatingObject: { metadata: { name: string } }; msg: string }>) {
    if (r.violatingObject.metadata.name !== 'obj') continue;
    const list = out.get(r.constraint.metadata.name) ?? [];
    list.push(r.msg);
    out.set(r.constraint.metadata.name, list.sort());
  }
  return out;
}

/** Standard output of a review; stdin is closed, since both read it when it is not a terminal. */
function review(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    // exit 1: something was denied, as expected
    child.on('close', (code) => (code === 0 || code === 1 ? resolve(stdout) : reject(new Error(`${cmd} exited ${code}: ${stderr}`))));
  });
}

t.test('templates that do not type-check: the same verdicts and messages as gator v3.23.1', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cel-typecheck-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [name, source] of Object.entries(CASES)) await writeFile(path.join(dir, `${name}.yaml`), template(name, source));
  await writeFile(path.join(dir, 'obj.yaml'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'obj', labels: { a: 'b' } } }));

  const gator = byConstraint(await review(peerPath('gator'), ['test', '-f', dir, '-o', 'json']));
  const ours = byConstraint(await review(process.execPath, [bins.gatekeeper, 'test', '-f', dir, '-o', 'json', '--log-level', 'silent']));

  t.ok([...gator.values()].filter((m) => m.some((x) => x.startsWith('compilation error'))).length >= 40, 'gator refuses most of the table at compile time (a table that cannot pass vacuously)');
  for (const name of Object.keys(CASES)) {
    const want = gator.get(name) ?? [];
    const got = ours.get(name) ?? [];
    if (name in KNOWN_DIFFERENCES) t.notSame(got, want, `${name}: still differs (${KNOWN_DIFFERENCES[name]})`);
    else t.same(got, want, name);
  }
});
