// The lifecycle's bookkeeping: which pairs a run opens, resolves (and why), keeps ongoing or leaves unchecked; the
// state's merge, sharding and validation; the file store's merge of a concurrent writer.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LifecycleRun } from '../src/audit/lifecycle/run.js';
import { emptyState, joinShards, mergeStates, shardState, validateState, type LifecycleState } from '../src/audit/lifecycle/state.js';
import { FileLifecycleStore } from '../src/audit/lifecycle/file-store.js';
import { objectResource } from '../src/export/records.js';
import type { ConstraintRef, Violation } from '../src/policy/engine.js';

const ref = (name: string, generation = 1): ConstraintRef => ({
  kind: 'K8sRequiredLabels',
  name,
  enforcementAction: 'deny',
  policy: { template: 'k8srequiredlabels', templateHash: 'sha256:' + 'a'.repeat(64), constraintGeneration: generation },
});
const cm = (name: string, ns = 'apps') => objectResource({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
const violation = (c: ConstraintRef): Violation => ({ constraint: c, engine: 'rego', enforcementAction: 'deny', msg: 'missing owner' });

/** Runs one audit over `objects`, `violating` among them, and returns its outcome. */
function audit(prev: LifecycleState, auditId: string, constraints: ConstraintRef[], objects: string[], violating: Array<[ConstraintRef, string]>, opts: { maxPairs?: number; unverifiedObjects?: string[]; unverifiedKind?: (g: string, k: string) => boolean } = {}) {
  const run = new LifecycleRun(prev, auditId, constraints, opts.maxPairs ?? 1000);
  for (const o of objects) {
    if (opts.unverifiedObjects?.includes(o)) {
      run.unverified(cm(o));
      continue;
    }
    run.audited(cm(o));
    for (const [c, name] of violating) if (name === o) run.violation(cm(o), violation(c));
  }
  return run.finish(opts.unverifiedKind);
}

t.test('opened, ongoing, and each resolution', async (t) => {
  const a = ref('a');
  const b = ref('b');
  const one = audit(emptyState(), 'T1', [a, b], ['x', 'y', 'z', 'w'], [[a, 'x'], [a, 'y'], [a, 'z'], [b, 'x'], [b, 'w']]);
  t.same(one.totals, { opened: 5, resolved: 0, ongoing: 0, unverified: 0 });
  t.same(one.opened.map((p) => `${p.constraint}:${p.resource}`).sort(), [
    'K8sRequiredLabels/a:/ConfigMap/apps/x', 'K8sRequiredLabels/a:/ConfigMap/apps/y', 'K8sRequiredLabels/a:/ConfigMap/apps/z',
    'K8sRequiredLabels/b:/ConfigMap/apps/w', 'K8sRequiredLabels/b:/ConfigMap/apps/x',
  ]);
  t.same(one.next.constraints['K8sRequiredLabels/a']!.pairs['/ConfigMap/apps/x'], ['T1', 'v1']);

  // Run 2: a/x still violates; a/y fixed; a/z's object gone; b removed; a's generation unchanged.
  const two = audit(one.next, 'T2', [a], ['x', 'y', 'w'], [[a, 'x']]);
  t.same(two.totals, { opened: 0, resolved: 4, ongoing: 1, unverified: 0 });
  t.same(two.resolved.map((p) => `${p.constraint}:${p.resource} ${p.resolution} ${p.firstAuditId}..${p.lastAuditId}`).sort(), [
    'K8sRequiredLabels/a:/ConfigMap/apps/y fixed T1..T1',
    'K8sRequiredLabels/a:/ConfigMap/apps/z resource_gone T1..T1',
    'K8sRequiredLabels/b:/ConfigMap/apps/w constraint_removed T1..T1',
    'K8sRequiredLabels/b:/ConfigMap/apps/x constraint_removed T1..T1',
  ]);
  t.same(two.next.constraints['K8sRequiredLabels/a']!.pairs, { '/ConfigMap/apps/x': ['T1', 'v1'] }, 'ongoing keeps its first sighting');
  t.notOk(two.next.constraints['K8sRequiredLabels/b'], 'a removed constraint leaves the state');

  // Run 3: the constraint is relaxed (new generation) and x passes: policy_changed.
  const three = audit(two.next, 'T3', [ref('a', 2)], ['x'], []);
  t.same(three.resolved.map((p) => p.resolution), ['policy_changed']);
  t.same(three.next.constraints, {});
});

t.test('pairs that could not be checked stay open, with their last sighting', async (t) => {
  const a = ref('a');
  const one = audit(emptyState(), 'T1', [a], ['x', 'y'], [[a, 'x'], [a, 'y']]);
  const two = audit(one.next, 'T2', [a], ['x', 'y'], [], { unverifiedObjects: ['x'], unverifiedKind: (g, k) => g === '' && k === 'Never' });
  t.same(two.totals, { opened: 0, resolved: 1, ongoing: 0, unverified: 1 });
  t.same(two.next.constraints['K8sRequiredLabels/a']!.pairs['/ConfigMap/apps/x'], ['T1', 'v1', 'T1']);
  const three = audit(two.next, 'T3', [a], ['y'], [], { unverifiedKind: (g, k) => g === '' && k === 'ConfigMap' });
  t.same(three.totals, { opened: 0, resolved: 0, ongoing: 0, unverified: 1 }, 'a kind that could not be listed');
  const four = audit(three.next, 'T4', [a], ['x'], []);
  t.same(four.resolved.map((p) => [p.resolution, p.firstAuditId, p.lastAuditId]), [['fixed', 'T1', 'T1']], 'resolved with the last run that saw it');
});

t.test('the exported namespace labels are kept for open pairs and carried by their resolution', async (t) => {
  const a = ref('a');
  const pick = (labels?: Record<string, string>) => (labels?.['team'] ? { team: labels['team'] } : undefined);
  const run1 = new LifecycleRun(emptyState(), 'T1', [a], 10, pick);
  run1.audited(cm('x'));
  run1.violation(cm('x'), violation(a), { team: 'blue', secret: 'not exported' });
  const one = run1.finish();
  t.same(one.next.namespaceLabels, { apps: { team: 'blue' } }, 'only the exported keys');
  t.same(joinShards(shardState(one.next, 3)), one.next, 'through the shards');
  const run2 = new LifecycleRun(one.next, 'T2', [a], 10, pick);
  run2.audited(cm('x'));
  const two = run2.finish();
  t.same(two.resolved.map((p) => p.namespaceLabels), [{ team: 'blue' }]);
  t.notOk(two.next.namespaceLabels, 'forgotten with the last pair of the namespace');
});

t.test('--violation-lifecycle-max-pairs: new pairs past the limit are not opened', async (t) => {
  const a = ref('a');
  const one = audit(emptyState(), 'T1', [a], ['x', 'y', 'z'], [[a, 'x'], [a, 'y'], [a, 'z']], { maxPairs: 2 });
  t.equal(one.opened.length, 2);
  t.equal(one.untracked, 1);
  const two = audit(one.next, 'T2', [a], ['x', 'y', 'z'], [[a, 'x'], [a, 'y'], [a, 'z']], { maxPairs: 2 });
  t.same(two.totals, { opened: 0, resolved: 0, ongoing: 2, unverified: 0 });
  t.equal(two.untracked, 1);
});

t.test('merge: the newer run wins, first sightings are kept; shards join back', async (t) => {
  const older: LifecycleState = { format: 1, auditId: 'T1', constraints: { 'K/a': { enforcementAction: 'deny', pairs: { '/ConfigMap/n/x': ['T0', 'v1'], '/ConfigMap/n/gone': ['T0', 'v1'] } } } };
  const newer: LifecycleState = { format: 1, auditId: 'T2', constraints: { 'K/a': { enforcementAction: 'deny', pairs: { '/ConfigMap/n/x': ['T2', 'v1'], '/ConfigMap/n/new': ['T2', 'v1'] } } } };
  const expected = { format: 1, auditId: 'T2', constraints: { 'K/a': { enforcementAction: 'deny', pairs: { '/ConfigMap/n/x': ['T0', 'v1'], '/ConfigMap/n/new': ['T2', 'v1'] } } } };
  t.same(mergeStates(older, newer), expected);
  t.same(mergeStates(newer, older), expected, 'whichever side it comes from');

  const big: LifecycleState = { format: 1, auditId: 'T', constraints: {} };
  for (let c = 0; c < 3; c++) {
    const pairs: LifecycleState['constraints'][string]['pairs'] = {};
    for (let i = 0; i < 200; i++) pairs[`/ConfigMap/n/o${i}`] = ['T', 'v1'];
    big.constraints[`K/c${c}`] = { policy: `p${c}`, enforcementAction: 'warn', pairs };
  }
  const parts = shardState(big, 4);
  t.ok(parts.every((p) => Object.values(p.constraints).reduce((n, c) => n + Object.keys(c.pairs).length, 0) > 100), 'pairs spread over every shard');
  t.same(joinShards(parts), big);
  t.same(shardState(big, 4), parts, 'a pair always lands in the same shard');
});

t.test('a state that cannot be used is refused with the reason', async (t) => {
  t.throws(() => validateState([], 'f'), /violation lifecycle state f: not a JSON object/);
  t.throws(() => validateState({ format: 2, auditId: '', constraints: {} }, 'f'), /format 2 is not 1/);
  t.throws(() => validateState({ format: 1, auditId: 'T', constraints: { 'K/a': { pairs: { r: 'x' } } } }, 'f'), /constraints\["K\/a"\]\.pairs\["r"\]: must be \[firstAuditId, apiVersion\(, lastAuditId\)\]/);
});

t.test('file store: a state written by someone else since load is merged, not overwritten', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-lifecycle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'state.json');
  const store = new FileLifecycleStore(file);
  t.same(await store.load(), emptyState(), 'no file yet: empty');
  writeFileSync(file, JSON.stringify({ format: 1, auditId: 'T1', constraints: { 'K/a': { enforcementAction: 'deny', pairs: { '/ConfigMap/n/x': ['T0', 'v1'] } } } }));
  await store.save({ format: 1, auditId: 'T2', constraints: { 'K/a': { enforcementAction: 'deny', pairs: { '/ConfigMap/n/x': ['T2', 'v1'] } } } });
  t.same(JSON.parse(readFileSync(file, 'utf8')).constraints['K/a'].pairs['/ConfigMap/n/x'], ['T0', 'v1']);
  writeFileSync(file, '{"format":1');
  await t.rejects(new FileLifecycleStore(file).load(), /state .*state\.json: not JSON .*move it aside to start afresh/);
});
