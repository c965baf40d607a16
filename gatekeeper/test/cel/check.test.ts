// The static checker on its own: output types of well-typed expressions (what Kubernetes compares with bool or
// string), cel-go's errors for ill-typed ones, and that every function it declares is one the engine evaluates
// (test/cel/gator-typecheck.test.ts holds it against gator itself).
import t from 'tap';
import { parse } from '@bufbuild/cel';
import { checkExpression } from '../../src/cel/check/checker.js';
import { FUNCTIONS, NAMESPACE_TYPE, REQUEST_TYPE } from '../../src/cel/check/declarations.js';
import { formatType, typeString, DYN, INT, listOf, structOf } from '../../src/cel/check/types.js';
import { templateEnv } from '../../src/cel/env.js';

const vars = new Map([
  ['object', DYN],
  ['request', REQUEST_TYPE],
  ['namespaceObject', NAMESPACE_TYPE],
  ['variables', structOf('kubernetes.variables', { anyObject: DYN, n: INT, l: listOf(INT) })],
]);
const check = (src: string) => {
  const p = parse(src);
  return checkExpression(p.expr, p.sourceInfo, src, vars);
};

t.test('output types, as cel-go infers them', async (t) => {
  const cases: Array<[string, string]> = [
    ['object.spec.replicas > 3', 'bool'],
    ['object.spec', 'dyn'],
    ['object.a ? object.b : true', 'dyn'],
    ['[1, 2][0]', 'int'],
    ['[1, 2].map(x, x * 2)', 'list(int)'],
    ['[]', 'list(dyn)'],
    ['{}', 'map(dyn, dyn)'],
    ['{"a": [1]}', 'map(string, list(int))'],
    ['variables.l.filter(x, x > 1)', 'list(int)'],
    ['variables.n + 1', 'int'],
    ['request.userInfo.groups', 'list(string)'],
    ['request.userInfo.extra["a"]', 'list(string)'],
    ['namespaceObject.metadata.creationTimestamp', 'google.protobuf.Timestamp'],
    ['namespaceObject.metadata.labels.env', 'string'],
    ['has(request.namespace)', 'bool'],
    ['type(1)', 'type(int)'],
    ['quantity("1").add(1)', 'kubernetes.Quantity'],
    ['cidr("10.0.0.0/8").ip()', 'net.IP'],
    ['[1, 2].sum()', 'int'],
    ['[].sum()', 'int'], // the first overload binds the free element type, as in cel-go
    ['object.items.min()', 'dyn'],
    ['"a,b".split(",")', 'list(string)'],
    ['sets.contains([1], [2])', 'bool'],
    ['duration("1h") + timestamp("2020-01-01T00:00:00Z")', 'google.protobuf.Timestamp'],
    ['null', 'null_type'],
    ['1 < 1.5 && 2u > 1', 'bool'],
  ];
  for (const [src, want] of cases) {
    const c = check(src);
    t.same(c.issues, [], `${src}: no issues`);
    t.equal(typeString(c.type), want, src);
  }
});

t.test("ill-typed expressions: cel-go's messages at cel-go's positions", async (t) => {
  const cases: Array<[string, string[]]> = [
    ['1 + "a"', ["2:found no matching overload for '_+_' applied to '(int, string)'"]],
    ['true ? 1 : "a"', ["5:found no matching overload for '_?_:_' applied to '(bool, int, string)'"]],
    ['[1, "a"]', ["4:expected type 'int' but found 'string'"]],
    ['object.x && "a"', ["12:expected type 'bool' but found 'string'"]],
    ['request.nokey', ["7:undefined field 'nokey'"]],
    ['has(request.nokey)', ["3:undefined field 'nokey'"]],
    ['nope(1) + x', ["4:undeclared reference to 'nope' (in container '')", "10:undeclared reference to 'x' (in container '')"]],
    ['"a".nope()', ["8:undeclared reference to 'nope' (in container '')"]],
    ['[1].join(",")', ["8:found no matching overload for 'join' applied to 'list(int).(string)'"]],
    ['1.x', ["1:type 'int' does not support field selection"]],
    ['1.all(x, true)', ["0:expression of type 'int' cannot be range of a comprehension (must be list, map, or dynamic)"]],
    ['variables.l.exists(x, x == "a")', ["24:found no matching overload for '_==_' applied to '(int, string)'"]],
  ];
  for (const [src, want] of cases) t.same(check(src).issues.map((i) => `${i.offset}:${i.message}`), want, src);
});

t.test('every function the checker declares is evaluated by the engine (authz aside: no authorizer in Gatekeeper)', async (t) => {
  const env = templateEnv();
  const planner = new Set(['_&&_', '_||_', '@not_strictly_false', '_?_:_', '_[_]']);
  const authz = new Set(['path', 'group', 'serviceAccount', 'resource', 'subresource', 'namespace', 'name', 'fieldSelector', 'labelSelector', 'check', 'errored', 'error', 'allowed', 'reason']);
  const missing = [...FUNCTIONS.keys()].filter((n) => !planner.has(n) && !authz.has(n) && env.funcs.find(n) === undefined);
  t.same(missing, []);
  t.equal(formatType(FUNCTIONS.get('_[_]')![1]!.args[0]!), 'map(K, V)', 'type parameters are declared');
});
