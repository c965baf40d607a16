// ExpansionTemplates in the webhook and the audit, as Gatekeeper v3.23 applies them: a port of its
// TestReviewRequestExpandedResourcesPreserveOperation (pkg/webhook/policy_test.go, fixtures of pkg/expansion), the
// merged answer (deny, the template's action, source matching), an unexpandable generator, the audit's expansion
// and the exported records that say a violation came from a generated resource.
import t from 'tap';
import pino from 'pino';
import { fullValidator } from '@gk-exporter/exporter/record';
import { Expander, parseExpansionTemplate } from '../src/expansion/expansion.js';
import { runAudit } from '../src/audit/run-audit.js';
import { newAuditRun, objectResource, violationAdmissionRecord, violationAuditedRecord } from '../src/export/records.js';
import { admissionRecordLines } from '../src/export/record-lines.js';
import { NamespaceExemptions } from '../src/webhook/namespaces.js';
import { validate } from '../src/webhook/validate.js';
import type { AdmissionRequest } from '../src/webhook/admission-review.js';
import { constraint, newEngine, template } from './policy/helpers.js';

const logger = pino({ level: 'silent' });

// pkg/expansion/fixtures: TempExpDeploymentExpandsPods and DeploymentNginx.
const expandDeployments = (enforcementAction?: string) => ({
  apiVersion: 'expansion.gatekeeper.sh/v1beta1',
  kind: 'ExpansionTemplate',
  metadata: { name: 'expand-deployments' },
  spec: {
    applyTo: [{ groups: ['apps'], kinds: ['Deployment'], versions: ['v1'] }],
    templateSource: 'spec.template',
    generatedGVK: { kind: 'Pod', group: '', version: 'v1' },
    ...(enforcementAction ? { enforcementAction } : {}),
  },
});
const deploymentNginx = () => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'nginx-deployment', labels: { app: 'nginx' } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'nginx' } },
    template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.14.2', ports: [{ containerPort: '80' }], args: ['/bin/sh'] }] } },
  },
});

// policy_test.go's expectedOperationTemplate / expectedOperationConstraint.
const expectedOperation = template(
  'K8sExpectedOperation',
  'package expectedoperation\n\nviolation[{"msg": msg}] {\n   input.review.operation == input.parameters.operation\n   msg := sprintf("expanded review preserved operation %v", [input.review.operation])\n}\n',
  { schema: { type: 'object', properties: { operation: { type: 'string' } } }, code: true },
);
const expectedOperationConstraint = (operation: string) =>
  constraint('K8sExpectedOperation', `expected-operation-${operation.toLowerCase()}`, {
    match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }], source: 'Generated' },
    parameters: { operation },
  });

function deploymentRequest(operation: string, object: unknown = deploymentNginx()): AdmissionRequest {
  const req: AdmissionRequest = {
    uid: `uid-${operation}`,
    kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    resource: { group: 'apps', version: 'v1', resource: 'deployments' },
    name: 'nginx-deployment',
    namespace: 'ns1',
    operation,
    userInfo: { username: 'user@example.com' },
  } as AdmissionRequest;
  if (operation === 'DELETE') req.oldObject = object;
  else req.object = object;
  return req;
}

const options = (engine: Awaited<ReturnType<typeof newEngine>>, expander?: Expander) => ({
  engine,
  logger,
  exemptions: new NamespaceExemptions([]),
  deadlineMs: 60_000,
  logDenies: false,
  ...(expander ? { expander: () => expander } : {}),
});

t.test('the expanded review keeps the request operation (TestReviewRequestExpandedResourcesPreserveOperation)', async (t) => {
  const engine = await newEngine(t);
  t.same((await engine.upsertTemplate(expectedOperation)).errors, []);
  const expander = new Expander([parseExpansionTemplate(expandDeployments())]);
  for (const operation of ['CREATE', 'UPDATE', 'DELETE']) {
    engine.upsertConstraint(expectedOperationConstraint(operation));
    const r = await validate(deploymentRequest(operation), options(engine, expander));
    t.equal(r.status, 'deny', operation);
    t.equal(r.response.status?.message, `[expected-operation-${operation.toLowerCase()}] [Implied by expand-deployments] expanded review preserved operation ${operation}`);
    t.same(r.outcome.violations.map((v) => v.implied), [{ template: 'expand-deployments', resource: { group: '', version: 'v1', kind: 'Pod', namespace: 'ns1', name: 'nginx-deployment-pod' } }]);
    engine.removeConstraint('K8sExpectedOperation', `expected-operation-${operation.toLowerCase()}`);
  }
});

t.test("one answer: the request's and its resultants' results; source matching; the template's action; no expander, no expansion", async (t) => {
  const engine = await newEngine(t);
  t.same((await engine.upsertTemplate(template('K8sSaw', 'package saw\nviolation[{"msg": msg}] {\n  msg := sprintf("saw %v %v", [input.review.kind.kind, input.review.object.metadata.name])\n}\n'))).errors, []);
  engine.upsertConstraint(constraint('K8sSaw', 'all', { match: { kinds: [{ apiGroups: ['', 'apps'], kinds: ['Pod', 'Deployment'] }] } }));
  engine.upsertConstraint(constraint('K8sSaw', 'original', { match: { kinds: [{ apiGroups: ['', 'apps'], kinds: ['Pod', 'Deployment'] }], source: 'Original' } }));
  engine.upsertConstraint(constraint('K8sSaw', 'generated', { enforcementAction: 'dryrun', match: { kinds: [{ apiGroups: ['', 'apps'], kinds: ['Pod', 'Deployment'] }], source: 'Generated' } }));

  const denied = await validate(deploymentRequest('CREATE'), options(engine, new Expander([parseExpansionTemplate(expandDeployments())])));
  t.equal(denied.status, 'deny');
  t.same(denied.outcome.violations.map((v) => `${v.constraint.name} ${v.enforcementAction}: ${v.msg}`).sort(), [
    'all deny: [Implied by expand-deployments] saw Pod nginx-deployment-pod',
    'all deny: saw Deployment nginx-deployment',
    'generated dryrun: [Implied by expand-deployments] saw Pod nginx-deployment-pod',
    'original deny: saw Deployment nginx-deployment',
  ]);
  t.equal(denied.response.status?.message, ['[all] saw Deployment nginx-deployment', '[original] saw Deployment nginx-deployment', '[all] [Implied by expand-deployments] saw Pod nginx-deployment-pod'].join('\n'), 'the request first, then its resultants');

  // The template's enforcementAction replaces the constraint's for what it generates (scoped ones included).
  const warned = await validate(deploymentRequest('CREATE'), options(engine, new Expander([parseExpansionTemplate(expandDeployments('warn'))])));
  t.same(warned.response.warnings, ['[all] [Implied by expand-deployments] saw Pod nginx-deployment-pod', '[generated] [Implied by expand-deployments] saw Pod nginx-deployment-pod']);
  t.equal(warned.response.status?.message, '[all] saw Deployment nginx-deployment\n[original] saw Deployment nginx-deployment');

  const plain = await validate(deploymentRequest('CREATE'), options(engine));
  t.same(plain.outcome.violations.map((v) => v.constraint.name).sort(), ['all', 'original'], 'without ExpansionTemplates only the request is reviewed');
  const unrelated = await validate({ ...deploymentRequest('CREATE'), kind: { group: 'apps', version: 'v1beta1', kind: 'Deployment' } }, options(engine, new Expander([parseExpansionTemplate(expandDeployments())])));
  t.same(unrelated.outcome.violations.map((v) => v.constraint.name).sort(), ['all', 'original'], "applyTo is exact: the request's kind decides");
});

t.test('a generator that cannot be expanded is an error answer, as in Gatekeeper', async (t) => {
  const engine = await newEngine(t);
  const bare = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'nginx-deployment' }, spec: {} };
  const r = await validate(deploymentRequest('CREATE', bare), options(engine, new Expander([parseExpansionTemplate(expandDeployments())])));
  t.equal(r.status, 'error');
  t.same(r.response, { uid: 'uid-CREATE', allowed: false, status: { code: 500, message: 'unable to expand object: could not find source field "spec.template" in resource nginx-deployment' } });
});

t.test("the audit reviews what an object implies and reports it against the object; an unexpandable one keeps its own results", async (t) => {
  const engine = await newEngine(t);
  t.same((await engine.upsertTemplate(template('K8sSaw', 'package saw\nviolation[{"msg": msg}] {\n  msg := sprintf("saw %v", [input.review.object.metadata.name])\n}\n'))).errors, []);
  engine.upsertConstraint(constraint('K8sSaw', 'pods-and-deployments', { match: { kinds: [{ apiGroups: ['', 'apps'], kinds: ['Pod', 'Deployment'] }] } }));
  const expander = new Expander([parseExpansionTemplate(expandDeployments())]);
  const good = { ...deploymentNginx(), metadata: { name: 'web', namespace: 'prod' } };
  const bare = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bare', namespace: 'prod' } };
  const found: Array<{ object: any; implied: unknown }> = [];
  const report = await runAudit({
    engine,
    source: [{ objects: [good, bare] }],
    logger,
    violationsLimit: 20,
    expander,
    onViolation: (object, v) => found.push({ object, implied: v.implied }),
  });
  const summary = report.constraints.find((c) => c.name === 'pods-and-deployments')!;
  t.same(summary.violations.map((v) => `${v.kind} ${v.namespace}/${v.name}: ${v.message}`), [
    'Deployment prod/web: saw web',
    'Deployment prod/web: [Implied by expand-deployments] saw web-pod',
    'Deployment prod/bare: saw bare',
  ]);
  t.same(report.errors, ['Deployment prod/bare: unable to expand object: could not find source field "spec.template" in resource bare']);
  t.same(found[1]!.implied, { template: 'expand-deployments', resource: { group: '', version: 'v1', kind: 'Pod', namespace: 'prod', name: 'web-pod' } });
  t.equal(found[1]!.object, good, 'reported against the audited object, as Gatekeeper does');
});

t.test('records: implied on violation_admission, violation_audited and the decision items, valid against the schema', async (t) => {
  const engine = await newEngine(t);
  t.same((await engine.upsertTemplate(expectedOperation)).errors, []);
  engine.upsertConstraint(expectedOperationConstraint('CREATE'));
  const req = deploymentRequest('CREATE');
  const r = await validate(req, options(engine, new Expander([parseExpansionTemplate(expandDeployments())])));
  const implied = { template: 'expand-deployments', resourceAPIVersion: 'v1', resourceKind: 'Pod', resourceNamespace: 'ns1', resourceName: 'nginx-deployment-pod' };
  const now = new Date();
  const lines = admissionRecordLines(req, r.object, r.outcome, undefined, now).map((l) => JSON.parse(l));
  const validateRecord = fullValidator();
  for (const l of lines) t.ok(validateRecord(l), `${l.eventType} valid: ${JSON.stringify(validateRecord.errors)}`);
  t.same(lines[0].violations.items[0].implied, implied);
  t.same(lines[1].implied, implied);
  t.equal(lines[1].resourceKind, 'Deployment');
  const record = violationAdmissionRecord(req, r.object, r.outcome.violations[0]!, undefined, now);
  t.same(record['implied'], implied, 'the object path builds the same field');
  const audited = violationAuditedRecord(newAuditRun(now), objectResource(deploymentNginx()), r.outcome.violations[0]!, undefined, now);
  t.same(audited['implied'], implied);
  t.ok(validateRecord(audited));
});
