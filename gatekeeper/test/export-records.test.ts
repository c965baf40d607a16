// Decision records: Gatekeeper's export fields filled as Gatekeeper fills them, plus decisionId / auditId, and field policies.
import t from 'tap';
import os from 'node:os';
import { redactObject } from '@gk-exporter/exporter/record';
import {
  admissionDecisionRecord,
  admissionShared,
  auditCompletedRecord,
  auditStartedRecord,
  newAuditRun,
  objectResource,
  pickLabels,
  recordSource,
  type AdmissionOutcome,
  violationAdmissionRecord,
  violationAuditedRecord,
  violationSummary,
} from '../src/export/records.js';
import { admissionRecordLines, isoTimestamp, objectTail } from '../src/export/record-lines.js';
import { applyFieldPolicy, parseFieldList, REDACTED } from '../src/export/redact.js';
import type { Violation } from '../src/policy/engine.js';
import { constraintProvenance, templateProvenance } from '../src/policy/provenance.js';
import type { AdmissionRequest } from '../src/webhook/admission-review.js';

const req: AdmissionRequest = {
  uid: 'req-1',
  kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
  resource: { group: 'apps', version: 'v1', resource: 'deployments' },
  requestResource: { group: 'apps', version: 'v1beta1', resource: 'deployments' },
  subResource: 'scale',
  namespace: 'ns1',
  operation: 'UPDATE',
  userInfo: { username: 'alice', uid: 'u1', groups: ['g1', 'g2'] },
  object: { metadata: { name: 'web', labels: { app: 'web' } } },
};
const violation: Violation = {
  constraint: {
    kind: 'K8sRequiredLabels',
    name: 'must-have-owner',
    enforcementAction: 'deny',
    annotations: { owner: 'platform', 'kubectl.kubernetes.io/last-applied-configuration': '{...}' },
  },
  engine: 'rego',
  enforcementAction: 'deny',
  msg: 'you must provide labels: {"owner"}',
  details: { missing_labels: ['owner'] },
};

const templateSpec = { crd: { spec: { names: { kind: 'K8sRequiredLabels' } } }, targets: [{ target: 'admission.k8s.gatekeeper.sh', rego: 'package x' }] };
const provenance = constraintProvenance(templateProvenance('k8srequiredlabels', { metadata: { generation: 3 }, spec: templateSpec }), { metadata: { generation: 2 } });
const withPolicy: Violation = {
  ...violation,
  engine: 'rego',
  constraint: { ...violation.constraint, policy: provenance, policyJson: JSON.stringify(provenance) },
};

t.test('provenance: template name, generations and a hash of the spec that ignores key order', async (t) => {
  t.match(provenance, { template: 'k8srequiredlabels', templateGeneration: 3, constraintGeneration: 2, templateHash: /^sha256:[0-9a-f]{64}$/ });
  t.same(Object.keys(provenance), ['template', 'templateGeneration', 'templateHash', 'constraintGeneration']);
  const reordered = { targets: [{ rego: 'package x', target: 'admission.k8s.gatekeeper.sh' }], crd: { spec: { names: { kind: 'K8sRequiredLabels' } } } };
  t.equal(templateProvenance('k8srequiredlabels', { spec: reordered }).templateHash, provenance.templateHash, 'same spec, other key order: same hash');
  const changed = { ...templateSpec, targets: [{ target: 'admission.k8s.gatekeeper.sh', rego: 'package y' }] };
  t.not(templateProvenance('k8srequiredlabels', { spec: changed }).templateHash, provenance.templateHash, 'other Rego: other hash');
  t.same(constraintProvenance(templateProvenance('t', { spec: {} }), {}), { template: 't', templateHash: templateProvenance('t', { spec: {} }).templateHash }, 'no generations from files');

  const v = violationAdmissionRecord(req, req.object, withPolicy);
  t.same(v['policy'], provenance);
  t.equal(v.engine, 'rego');
  const audited = violationAuditedRecord(newAuditRun(), objectResource(req.object), withPolicy);
  t.same(audited['policy'], provenance);
  t.same(violationSummary([withPolicy]).items?.[0]?.policy, provenance, 'the decision\'s items name the policy too');
});

t.test('namespace labels: only the allowed keys, on the decision and its violations', async (t) => {
  t.same(pickLabels({ team: 'a', env: 'prod', secret: 'x' }, ['team', 'env', 'owner']), { team: 'a', env: 'prod' });
  t.equal(pickLabels({ team: 'a' }, []), undefined, 'no allow-list: nothing');
  t.equal(pickLabels({ team: 'a' }, ['owner']), undefined, 'none of the keys: no field');
  t.equal(pickLabels(undefined, ['team']), undefined);
  const outcome = { allowed: false, warnings: [], violations: [violation], evaluatedConstraints: 1, durationMs: 1, namespaceLabels: { team: 'a' } };
  const [decision, v] = admissionRecordLines(req, req.object, outcome, undefined, new Date()).map((l) => JSON.parse(l));
  t.same(decision.namespaceLabels, { team: 'a' });
  t.same(v.namespaceLabels, { team: 'a' });
  const audited = violationAuditedRecord(newAuditRun(), { ...objectResource(req.object), namespaceLabels: { team: 'b' } }, violation);
  t.same(audited['namespaceLabels'], { team: 'b' });
});

t.test('recordSource: replica, engine version and cluster identity (the component goes by the record)', async (t) => {
  const s = recordSource('1.2.3', { name: 'prod-eu', labels: { region: 'eu-west-1' } });
  t.equal(s.version, '1.2.3');
  t.notOk('component' in s, 'no component: DecisionExport sets it per record');
  t.equal(s.replica, process.env['POD_NAME'] || os.hostname());
  t.same(s.cluster, { name: 'prod-eu', labels: { region: 'eu-west-1' } });
  t.notOk('cluster' in recordSource('1', {}), 'no cluster identity configured: no cluster field');
  t.match(recordSource().version, /^\d+\.\d+\.\d+/, 'the engine\'s own version by default');
});

t.test('admission_decision and violation_admission', async (t) => {
  const outcome = { allowed: false, message: '[must-have-owner] you must provide labels', warnings: ['[w] x'], violations: [violation], evaluatedConstraints: 3, durationMs: 1.23456 };
  const d = admissionDecisionRecord(req, req.object, outcome, { component: 'webhook' });
  t.equal(d.eventType, 'admission_decision');
  t.equal(d.schemaVersion, '1');
  t.match(d.decisionId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a UUIDv7');
  t.equal(d.admissionUID, 'req-1');
  t.equal(d.id, 'req-1', "Gatekeeper's id for admission is the request uid");
  t.equal(d.allowed, false);
  t.same(d.violations, { total: 1, byAction: { deny: 1 }, items: [{ constraintKind: 'K8sRequiredLabels', constraintName: 'must-have-owner', enforcementAction: 'deny', message: violation.msg, engine: 'rego' }] });
  t.equal(d['durationMs'], 1.235);
  t.equal(d.resourceName, 'web', 'name falls back to the object metadata');
  t.equal(d.resourceGroup, 'apps');
  t.equal(d.resourceAPIVersion, 'v1');
  t.equal(d.requestResource, 'deployments', 'the resource name, as Gatekeeper');
  t.equal(d.requestSubresource, 'scale');
  t.equal(d.dryRun, false, 'dryRun is always present on admission records');
  t.same(d.source, { component: 'webhook' });
  t.notOk('object' in d, 'the object is not exported unless asked for');

  const v = violationAdmissionRecord(req, req.object, violation);
  t.equal(v.eventType, 'violation_admission');
  t.not(v.decisionId, d.decisionId, 'every record has its own decisionId');
  t.equal(v.admissionUID, 'req-1');
  t.equal(v.id, 'req-1');
  t.equal(v.group, 'constraints.gatekeeper.sh');
  t.equal(v.version, 'v1beta1');
  t.equal(v.kind, 'K8sRequiredLabels');
  t.equal(v.name, 'must-have-owner');
  t.equal(v.message, violation.msg);
  t.equal(v.enforcementAction, 'deny');
  t.same(v.details, { missing_labels: ['owner'] });
  t.same(v.constraintAnnotations, { owner: 'platform' }, 'last-applied-configuration is left out, as in Gatekeeper');
  t.same(v.resourceLabels, { app: 'web' });
  t.equal(v.resourceNamespace, 'ns1');
  t.equal(v.operation, 'UPDATE');
  t.equal(v.requestUsername, 'alice');
  t.equal(v.requestUserUID, 'u1');
  t.same(v.requestUserGroups, ['g1', 'g2']);
  t.notOk('namespace' in v, 'the constraint namespace is empty, hence omitted');
});

t.test('admission lines: byte for byte the records serialised, with their own increasing decisionIds', async (t) => {
  const now = new Date('2026-03-04T05:06:07.089Z');
  const source = { component: 'webhook', pod: 'gk-0' };
  const scoped: Violation = { ...violation, constraint: { ...violation.constraint, enforcementAction: 'scoped' }, enforcementAction: 'warn' };
  const bare: Violation = { constraint: { kind: 'K8sPSP', name: 'p', enforcementAction: '' }, engine: 'cel', enforcementAction: 'dryrun', msg: '', details: null };
  const minimal: AdmissionRequest = { uid: '', kind: { group: '', version: 'v1', kind: 'Pod' }, object: null } as unknown as AdmissionRequest;
  const cases: Array<{ name: string; req: AdmissionRequest; object: any; outcome: AdmissionOutcome; source?: typeof source; redact?: string[] }> = [
    { name: 'denied, 3 violations', req, object: req.object, source, outcome: { allowed: false, message: 'm "quoted"\n', warnings: ['w'], violations: [violation, scoped, bare, withPolicy], evaluatedConstraints: 4, durationMs: 1.23456 } },
    { name: 'allowed, no source', req: { ...req, dryRun: true }, object: req.object, outcome: { allowed: true, warnings: [], violations: [], evaluatedConstraints: 0, durationMs: 0 } },
    { name: 'allowed, with source, a fractional duration', req, object: req.object, source, outcome: { allowed: true, warnings: [], violations: [], evaluatedConstraints: 3, durationMs: 1.23456 } },
    { name: 'denied without violations (an error message)', req, object: req.object, source, outcome: { allowed: false, message: 'denied', warnings: [], violations: [], evaluatedConstraints: 3, durationMs: 0.0004 } },
    { name: 'no uid, no operation, no object', req: minimal, object: null, source, outcome: { allowed: true, warnings: [], violations: [bare], evaluatedConstraints: 1, durationMs: 0.5, exempt: true, error: 'deadline' } },
    { name: 'namespace labels', req, object: req.object, source, outcome: { allowed: false, warnings: [], violations: [violation, withPolicy], evaluatedConstraints: 2, durationMs: 1, namespaceLabels: { team: 'a' } } },
    { name: 'with the object, redacted', req, object: { metadata: { name: 'web' }, data: { k: 'v' } }, source, redact: ['data'], outcome: { allowed: false, warnings: [], violations: [violation], evaluatedConstraints: 1, durationMs: 2 } },
  ];
  const withoutId = (line: string) => line.replace(/"decisionId":"[^"]*"/, '"decisionId":"-"');
  for (const c of cases) {
    let tail = '';
    const decision = admissionDecisionRecord(c.req, c.object, c.outcome, c.source, now);
    if (c.redact) {
      const { object, redactedPaths } = redactObject(c.object, c.redact);
      tail = objectTail(object, redactedPaths);
      decision.object = object;
      decision.redactedPaths = redactedPaths;
    }
    const expected = [decision, ...c.outcome.violations.map((v) => violationAdmissionRecord(c.req, c.object, v, c.source, now, admissionShared(c.req, c.object, c.source, c.outcome.namespaceLabels)))].map((r) => withoutId(JSON.stringify(r)));
    const lines = admissionRecordLines(c.req, c.object, c.outcome, c.source, now, tail);
    t.same(lines.map(withoutId), expected, c.name);
    const ids = lines.map((l) => JSON.parse(l).decisionId as string);
    t.ok(ids.every((id, i) => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id) && (i === 0 || id > ids[i - 1]!)), `${c.name}: UUIDv7s, increasing`);
  }
});

t.test("admission lines' timestamps are toISOString()'s text, whatever the millisecond", async (t) => {
  const times = [0, 1, 9, 10, 99, 100, 999, 1000, -1, -999, -1000, -1001, Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1), 253402300799999, 253402300800000];
  for (let ms = Date.UTC(2026, 2, 4, 5, 6, 6, 990); ms < Date.UTC(2026, 2, 4, 5, 6, 8, 20); ms += 7) times.push(ms);
  for (const ms of [...times, ...times.reverse()]) {
    const want = new Date(ms).toISOString();
    if (isoTimestamp(ms) !== want) t.fail(`${ms}: ${isoTimestamp(ms)} instead of ${want}`);
  }
  t.pass(`${times.length * 2} times, each second's text reused and renewed`);
});

t.test('the decision lists at most 20 violations and says it truncated', async (t) => {
  const many = Array.from({ length: 25 }, () => violation);
  const s = violationSummary(many);
  t.equal(s.total, 25);
  t.equal(s.items?.length, 20);
  t.equal(s.truncated, true);
});

t.test('scoped enforcement lists the actions that applied', async (t) => {
  const scoped: Violation = { ...violation, constraint: { ...violation.constraint, enforcementAction: 'scoped' }, enforcementAction: 'warn' };
  const v = violationAdmissionRecord(req, req.object, scoped);
  t.equal(v.enforcementAction, 'scoped');
  t.same(v.enforcementActions, ['warn']);
});

t.test('audit records share the run id and carry their own decisionId', async (t) => {
  const run = newAuditRun(new Date('2026-01-02T03:04:05.678Z'));
  t.equal(run.auditId, '2026-01-02T03:04:05.678Z', "the run id is its RFC 3339 start time, like Gatekeeper's");
  const started = auditStartedRecord(run);
  t.equal(started.eventType, 'audit_started');
  t.equal(started.message, 'audit is started');
  t.equal(started.id, run.auditId);
  const res = objectResource({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'n', labels: { a: 'b' } } });
  t.same(res, { group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'n', name: 'd', labels: { a: 'b' } });
  t.same(objectResource({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }).group, '');
  const v = violationAuditedRecord(run, res, violation);
  t.equal(v.eventType, 'violation_audited');
  t.equal(v.id, run.auditId);
  t.equal(v.auditId, run.auditId);
  t.equal(v.resourceAPIVersion, 'v1');
  t.equal(v.kind, 'K8sRequiredLabels', 'kind is the constraint kind');
  t.notOk('dryRun' in v, 'audit records have no request fields');
  const done = auditCompletedRecord(run, { totals: { objects: 3, constraints: 2, violations: 1, byAction: { deny: 1 }, durationSeconds: 0.01 }, constraints: [] });
  t.equal(done.message, 'audit is completed');
  t.equal(done.totals?.violations, 1);
  t.equal(done.auditId, run.auditId);
  const ids = new Set([started.decisionId, v.decisionId, done.decisionId]);
  t.equal(ids.size, 3);
});

t.test('field policy: omit and redact, without touching the shared object', async (t) => {
  const object = { metadata: { name: 'x' }, spec: { secret: 's' } };
  const rec: Record<string, unknown> = { a: 1, requestUserGroups: ['g'], object, details: { image: 'i' } };
  applyFieldPolicy(rec, { omit: parseFieldList('requestUserGroups,object.metadata', '--export-omit'), redact: parseFieldList('object.spec,details', '--export-redact') });
  t.same(rec, { a: 1, object: { spec: REDACTED }, details: REDACTED });
  t.same(object, { metadata: { name: 'x' }, spec: { secret: 's' } }, 'the request object is unchanged');
  t.throws(() => parseFieldList('a..b', '--export-omit'), /--export-omit: "a..b" is not a dotted field path/);
  t.same(parseFieldList('spec.containers.*.env', '--export-object-redact', { wildcard: true }), ['spec.containers.*.env']);
});
