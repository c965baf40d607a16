// Matching where Gatekeeper cannot tell (autoreject, never a silent pass), the Namespace the matcher reads (inventory,
// `/v1`, or the caller's lookup), and scoped constraints with several actions on one enforcement point.
import t from 'tap';
import { ENFORCEMENT_POINTS } from '../../src/policy/engine.js';
import { reviewFromObject } from '../../src/policy/load.js';
import { constraint, newEngine, pod, sawRego, template } from './helpers.js';

const MISSING = (name: string) =>
  `unable to match constraints: error matching the requested object: ${name} :failed to run Match criteria: namespace selector for namespace-scoped object but missing Namespace`;

t.test('namespaceSelector on a namespaced object whose Namespace is unknown: autoreject with the constraint action', async (t) => {
  const engine = await newEngine(t);
  await engine.upsertTemplate(template('K8sSaw', sawRego('k8ssaw')));
  engine.upsertConstraint(constraint('K8sSaw', 'prod', { match: { namespaceSelector: { matchLabels: { env: 'prod' } } } }));
  engine.upsertConstraint(constraint('K8sSaw', 'prod-dry', { enforcementAction: 'dryrun', match: { namespaceSelector: { matchLabels: { env: 'prod' } } } }));

  const r = await engine.review(reviewFromObject(pod('web', 'shop')));
  t.same(
    r.violations.map((v) => [v.constraint.name, v.enforcementAction, v.msg, v.autoreject]),
    [
      ['prod', 'deny', MISSING('web'), true],
      ['prod-dry', 'dryrun', MISSING('web'), true],
    ],
  );
  t.equal(r.evaluatedConstraints, 0, 'the templates are not evaluated');

  t.same((await engine.review(reviewFromObject({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv' } }))).violations.map((v) => v.msg), ['saw pv', 'saw pv'], 'cluster-scoped objects always pass namespaceSelector');

  // A Namespace written with the core group's slash is the same Namespace.
  engine.addInventory({ apiVersion: '/v1', kind: 'Namespace', metadata: { name: 'shop', labels: { env: 'prod' } } });
  engine.addInventory({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lab', labels: { env: 'dev' } } });
  t.same((await engine.review(reviewFromObject(pod('web', 'shop')))).violations.map((v) => v.msg), ['saw web', 'saw web'], 'selected');
  t.same((await engine.review(reviewFromObject(pod('web', 'lab')))).violations, [], 'not selected');
  engine.removeInventory({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  t.same((await engine.review(reviewFromObject(pod('web', 'shop')))).violations.map((v) => v.msg), [MISSING('web'), MISSING('web')], 'removed again: autoreject');
});

t.test("the caller's Namespace lookup (cluster mode) wins over data.inventory; null means not found", async (t) => {
  const engine = await newEngine(t);
  await engine.upsertTemplate(template('K8sSaw', sawRego('k8ssaw')));
  engine.upsertConstraint(constraint('K8sSaw', 'prod', { match: { namespaceSelector: { matchLabels: { env: 'prod' } } } }));
  engine.addInventory({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { env: 'prod' } } });
  const msgs = async (namespace: Record<string, any> | null) => (await engine.review(reviewFromObject(pod('web', 'shop')), { namespace })).violations.map((v) => v.msg);
  t.same(await msgs(null), [MISSING('web')]);
  t.same(await msgs({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { env: 'dev' } } }), []);
  t.same(await msgs({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { env: 'prod' } } }), ['saw web']);
});

t.test('a review with neither object nor oldObject cannot be matched', async (t) => {
  const engine = await newEngine(t);
  await engine.upsertTemplate(template('K8sSaw', sawRego('k8ssaw')));
  engine.upsertConstraint(constraint('K8sSaw', 'pods', { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] } }));
  const r = await engine.review({ kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CONNECT', name: 'p', namespace: 'x' });
  t.same(r.violations.map((v) => v.msg), ['unable to match constraints: invalid request object: neither object nor old object are defined']);
});

t.test('scoped: every action listed for the enforcement point applies, the strictest first', async (t) => {
  const engine = await newEngine(t);
  await engine.upsertTemplate(template('K8sSaw', sawRego('k8ssaw')));
  engine.upsertConstraint(
    constraint('K8sSaw', 'both', {
      enforcementAction: 'scoped',
      scopedEnforcementActions: [
        { action: 'warn', enforcementPoints: [{ name: ENFORCEMENT_POINTS.validation }] },
        { action: 'deny', enforcementPoints: [{ name: '*' }] },
        { action: 'dryrun', enforcementPoints: [{ name: ENFORCEMENT_POINTS.audit }] },
      ],
    }),
  );
  const at = async (point: string) => (await engine.review(reviewFromObject(pod('p', 'x')), { enforcementPoint: point })).violations.map((v) => [v.enforcementAction, v.enforcementActions]);
  t.same(await at(ENFORCEMENT_POINTS.validation), [['deny', ['deny', 'warn']]]);
  t.same(await at(ENFORCEMENT_POINTS.audit), [['deny', ['deny', 'dryrun']]]);
  t.same(await at(ENFORCEMENT_POINTS.gator), [['deny', ['deny']]]);
  engine.upsertConstraint(constraint('K8sSaw', 'plain', { enforcementAction: 'warn' }));
  const plain = (await engine.review(reviewFromObject(pod('p', 'x')))).violations.find((v) => v.constraint.name === 'plain');
  t.equal(plain?.enforcementActions, undefined, 'only scoped constraints list their actions');
});
