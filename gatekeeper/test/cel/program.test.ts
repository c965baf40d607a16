// The CEL evaluator on its own: how a K8sNativeValidation source is read and rejected, what each variable holds, the
// cost budget, lazy variables, numbers, and the failure policy of match conditions (the gator-format suites under
// fixtures/ cover the rest through `verify`).
import t from 'tap';
import { CelTemplate, celConstraint, celReview } from '../../src/cel/program.js';
import { CelSourceError, parseCelSource } from '../../src/cel/source.js';

const pod = (labels: Record<string, string> = {}, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'ns', labels },
  ...extra,
});
const createReq = (object: unknown, extra: Record<string, unknown> = {}) => ({
  uid: 'u',
  operation: 'CREATE',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  name: 'p',
  namespace: 'ns',
  userInfo: { username: 'alice', groups: ['dev'] },
  object,
  ...extra,
});
const constraint = (parameters?: unknown) => ({
  apiVersion: 'constraints.gatekeeper.sh/v1beta1',
  kind: 'K8sX',
  metadata: { name: 'c1' },
  spec: parameters === undefined ? {} : { parameters },
});

function evaluate(source: unknown, req: Record<string, unknown>, opts: { parameters?: unknown; namespace?: unknown; costLimit?: number } = {}): string[] {
  const tpl = new CelTemplate(parseCelSource(source), opts.costLimit);
  const raw = constraint(opts.parameters);
  return tpl.evaluate(celReview(req, opts.namespace ?? null), celConstraint(raw, opts.parameters)).map((v) => v.msg);
}
const check = (expression: string, message = expression) => ({ validations: [{ expression, message }] });

t.test('the source is rejected as Gatekeeper rejects it', async (t) => {
  const cases: Array<[unknown, string]> = [
    [{ variables: [{ name: 'params', expression: '1' }] }, 'invalid variable definition: params an invalid variable name, "params" is a reserved keyword'],
    [{ variables: [{ name: 'anyObject', expression: '1' }] }, 'invalid variable definition: anyObject an invalid variable name, "anyObject" is a reserved keyword'],
    [{ variables: [{ name: 'gatekeeper_internal_x', expression: '1' }] }, 'invalid variable definition: gatekeeper_internal_x is not a valid variable; cannot have "gatekeeper_internal_" as a prefix'],
    [{ matchCondition: [{ name: 'gatekeeper_internal_m', expression: 'true' }] }, 'invalid match condition: gatekeeper_internal_m is not a valid match condition; cannot have "gatekeeper_internal_" as a prefix'],
    [{ failurePolicy: 'Sometimes' }, 'invalid failure policy: unrecognized failure policy: Sometimes'],
    [{ validations: { expression: 'true' } }, 'could not recognize the type: source.validations must be a list'],
    [{ validations: [{ expression: 1 }] }, 'could not recognize the type: source.validations[0].expression must be a string'],
    [{ generateVAP: 'yes' }, 'could not recognize the type: source.generateVAP must be a boolean'],
    ['rego', 'could not recognize the type: source must be an object'],
  ];
  for (const [source, message] of cases) t.throws(() => parseCelSource(source), new CelSourceError(message), message);
  t.equal(parseCelSource({}).failurePolicy, 'Fail', 'no failurePolicy: Fail');
  t.equal(parseCelSource({}, 'Ignore').failurePolicy, 'Ignore', 'no failurePolicy: the default given (--default-k8s-native-validation-failure-policy)');
  t.equal(parseCelSource({ failurePolicy: 'Fail' }, 'Ignore').failurePolicy, 'Fail', 'the source\'s own wins');
  const ok = parseCelSource({ matchConditions: [{ name: 'ignored', expression: 'false' }], validations: [{ expression: 'true' }], generateVAP: false, unknown: 1 });
  t.same(ok, { variables: [], validations: [{ expression: 'true', message: '', messageExpression: '' }], matchConditions: [], failurePolicy: 'Fail', generateVAP: false }, 'unknown fields (matchConditions, plural, included) are ignored');
});

t.test('object, oldObject, request and anyObject', async (t) => {
  const src = {
    validations: [
      { expression: 'object.metadata.name == "p" && oldObject == null', message: 'create' },
      { expression: 'request.operation == "CREATE" && request.userInfo.username == "alice" && request.kind.kind == "Pod"', message: 'request' },
      { expression: 'request.requestKind.kind == "Pod" && request.resource.resource == "pods"', message: 'request form' },
      { expression: 'variables.anyObject == object', message: 'anyObject' },
    ],
  };
  t.same(evaluate(src, createReq(pod())), [], 'every variable as Kubernetes builds it on CREATE');
  // request is typed (BuildRequestType): object, oldObject and uid are not among its fields
  t.match(evaluate(check('!has(request.object) && !has(request.uid)'), createReq(pod())), [/^compilation error: compilation failed: ERROR: <input>:1:5: undefined field 'object'\n[^]*undefined field 'uid'/]);
  const del = { ...createReq(pod()), operation: 'DELETE', oldObject: pod({ gone: 'yes' }) };
  const delSrc = {
    validations: [
      { expression: 'object == null', message: 'object is blanked on DELETE' },
      { expression: 'variables.anyObject.metadata.labels.gone == "yes"', message: 'anyObject is oldObject on DELETE' },
    ],
  };
  t.same(evaluate(delSrc, del), [], 'DELETE: object null (even when the request carries it), anyObject = oldObject');
});

t.test('variables.params, params and the template variables', async (t) => {
  const src = {
    variables: [
      { name: 'name', expression: 'params.metadata.name' },
      { name: 'greeting', expression: '"constraint " + variables.name' },
    ],
    validations: [{ expression: 'false', messageExpression: 'variables.greeting + " wants " + string(variables.params.n)' }],
  };
  t.same(evaluate(src, createReq(pod()), { parameters: { n: 3 } }), ['constraint c1 wants 3'], 'variables chain in order; params is the whole constraint');
  t.same(evaluate({ validations: [{ expression: 'variables.params == null', message: 'params not null' }] }, createReq(pod())), [], 'no spec.parameters: variables.params is null');
  t.match(
    evaluate({ validations: [{ expression: 'params.metadata.name == "c1"' }] }, createReq(pod())),
    [/^compilation error: compilation failed: ERROR: <input>:1:1: undeclared reference to 'params' \(in container ''\)\n \| params.metadata.name == "c1"\n \| \^$/],
    'params is not visible in validations',
  );
  t.match(
    evaluate({ variables: [{ name: 'a', expression: 'variables.b' }, { name: 'b', expression: '1' }], validations: [{ expression: 'variables.a == 1' }] }, createReq(pod())),
    [/^expression 'variables.a == 1' resulted in error: composited variable "a" fails to compile: compilation failed: ERROR: <input>:1:10: undefined field 'b'/],
    'a variable sees only the variables before it',
  );
  t.same(
    evaluate({ variables: [{ name: 'broken', expression: 'object.nokey' }], validations: [{ expression: 'true' }] }, createReq(pod())),
    [],
    'a variable nobody reads is never evaluated (lazy)',
  );
  // One evaluation of `big` costs between 300 and 400 (measured); read twice without memoising it would pass 600.
  const memo = {
    variables: [{ name: 'big', expression: 'object.items.map(x, x).map(x, x).map(x, x).size()' }],
    validations: [{ expression: 'variables.big == 30 && variables.big == 30', message: 'size' }],
  };
  const items = pod({}, { items: Array.from({ length: 30 }, (_, i) => i) });
  t.same(evaluate(memo, createReq(items), { costLimit: 450 }), [], 'a variable read twice is evaluated once');
  t.same(evaluate(memo, createReq(items), { costLimit: 250 }), ['validation failed due to running out of cost budget, no further validation rules will be run'], 'and that evaluation is charged');
});

t.test('namespaceObject: the fields Kubernetes exposes, null without a namespace', async (t) => {
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns', labels: { env: 'prod' }, managedFields: [{}] }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
  const src = check('namespaceObject.metadata.labels.env == "prod" && namespaceObject.spec.finalizers == ["kubernetes"] && namespaceObject.status.phase == "Active"', 'ns');
  t.same(evaluate(src, createReq(pod()), { namespace: ns }), []);
  // namespaceObject is typed (BuildNamespaceType): a field it does not declare does not compile
  t.match(evaluate(check('!has(namespaceObject.metadata.managedFields) && !has(namespaceObject.kind)'), createReq(pod()), { namespace: ns }), [
    /^compilation error: compilation failed: ERROR: <input>:1:5: undefined field 'managedFields'\n[^]*ERROR: <input>:1:53: undefined field 'kind'/,
  ]);
  t.same(evaluate(check('namespaceObject == null', 'not null'), createReq(pod())), []);
});

t.test('numbers: integers within int64 are CEL int, other numbers double; a boxed Number stays double', async (t) => {
  const obj = pod({}, { spec: { a: 1, b: 1.5, c: new Number(1), big: 2 ** 60, huge: 1e20 } });
  const types = 'type(object.spec.a) == int && type(object.spec.b) == double && type(object.spec.c) == double && object.spec.a == object.spec.c';
  t.same(evaluate(check(`${types} && type(object.spec.big) == int && type(object.spec.huge) == double`, 'types'), createReq(obj)), []);
  t.match(evaluate(check('object.spec.a + object.spec.b == 2.5'), createReq(obj)), [/found no matching overload for '_\+_' applied to '\(int, double\)'/], 'no implicit int/double arithmetic, as in cel-go');
});

t.test('every evaluation is bounded by the cost limit', async (t) => {
  const bomb = check('[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f, a + b + c + d + e + f > 0))))))');
  t.same(evaluate(bomb, createReq(pod())), ['validation failed due to running out of cost budget, no further validation rules will be run'], 'a million-step loop stops at the default budget');
  t.same(evaluate({ ...bomb, failurePolicy: 'Ignore' }, createReq(pod())), [], 'and the failure policy applies to it');
  const doubling = { variables: Array.from({ length: 40 }, (_, i) => ({ name: `s${i}`, expression: i === 0 ? '"ab"' : `variables.s${i - 1} + variables.s${i - 1}` })), validations: [{ expression: 'size(variables.s39) > 0' }] };
  t.same(evaluate(doubling, createReq(pod())), ['validation failed due to running out of cost budget, no further validation rules will be run'], 'a string doubled 40 times is stopped long before it is built');
  t.same(evaluate(check('[1,2,3].all(x, x > 0)', 'cheap'), createReq(pod()), { costLimit: 20 }), [], 'a cheap expression fits a small budget');
});

t.test('match conditions: errors under the failure policy, a false condition stops everything', async (t) => {
  const src = (failurePolicy: string) => ({ failurePolicy, matchCondition: [{ name: 'a', expression: 'object.nokey == 1' }, { name: 'b', expression: 'object.other == 1' }], validations: [{ expression: 'false', message: 'reached' }] });
  t.same(
    evaluate(src('Fail'), createReq(pod())),
    ["[expression 'object.nokey == 1' resulted in error: no such key: nokey, expression 'object.other == 1' resulted in error: no such key: other]"],
    'two errors: one violation with both',
  );
  t.same(evaluate(src('Ignore'), createReq(pod())), [], 'Ignore: no match, no violation');
  const falseFirst = { matchCondition: [{ name: 'a', expression: 'object.nokey == 1' }, { name: 'f', expression: 'false' }], validations: [{ expression: 'false', message: 'reached' }] };
  t.same(evaluate(falseFirst, createReq(pod())), [], 'a false condition wins over an error');
});

t.test('a function the engine lacks is a compile error naming it (failurePolicy applies)', async (t) => {
  t.match(evaluate(check('image("nginx").registry() == "docker.io"'), createReq(pod())), [/^compilation error: compilation failed: ERROR: <input>:1:\d+: undeclared reference to 'image' \(in container ''\)/]);
  t.same(evaluate({ ...check('image("nginx").registry() == "docker.io"'), failurePolicy: 'Ignore' }, createReq(pod())), []);
});
