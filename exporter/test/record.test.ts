import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SCHEMA_VERSION,
  admissionDecision,
  auditCompleted,
  auditStarted,
  decisionIdTime,
  decisionRecordSchema,
  fullValidator,
  newDecisionId,
  normalizeLine,
  redactObject,
  violationAdmission,
  violationAudited,
} from '../src/record/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const at = new Date('2026-11-24T10:58:00.123Z');
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

t.test('the exporter fills decisionId (UUIDv7), timestamp and schemaVersion when absent, keeping the rest as sent', async (t) => {
  const r = normalizeLine('  {"eventType":"violation_audited","message":"no \\"latest\\" tags","n":1}  ', at);
  t.ok(r.ok);
  if (!r.ok) return;
  t.equal(r.record.assignedId, true);
  t.equal(r.record.asReceived, false, 'not the line as received: ingest stores the text built here');
  t.match(r.record.decisionId, UUID_V7);
  t.equal(decisionIdTime(r.record.decisionId)?.getTime(), at.getTime(), 'the assigned id carries the receive time');
  const obj = JSON.parse(r.record.json);
  t.same(obj, {
    decisionId: r.record.decisionId,
    timestamp: '2026-11-24T10:58:00.123Z',
    schemaVersion: SCHEMA_VERSION,
    eventType: 'violation_audited',
    message: 'no "latest" tags',
    n: 1,
  });
  t.notMatch(r.record.json, /\n/);
});

t.test('a complete record is stored byte for byte', async (t) => {
  const line = '{"decisionId":"abc","timestamp":"2026-01-02T03:04:05Z","schemaVersion":"1","eventType":"audit_started","x":[1,2]}';
  const r = normalizeLine(line, at);
  t.ok(r.ok);
  if (!r.ok) return;
  t.equal(r.record.json, line);
  t.equal(r.record.asReceived, true, "the line as received: ingest stores the line's own bytes");
  t.equal(r.record.decisionId, 'abc');
  t.equal(r.record.assignedId, false);
  const padded = normalizeLine(` ${line}\t`, at);
  t.ok(padded.ok && padded.record.json === line && !padded.record.asReceived, 'whitespace around it: trimmed, so not as received');
  const missing = normalizeLine(line.replace('"schemaVersion":"1",', ''), at);
  t.ok(missing.ok && !missing.record.asReceived, 'schemaVersion spliced in: not as received');
  t.equal(r.record.eventType, 'audit_started');
  t.ok(normalizeLine('{"eventType":"x","schemaVersion":"1.4","timestamp":"2026-01-02t03:04:05.5+02:00"}', at).ok, 'minor versions and offsets accepted');
});

t.test('malformed input is rejected with a reason and an error naming the field', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['{"eventType":', 'malformed_json', /malformed JSON/],
    ['\u0000\u00ff garbage', 'malformed_json', /malformed JSON/],
    ['[1,2]', 'not_an_object', /JSON object/],
    ['"text"', 'not_an_object', /JSON object/],
    ['null', 'not_an_object', /JSON object/],
    ['{}', 'schema', /^eventType: required/],
    ['{"eventType":""}', 'schema', /^eventType/],
    ['{"eventType":7}', 'schema', /^eventType/],
    [`{"eventType":"${'e'.repeat(129)}"}`, 'schema', /^eventType/],
    ['{"eventType":"x","decisionId":42}', 'schema', /^decisionId/],
    ['{"eventType":"x","decisionId":""}', 'schema', /^decisionId/],
    [`{"eventType":"x","decisionId":"${'d'.repeat(257)}"}`, 'schema', /^decisionId/],
    ['{"eventType":"x","timestamp":"yesterday"}', 'schema', /^timestamp: must be an RFC 3339/],
    ['{"eventType":"x","timestamp":1732445880}', 'schema', /^timestamp/],
    ['{"eventType":"x","schemaVersion":"2"}', 'unsupported_schema_version', /schemaVersion: "2" is not supported/],
    ['{"eventType":"x","schemaVersion":"10"}', 'unsupported_schema_version', /schemaVersion/],
    ['{"eventType":"x","schemaVersion":1}', 'unsupported_schema_version', /schemaVersion/],
  ];
  for (const [line, reason, error] of cases) {
    const r = normalizeLine(line, at);
    t.equal(r.ok, false, line.slice(0, 40));
    if (!r.ok) {
      t.equal(r.reason, reason, `${line.slice(0, 40)}: reason`);
      t.match(r.error, error, `${line.slice(0, 40)}: error`);
    }
  }
});

t.test('full validation checks field types and the fields each eventType requires', async (t) => {
  const full = { validate: 'full' } as const;
  const basicOnly = '{"eventType":"admission_decision","admissionUID":"u1","operation":"CREATE"}';
  t.ok(normalizeLine(basicOnly, at).ok, 'basic lets it through');
  const r = normalizeLine(basicOnly, at, full);
  t.notOk(r.ok);
  if (!r.ok) t.match(r.error, /^allowed: required for this eventType/);

  const badType = normalizeLine('{"eventType":"violation_audited","auditId":"a","kind":"K","name":"n","enforcementAction":"deny","resourceLabels":{"app":3}}', at, full);
  t.notOk(badType.ok);
  if (!badType.ok) t.match(badType.error, /^resourceLabels\.app: must be string/);

  t.ok(normalizeLine('{"eventType":"something_new","anything":{"goes":true}}', at, full).ok, 'unknown event types and fields pass');

  const badHash = normalizeLine('{"eventType":"violation_admission","admissionUID":"u","kind":"K","name":"n","enforcementAction":"deny","policy":{"template":"t","templateHash":"md5:x"}}', at, full);
  t.notOk(badHash.ok);
  if (!badHash.ok) t.match(badHash.error, /^policy\.templateHash: must match pattern/);
  const badCluster = normalizeLine('{"eventType":"audit_started","auditId":"a","source":{"cluster":{"labels":{"region":1}}}}', at, full);
  t.notOk(badCluster.ok, 'cluster labels are strings');
});

t.test('builders make valid records for every eventType, Gatekeeper fields filled', async (t) => {
  const source = {
    component: 'audit', pod: 'gatekeeper-audit-0', namespace: 'gatekeeper-system', replica: 'gatekeeper-audit-0', version: '0.1.0',
    cluster: { name: 'prod-eu', labels: { region: 'eu-west-1' } },
  };
  const policy = { template: 'k8srequiredlabels', templateGeneration: 3, templateHash: `sha256:${'ab'.repeat(32)}`, constraintGeneration: 1 };
  const auditId = '2026-11-24T10:58:00Z';
  const recs = [
    auditStarted({ auditId, source }, at),
    violationAudited({
      auditId, source, kind: 'K8sRequiredLabels', name: 'must-have-owner', enforcementAction: 'deny', group: 'constraints.gatekeeper.sh',
      version: 'v1beta1', message: 'you must provide labels: {"owner"}', resourceKind: 'Namespace', resourceName: 'default',
      resourceAPIVersion: 'v1', resourceLabels: { team: 'a' }, constraintAnnotations: {}, details: { missing_labels: ['owner'] },
      engine: 'rego', policy,
    }, at),
    auditCompleted({ auditId, totals: { constraints: 3, objects: 120, violations: 7, byAction: { deny: 5, warn: 2 }, exported: 7, durationSeconds: 1.5 } }, at),
    admissionDecision({
      admissionUID: 'f1e2', allowed: false, operation: 'CREATE', requestUsername: 'alice', requestUserGroups: ['dev'], dryRun: false,
      requestResource: { group: 'apps', version: 'v1', resource: 'deployments' }, resourceKind: 'Deployment', resourceNamespace: 'prod', resourceName: 'web',
      violations: { total: 1, byAction: { deny: 1 }, items: [{ constraintKind: 'K8sAllowedRepos', constraintName: 'repos', enforcementAction: 'deny', message: 'bad repo', policy }] },
    }, at),
    admissionDecision({ admissionUID: 'a1', allowed: true, operation: 'UPDATE', violations: { total: 0 } }, at),
    violationAdmission({ admissionUID: 'f1e2', kind: 'K8sAllowedRepos', name: 'repos', enforcementAction: 'deny', message: 'bad repo' }, at),
  ];
  const validate = fullValidator();
  for (const rec of recs) {
    t.ok(validate(rec), `${rec.eventType} validates: ${JSON.stringify(validate.errors)}`);
    t.equal(rec.schemaVersion, '1');
    t.match(rec.decisionId, UUID_V7);
    t.equal(rec.timestamp, at.toISOString());
    const line = JSON.stringify(rec);
    const n = normalizeLine(line, new Date(), { validate: 'full' });
    t.ok(n.ok && n.record.json === line, `${rec.eventType}: stored as sent`);
  }
  t.equal(recs[0]!.id, auditId, 'Gatekeeper id = the audit run id');
  t.equal(recs[0]!.message, 'audit is started');
  t.equal(recs[1]!.id, auditId);
  t.equal(recs[2]!.message, 'audit is completed');
  t.equal(recs[3]!.id, 'f1e2');
  t.equal(new Set(recs.map((r) => r.decisionId)).size, recs.length, 'every record its own id');
  t.equal(auditStarted({ auditId: 'x', decisionId: 'mine', timestamp: '2020-01-01T00:00:00Z' }).decisionId, 'mine', 'overrides kept');
});

t.test('a Gatekeeper export message (every field) is a valid record once it has an eventType', async (t) => {
  const gk = {
    id: '2026-11-24T10:58:00Z', details: { missing_labels: ['owner'] }, eventType: 'violation_audited', group: 'constraints.gatekeeper.sh',
    version: 'v1beta1', kind: 'K8sRequiredLabels', name: 'ns-must-have-owner', namespace: '', message: 'you must provide labels',
    enforcementAction: 'deny', enforcementActions: ['deny'], constraintAnnotations: { a: 'b' }, resourceGroup: '', resourceAPIVersion: 'v1',
    resourceKind: 'Namespace', resourceNamespace: '', resourceName: 'default', resourceLabels: { x: 'y' },
    timestamp: '2026-11-24T10:58:00Z', operation: 'CREATE', requestResource: 'apps/v1/deployments', requestSubresource: '',
    requestUsername: 'alice', requestUserUID: 'u', requestUserGroups: ['g'], dryRun: false, auditId: '2026-11-24T10:58:00Z',
  };
  const validate = fullValidator();
  t.ok(validate(gk), JSON.stringify(validate.errors));
  for (const key of Object.keys(gk)) t.ok(key in decisionRecordSchema.properties, `${key} is declared in the schema`);
});

t.test('decision ids: UUIDv7, unique, strictly increasing even within a millisecond', async (t) => {
  const ids = Array.from({ length: 20_000 }, () => newDecisionId());
  t.ok(ids.every((id) => UUID_V7.test(id)), 'all UUIDv7');
  t.equal(new Set(ids).size, ids.length, 'unique');
  let sorted = true;
  for (let i = 1; i < ids.length; i++) if (!(ids[i - 1]! < ids[i]!)) sorted = false;
  t.ok(sorted, 'strictly increasing as strings');
  const fixed = Array.from({ length: 5000 }, () => newDecisionId(1_800_000_000_000));
  t.equal(new Set(fixed).size, 5000, 'more than 4096 in one millisecond stay unique');
  t.ok(fixed.every((id, i) => i === 0 || fixed[i - 1]! < id), 'and ordered');
  t.equal(decisionIdTime('not-a-uuid'), undefined);
  t.equal(decisionIdTime('0192f3a4-5b6c-4d7e-8f90-123456789abc'), undefined, 'a v4 uuid has no time');
});

t.test('redactObject replaces values at paths, with wildcards, without touching the input', async (t) => {
  const input = {
    kind: 'Secret',
    data: { password: 'c2VjcmV0' },
    spec: { containers: [{ name: 'a', env: [{ name: 'X', value: '1' }] }, { name: 'b' }] },
  };
  const copy = JSON.parse(JSON.stringify(input));
  const { object, redactedPaths } = redactObject(input, ['data', 'spec.containers.*.env', 'missing.path']);
  t.same(object, { kind: 'Secret', data: '[redacted]', spec: { containers: [{ name: 'a', env: '[redacted]' }, { name: 'b' }] } });
  t.same(redactedPaths, ['data', 'spec.containers.0.env']);
  t.same(input, copy, 'input unchanged');
});

t.test('proto-docs/schema/decision-record.v1.schema.json is generated from schema.ts (run exporter/scripts/gen-schema.mjs)', async (t) => {
  const file = readFileSync(path.join(repo, 'proto-docs/schema/decision-record.v1.schema.json'), 'utf8');
  t.equal(file, JSON.stringify(decisionRecordSchema, null, 2) + '\n');
});

t.test('every example in proto-docs/record.md is a valid record under full validation', async (t) => {
  const md = readFileSync(path.join(repo, 'proto-docs/record.md'), 'utf8');
  const blocks = [...md.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
  t.ok(blocks.length >= 5, `${blocks.length} examples`);
  const seen = new Set<string>();
  for (const b of blocks) {
    const r = normalizeLine(b, at, { validate: 'full' });
    t.ok(r.ok, r.ok ? `${r.record.eventType} example valid` : r.error);
    if (r.ok) {
      seen.add(r.record.eventType);
      t.equal(r.record.json, b, 'complete: stored byte for byte');
    }
  }
  t.same([...seen].sort(), ['admission_decision', 'audit_completed', 'audit_started', 'violation_admission', 'violation_audited', 'violation_opened', 'violation_resolved'], 'an example of every event type');
});
