// OpenAPI `default:` values of a template's schema applied to constraint parameters before evaluation, as Kubernetes'
// structural defaulting (and so Gatekeeper) does: the case of gator's own test (with-violations-and-defaults) and the
// structural rules (nested objects, arrays of objects, additionalProperties, null, absent parameters).
import t from 'tap';
import { withDefaults } from '../../src/policy/constraint.js';
import { reviewFromObject } from '../../src/policy/load.js';
import { constraint, newEngine, template } from './helpers.js';

// gator's test/gator/test/fixtures/manifests/with-policies/with-violations-and-defaults.yaml, ported.
const gatorSchema = {
  type: 'object',
  properties: {
    labels: { type: 'array', default: [{ key: 'aRequiredLabel' }], items: { type: 'object', properties: { key: { type: 'string' } } } },
    message: { type: 'string', default: 'aRequiredMessage' },
    placeholder: { type: 'string' },
  },
};
const gatorRego = `package k8srequiredlabels
violation[{"msg": msg, "details": {"missing_labels": missing}}] {
  provided := {label | input.review.object.metadata.labels[label]}
  required := {label | label := input.parameters.labels[_].key}
  missing := required - provided
  count(missing) > 0
  msg := input.parameters.message
}
`;

t.test("gator's defaults case: the template's defaults reach the Rego", async (t) => {
  const engine = await newEngine(t);
  t.same((await engine.upsertTemplate(template('K8sRequiredLabelsDefault', gatorRego, { schema: gatorSchema }))).errors, []);
  engine.upsertConstraint(constraint('K8sRequiredLabelsDefault', 'all-must-have-owner', { match: { kinds: [{ apiGroups: [''], kinds: ['Namespace'] }] }, parameters: { placeholder: 'placeholder' } }));
  const r = await engine.review(reviewFromObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'my-ns' } }));
  t.same(r.violations.map((v) => [v.msg, v.details]), [['aRequiredMessage', { missing_labels: ['aRequiredLabel'] }]]);
  const given = engine.getConstraint('K8sRequiredLabelsDefault', 'all-must-have-owner')!;
  t.same(given.parameters, { placeholder: 'placeholder', labels: [{ key: 'aRequiredLabel' }], message: 'aRequiredMessage' });
  t.same(given.raw.spec, { match: { kinds: [{ apiGroups: [''], kinds: ['Namespace'] }] }, parameters: { placeholder: 'placeholder' } }, 'the constraint object is left as given');
});

t.test('structural defaulting: nested objects, arrays of objects, additionalProperties, null', async (t) => {
  const schema = {
    type: 'object',
    properties: {
      limits: {
        type: 'object',
        default: {},
        properties: { cpu: { type: 'string', default: '1' }, memory: { type: 'string', default: '1Gi' } },
      },
      rules: { type: 'array', items: { type: 'object', properties: { effect: { type: 'string', default: 'deny' }, name: { type: 'string' } } } },
      byTeam: { type: 'object', additionalProperties: { type: 'object', properties: { quota: { type: 'integer', default: 3 } } } },
      mode: { type: 'string', default: 'strict' },
      note: { type: 'string', nullable: true, default: 'n' },
    },
  };
  t.same(withDefaults({ rules: [{ name: 'a' }, { name: 'b', effect: 'warn' }], byTeam: { x: {}, y: { quota: 1 } }, mode: null, note: null, limits: { cpu: '2' } }, schema), {
    rules: [
      { name: 'a', effect: 'deny' },
      { name: 'b', effect: 'warn' },
    ],
    byTeam: { x: { quota: 3 }, y: { quota: 1 } },
    mode: 'strict',
    note: null,
    limits: { cpu: '2', memory: '1Gi' },
  });
  t.same(withDefaults({}, schema), { limits: { cpu: '1', memory: '1Gi' }, mode: 'strict', note: 'n' }, "a default's own properties are defaulted too");
  t.same(withDefaults(undefined, schema), {}, 'absent parameters stay absent');
  t.same(withDefaults(undefined, { type: 'object', default: { a: 1 }, properties: { b: { type: 'string', default: 'x' } } }), { a: 1, b: 'x' }, 'unless the root has a default');
  const given = { rules: [{ name: 'a' }] };
  withDefaults(given, schema);
  t.same(given, { rules: [{ name: 'a' }] }, 'the input is not modified');
});

t.test('defaults are checked against the schema like given values', async (t) => {
  const engine = await newEngine(t);
  const schema = { type: 'object', properties: { n: { type: 'integer', default: 'three' } } };
  t.same((await engine.upsertTemplate(template('K8sBadDefault', gatorRego.replace('k8srequiredlabels', 'k8sbaddefault'), { schema }))).errors, []);
  t.throws(() => engine.upsertConstraint(constraint('K8sBadDefault', 'c', { parameters: {} })), { message: /spec.parameters.n must be integer/, reason: 'schema' });
});
