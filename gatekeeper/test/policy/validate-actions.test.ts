// The webhook's verdict (validate) with a real engine: a scoped constraint that both denies and warns at the webhook
// does both, and is exported with every action; a namespaceSelector whose Namespace cannot be read never passes.
import t from 'tap';
import pino from 'pino';
import { violationAdmissionRecord, violationAuditedRecord, newAuditRun, objectResource } from '../../src/export/records.js';
import { ENFORCEMENT_POINTS } from '../../src/policy/engine.js';
import { reviewFromObject } from '../../src/policy/load.js';
import { validate } from '../../src/webhook/validate.js';
import { NamespaceExemptions } from '../../src/webhook/namespaces.js';
import { constraint, newEngine, pod, sawRego, template } from './helpers.js';

const logger = pino({ level: 'silent' });

function podRequest(name: string, namespace: string) {
  return {
    uid: `uid-${name}`,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    name,
    namespace,
    operation: 'CREATE',
    userInfo: { username: 'tester' },
    object: pod(name, namespace),
  };
}

t.test('scoped deny + warn on the webhook: denied, the same message also warned, both actions exported', async (t) => {
  const engine = await newEngine(t);
  await engine.upsertTemplate(template('K8sSaw', sawRego('k8ssaw')));
  engine.upsertConstraint(
    constraint('K8sSaw', 'both', {
      enforcementAction: 'scoped',
      scopedEnforcementActions: [
        { action: 'deny', enforcementPoints: [{ name: ENFORCEMENT_POINTS.validation }] },
        { action: 'warn', enforcementPoints: [{ name: ENFORCEMENT_POINTS.validation }, { name: ENFORCEMENT_POINTS.audit }] },
      ],
    }),
  );
  const req = podRequest('web', 'shop');
  const r = await validate(req, { engine, logger, exemptions: new NamespaceExemptions([]), deadlineMs: 5000, logDenies: false });
  t.equal(r.status, 'deny');
  t.equal(r.response.allowed, false);
  t.equal(r.response.status?.message, '[both] saw web');
  t.same(r.response.warnings, ['[both] saw web']);
  const rec = violationAdmissionRecord(req, req.object, r.outcome.violations[0]!);
  t.equal(rec.enforcementAction, 'scoped');
  t.same(rec.enforcementActions, ['deny', 'warn']);

  // The audit point has only the warn: exported as Gatekeeper's audit does (scoped, [warn]).
  const audited = (await engine.review(reviewFromObject(pod('web', 'shop')), { enforcementPoint: ENFORCEMENT_POINTS.audit })).violations;
  t.same(audited.map((v) => v.enforcementActions), [['warn']]);
  const arec = violationAuditedRecord(newAuditRun(), objectResource(pod('web', 'shop')), audited[0]!);
  t.same([arec.enforcementAction, arec.enforcementActions], ['scoped', ['warn']]);
});

t.test('a Namespace the webhook cannot read: an error answer (never allowed), whatever the action', async (t) => {
  const engine = await newEngine(t);
  await engine.upsertTemplate(template('K8sSaw', sawRego('k8ssaw')));
  engine.upsertConstraint(constraint('K8sSaw', 'prod', { enforcementAction: 'dryrun', match: { namespaceSelector: { matchLabels: { env: 'prod' } } } }));
  const lookups: string[] = [];
  const namespaces = {
    get: async (name: string) => {
      lookups.push(name);
      return name === 'shop' ? { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { env: 'prod' } } } : null;
    },
  };
  const opts = { engine, logger, exemptions: new NamespaceExemptions([]), deadlineMs: 5000, logDenies: false, namespaces };
  const gone = await validate(podRequest('web', 'gone'), opts);
  t.equal(gone.status, 'error');
  t.same(gone.response, {
    uid: 'uid-web',
    allowed: false,
    status: {
      code: 500,
      message: '[prod] unable to match constraints: error matching the requested object: web :failed to run Match criteria: namespace selector for namespace-scoped object but missing Namespace',
    },
  });
  const shop = await validate(podRequest('web', 'shop'), opts);
  t.equal(shop.status, 'allow', 'found: the dryrun constraint is evaluated and only recorded');
  t.same(shop.outcome.violations.map((v) => v.msg), ['saw web']);
  t.same(lookups, ['gone', 'shop']);
});
